"""Example DAGs of the provider: gates, exports, fan-out and event-driven runs, each one tested."""
