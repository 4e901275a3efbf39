"""Airflow notifiers of the provider (``on_success_callback``, ``on_failure_callback``, deadline alerts)."""
