"""`make demo`: fetch scores through the hook from the bundled simulator and show them."""

from __future__ import annotations

import os
import sys
import tempfile


def main() -> int:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="scorecards-demo-"))
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook
    from airflow_provider_scorecards.query import ScoresQuery
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

    with ScorecardsSimulator(seed=7, entities=500) as sim:
        os.environ["AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"] = sim.connection_uri()
        print(f"Using the bundled Scorecards simulator at {sim.url}")
        with DatadogScorecardsHook() as hook:
            teams = hook.list_scores(ScoresQuery.build("by-team", sort="score"))
        print(f"{len(teams)} teams, lowest scores first:")
        for record in teams[:5]:
            print(
                f"  {record['id']:<16} {record['score']:.2f}  ({record['numerator']}/{record['denominator']})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
