"""An organisation drawn from a seed is the same on every run, and its curated services keep their story."""

from __future__ import annotations

from airflow_provider_scorecards.simulator.generation import CURATED_SERVICES
from airflow_provider_scorecards.simulator.org import Organisation


def test_the_same_seed_draws_the_same_organisation() -> None:
    assert (
        Organisation.generate(seed=5, entities=40).to_dict()
        == Organisation.generate(seed=5, entities=40).to_dict()
    )
    assert (
        Organisation.generate(seed=5, entities=40).to_dict()
        != Organisation.generate(seed=6, entities=40).to_dict()
    )


def test_a_curated_service_looks_the_same_whatever_the_size() -> None:
    small, large = Organisation.generate(seed=7, entities=20), Organisation.generate(seed=7, entities=500)
    for index, name in enumerate(CURATED_SERVICES):
        assert small.entities[index].id == large.entities[index].id == f"service:{name}"
        rules = range(len(small.rules))
        assert [small.outcome(index, r) for r in rules] == [large.outcome(index, r) for r in rules]


def test_every_fail_is_fixed_by_the_last_drift_step() -> None:
    org = Organisation.generate(seed=7, entities=60, fix_steps=4)
    cells = [(e, r) for e in range(len(org.entities)) for r in range(len(org.rules))]
    assert any(org.outcome(e, r) == "fail" for e, r in cells)
    assert not any(org.outcome(e, r, step=4) == "fail" for e, r in cells)
