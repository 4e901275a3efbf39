"""Apache Airflow provider for Datadog Scorecards.

Import the classes from their modules (``airflow_provider_scorecards.operators.scores`` and so on): this
package ``__init__`` stays empty of imports so that a DAG file pays only for what it uses.
"""

__version__ = "0.1.0"
