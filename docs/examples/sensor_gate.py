"""A deployment gate that waits, deferred, for a score to reach a bar."""

# START sensor_gate
from airflow_provider_scorecards.sensors.scores import DatadogScoreThresholdSensor

gate = DatadogScoreThresholdSensor(
    task_id="wait_for_readiness",
    aggregation="by-entity",
    scorecard_ids=["production-readiness"],  # any filter of the operator
    score_ids=["service:checkout-api"],  # watched ids; None = every score returned
    min_score=0.8,  # and/or max_score; inclusive, 0..1
    deferrable=True,  # default: [operators] default_deferrable
    poke_interval=300,
    timeout=6 * 3600,
)
# END sensor_gate
