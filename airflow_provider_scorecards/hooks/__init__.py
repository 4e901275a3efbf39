"""Part of airflow-provider-scorecards; see the package docs."""
