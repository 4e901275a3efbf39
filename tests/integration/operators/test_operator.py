"""DatadogScorecardScoresOperator through real Airflow (dag.test()) against the simulator."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_scorecards.client.pages import flatten
from airflow_provider_scorecards.operators.scores import DatadogScorecardScoresOperator, ScorecardsLink
from airflow_provider_scorecards.simulator import ScorecardsSimulator
from tests.airflow_support import run_dag
from tests.conftest import CONN_ENV


def expected(
    sim: ScorecardsSimulator, aggregation: str, sort: str | None = None, **wire: str
) -> list[dict[str, Any]]:
    return [flatten(item) for item in sim.expected_scores(aggregation, wire, sort)]


@pytest.fixture
def sized_sim(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ScorecardsSimulator]:
    """A simulator with ``request.param`` entities, the default connection pointing at it."""
    with ScorecardsSimulator(seed=5, entities=request.param) as sim:
        conn = sim.connection_dict()
        conn["extra"]["backoff_base"] = 0.01
        monkeypatch.setenv(CONN_ENV, json.dumps(conn))
        yield sim


@pytest.mark.parametrize("aggregation", ["by-entity", "by-rule", "by-scorecard", "by-team", "by-kind"])
def test_every_aggregation_with_summary(sim_conn: ScorecardsSimulator, aggregation: str) -> None:
    result = run_dag("scores_from_params", {"aggregation": aggregation})
    assert result.state == "success"
    records = result.xcom("fetch")
    assert records == expected(sim_conn, aggregation)
    summary = result.xcom("fetch", "summary")
    scores = [r["score"] for r in records]
    assert summary["count"] == len(records)
    assert summary["min_score"] == min(scores)
    assert summary["max_score"] == max(scores)
    assert summary["mean_score"] == pytest.approx(sum(scores) / len(scores), abs=1e-6)
    assert summary["total_fail"] == sum(r["total_fail"] for r in records)
    assert summary["query"]["aggregation"] == aggregation
    assert summary["fetched_at"].endswith("Z")
    assert "T" in summary["fetched_at"]


def test_filters_combined_and_sorted_from_params(sim_conn: ScorecardsSimulator) -> None:
    conf = {
        "aggregation": "by-team",
        "rule_levels": [1, 2],
        "is_enabled": True,
        "scorecard_ids": "production-readiness,observability-best-practices",
        "sort": "-score",
    }
    result = run_dag("scores_from_params", conf)
    wire = {
        "filter[rule][level]": "1,2",
        "filter[rule][is_enabled]": "true",
        "filter[rule][scorecard_id]": "production-readiness,observability-best-practices",
    }
    records = result.xcom("fetch")
    assert records == expected(sim_conn, "by-team", "-score", **wire)
    assert records != expected(sim_conn, "by-team", "-score")
    assert [r["score"] for r in records] == sorted((r["score"] for r in records), reverse=True)


@pytest.mark.parametrize(
    ("conf", "wire"),
    [
        ({"rule_ids": "RULES"}, "filter[rule][id]"),
        ({"rule_name": "Has runbook"}, "filter[rule][name]"),
        ({"rule_levels": "3"}, "filter[rule][level]"),
        ({"scorecard_ids": ["security-posture"]}, "filter[rule][scorecard_id]"),
        ({"is_custom": False}, "filter[rule][is_custom]"),
        ({"is_enabled": "false"}, "filter[rule][is_enabled]"),
    ],
)
def test_each_filter_alone(sim_conn: ScorecardsSimulator, conf: dict[str, Any], wire: str) -> None:
    if conf.get("rule_ids") == "RULES":
        conf = {"rule_ids": [sim_conn.org.rules[1].id, sim_conn.org.rules[7].id]}
    sim_conn.reset_log()
    result = run_dag("scores_from_params", {"aggregation": "by-rule", **conf})
    (request,) = sim_conn.score_requests()
    assert wire in request.params
    records = result.xcom("fetch")
    assert records == expected(
        sim_conn, "by-rule", **{k: v for k, v in request.params.items() if k.startswith("filter")}
    )
    assert 0 < len(records) < len(sim_conn.org.rules)


def test_sort_ascending(sim_conn: ScorecardsSimulator) -> None:
    records = run_dag("scores_from_params", {"aggregation": "by-entity", "sort": "total_fail"}).xcom("fetch")
    assert records == expected(sim_conn, "by-entity", "total_fail")
    assert [r["total_fail"] for r in records] == sorted(r["total_fail"] for r in records)


def test_zero_results(sim_conn: ScorecardsSimulator) -> None:
    sim_conn.reset_log()
    result = run_dag("scores_from_params", {"aggregation": "by-entity", "rule_name": "No such rule"})
    assert result.state == "success"
    assert result.xcom("fetch") == []
    assert result.xcom("fetch", "summary")["count"] == 0
    assert result.xcom("fetch", "summary")["mean_score"] is None
    assert len(sim_conn.score_requests()) == 1


@pytest.mark.parametrize(
    ("sized_sim", "page_limit", "requests"),
    [(1, 1000, 1), (300, 300, 1), (301, 300, 2), (300, 100, 3)],
    indirect=["sized_sim"],
)
def test_page_boundaries(sized_sim: ScorecardsSimulator, page_limit: int, requests: int) -> None:
    records = run_dag("scores_from_params", {"page_limit": page_limit}).xcom("fetch")
    assert records == expected(sized_sim, "by-entity")
    assert len(sized_sim.score_requests()) == requests


@pytest.mark.parametrize("sized_sim", [25_000], indirect=True)
def test_25000_records_concurrently_with_output_path(sized_sim: ScorecardsSimulator, tmp_path: Path) -> None:
    want = expected(sized_sim, "by-entity")
    in_xcom = run_dag("scores_from_params", {"concurrency": 8}).xcom("fetch")
    assert len(in_xcom) == 25_000
    assert in_xcom == want
    target = tmp_path / "snapshots" / "by-entity.jsonl"
    result = run_dag("scores_from_params", {"concurrency": 8, "output_path": f"file://{target}"})
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert result.xcom("fetch") == {"path": f"file://{target}", "count": 25_000, "sha256": digest}
    assert [json.loads(line) for line in target.read_text().splitlines()] == want
    assert not list(target.parent.glob("*.partial"))
    summary = result.xcom("fetch", "summary")
    assert (summary["output_path"], summary["sha256"]) == (f"file://{target}", digest)


def test_concurrency_1_and_8_give_identical_output(sim_conn: ScorecardsSimulator) -> None:
    one = run_dag("scores_from_params", {"page_limit": 13, "concurrency": 1, "sort": "-score"}).xcom("fetch")
    eight = run_dag("scores_from_params", {"page_limit": 13, "concurrency": 8, "sort": "-score"}).xcom(
        "fetch"
    )
    assert one == eight == expected(sim_conn, "by-entity", "-score")


def test_max_results(sim_conn: ScorecardsSimulator) -> None:
    sim_conn.reset_log()
    result = run_dag("scores_from_params", {"page_limit": 100, "max_results": 250})
    assert result.xcom("fetch") == expected(sim_conn, "by-entity")[:250]
    assert len(sim_conn.score_requests()) == 3
    assert result.xcom("fetch", "summary")["max_results"] == 250
    small = run_dag("scores_from_params", {"max_results": 5}).xcom("fetch")
    assert small == expected(sim_conn, "by-entity")[:5]


def test_native_rendering(sim_conn: ScorecardsSimulator) -> None:
    result = run_dag(
        "scores_native",
        {"aggregation": "by-rule", "rule_levels": [1, 3], "is_enabled": True, "page_limit": 5},
    )
    wire = {"filter[rule][level]": "1,3", "filter[rule][is_enabled]": "true"}
    assert result.xcom("fetch") == expected(sim_conn, "by-rule", **wire)


def test_filters_from_upstream_xcom(sim_conn: ScorecardsSimulator) -> None:
    rule_ids = [sim_conn.org.rules[0].id, sim_conn.org.rules[4].id, sim_conn.org.rules[9].id]
    result = run_dag("scores_from_xcom", {"rule_ids": rule_ids})
    want = expected(sim_conn, "by-rule", **{"filter[rule][id]": ",".join(rule_ids)})
    assert len(want) == 3
    assert result.xcom("fetch_jinja") == want
    assert result.xcom("fetch_xcomarg") == want


def test_raw_pushes_jsonapi_objects(sim_conn: ScorecardsSimulator) -> None:
    result = run_dag("scores_raw")
    assert result.xcom("fetch") == sim_conn.expected_scores("by-scorecard")


# -- invalid input: a clear error, before any request --------------------------------------------


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"aggregation": "by-service"}, "Invalid aggregation='by-service': expected one of by-entity"),
        ({"sort": "name"}, "Invalid sort='name'"),
        ({"page_limit": 5000}, "Invalid page_limit='5000': expected an integer from 1 to 1000"),
        ({"rule_levels": "1,9"}, "Invalid rule_levels="),
        ({"is_enabled": "perhaps"}, "Invalid is_enabled='perhaps'"),
        ({"max_results": "-3"}, "Invalid max_results='-3'"),
    ],
)
def test_rendered_invalid_arguments_fail_before_any_request(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str], conf: dict[str, Any], message: str
) -> None:
    sim_conn.reset_log()
    result = run_dag("scores_from_params", conf)
    assert result.state == "failed"
    assert sim_conn.requests == []
    assert ("fetch", "summary") not in result.xcoms
    assert ("fetch", "return_value") not in result.xcoms
    output = capfd.readouterr()
    assert message in output.out + output.err


# -- failures mid-pagination ------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 8])
@pytest.mark.parametrize("fault", ["rate_limit", "status"])
def test_faults_mid_pagination_recover_without_loss_or_duplicates(
    fresh_conn: ScorecardsSimulator, concurrency: int, fault: str
) -> None:
    fresh_conn.faults.inject(fault, count=3, after=2, status=503, reset_seconds=0.05)
    result = run_dag("scores_from_params", {"page_limit": 10, "concurrency": concurrency})
    records = result.xcom("fetch")
    assert records == expected(fresh_conn, "by-entity")
    assert len({r["id"] for r in records}) == len(records)
    assert result.xcom("fetch", "summary")["retries"] == 3
    assert fresh_conn.faults.injected == 3


def test_a_failure_pushes_nothing_and_leaves_no_file(fresh_conn: ScorecardsSimulator, tmp_path: Path) -> None:
    fresh_conn.faults.inject("status", count=1, after=3, status=403)
    target = tmp_path / "out.jsonl"
    result = run_dag("scores_from_params", {"page_limit": 10, "concurrency": 1, "output_path": str(target)})
    assert result.state == "failed"
    assert [key for key in result.xcoms if not key[1].startswith("_link_")] == []
    assert not target.exists()
    assert not list(tmp_path.iterdir())


def test_large_result_warns_about_output_path(
    sim_conn: ScorecardsSimulator, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import airflow_provider_scorecards.operators.scores as module

    monkeypatch.setattr(module, "XCOM_WARN_RECORDS", 100)
    run_dag("scores_from_params", {"aggregation": "by-entity"})
    assert "set output_path" in capfd.readouterr().out


def test_extra_link_of_a_run_opens_the_scores_page(sim_conn: ScorecardsSimulator) -> None:
    """The link Airflow stores after the task ran points at the site it talked to, and that page works."""
    import airflow

    if tuple(int(part) for part in airflow.__version__.split(".")[:2]) < (3, 1):
        pytest.skip("Airflow 3.0's dag.test() runs tasks outside the task SDK, which stores no link XCom")
    result = run_dag("scores_from_params", {"aggregation": "by-team"})
    assert result.state == "success", result.task_states
    link = result.xcom("fetch", "_link_ScorecardsLink")
    assert link == f"{sim_conn.url}/software/scorecards"
    page = requests.get(link, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "service:checkout-api" in page.text
    assert sim_conn.api_key not in page.text
    assert sim_conn.app_key not in page.text


def test_extra_link_points_at_the_site_used(
    sim_conn: ScorecardsSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    operator = DatadogScorecardScoresOperator(task_id="t", aggregation="by-team")
    link = ScorecardsLink()
    assert link.get_link(operator, ti_key=None) == "https://app.datadoghq.com/software/scorecards"
    monkeypatch.setenv(
        CONN_ENV,
        json.dumps(
            {
                "conn_type": "datadogscorecards",
                "password": "k",
                "extra": {"app_key_secret": "a", "site": "datadoghq.eu"},
            }
        ),
    )
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

    assert DatadogScorecardsHook().scorecards_ui_url == "https://app.datadoghq.eu/software/scorecards"
