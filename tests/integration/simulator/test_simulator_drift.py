"""The simulator's drift ends at its last step, and the advance endpoint says so instead of going quiet."""

from __future__ import annotations

import requests

from airflow_provider_scorecards.simulator import ScorecardsSimulator


def _advance(sim: ScorecardsSimulator, steps: int) -> dict[str, object]:
    response = requests.post(
        sim.url + "/_simulator/advance",
        params={"steps": steps},
        headers={"DD-API-KEY": sim.api_key},
        timeout=5,
    )
    assert response.status_code == 200
    answer: dict[str, object] = response.json()
    return answer


def test_advance_within_the_drift_says_how_far_it_went() -> None:
    with ScorecardsSimulator(seed=2, entities=10) as sim:
        assert _advance(sim, 1) == {"step": 1, "max_step": 4, "advanced": 1, "at_last_step": False}


def test_advance_past_the_last_step_says_drift_has_ended() -> None:
    with ScorecardsSimulator(seed=2, entities=10) as sim:
        answer = _advance(sim, 10)
        assert answer["step"] == answer["max_step"] == 4
        assert answer["advanced"] == 4
        assert answer["at_last_step"] is True
        assert "drift stops at step 4" in str(answer["detail"])
        assert "6 of the 10 steps" in str(answer["detail"])
        again = _advance(sim, 1)
        assert again["advanced"] == 0
        assert "1 of the 1 steps" in str(again["detail"])


def test_the_endpoint_never_pushes_the_step_past_the_end() -> None:
    """Past the end, a step back (``advance(-1)``) is one step back, not a no-op hidden by the cap."""
    with ScorecardsSimulator(seed=2, entities=10) as sim:
        _advance(sim, 50)
        sim.advance(-1)
        assert sim.step == 3
