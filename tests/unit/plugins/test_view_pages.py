"""The Scorecards view's HTML, from verdict documents: every value escaped, the baseline's trend shown."""

from __future__ import annotations

from datetime import UTC, datetime

from airflow_provider_scorecards.plugins import pages

TI = {"dag_id": "d", "run_id": "r", "task_id": "gate", "map_index": 2}
CHECKED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_a_waived_id_and_the_watched_scores_with_their_baseline() -> None:
    verdict = {
        "met": True,
        "dry_run": False,
        "failing": [],
        "waived": ["svc:a"],
        "waivers": {"svc:a": {"until": "2026-12-31", "reason": "migrating"}},
        "scores": {
            "svc:a": {"value": 0.5, "bound": "score >= 0.8", "baseline": 0.7},
            "svc:b": {"value": 0.9, "bound": "score >= 0.8", "baseline": 0.95},
        },
        "report": "line one\nline <two>",
    }
    page = pages.verdict_page(TI, verdict, CHECKED, "javascript:alert(1)")
    assert "gate [2]" in page
    assert ">met<" in page
    assert "<td>migrating</td><td>2026-12-31</td>" in page
    assert "<td><code>svc:b</code></td><td>0.9</td><td>score &gt;= 0.8</td><td>0.95</td>" in page
    assert "2026-01-02 03:04:05 UTC" in page
    assert "javascript:" not in page  # only an http(s) link is shown
    assert "line &lt;two&gt;" in page


def test_a_value_beyond_any_float_is_shown_not_an_error() -> None:
    verdict = {"met": False, "failing": ["a"], "scores": {"a": {"value": 10**400}, "b": {"value": 10**5000}}}
    page = pages.verdict_page(TI, verdict, CHECKED, None)
    assert "&lt;int of 1329 bits&gt;" in page
    assert "&lt;int of 16610 bits&gt;" in page


def test_a_dry_run_and_server_text_on_one_line() -> None:
    verdict = {
        "met": False,
        "dry_run": True,
        "failing": ["x\u202ey"],
        "explanations": {"x\u202ey": [{"rule_name": "<b>", "remarks": "a\nb"}]},
    }
    page = pages.verdict_page(TI, verdict, CHECKED, None)
    assert "dry run: would fail" in page
    assert "x\\u202ey" in page
    assert "\u202e" not in page
    assert "&lt;b&gt;" in page
    assert "a\\nb" in page


def test_the_page_follows_the_browser_and_airflows_color_mode() -> None:
    page = pages.not_a_gate_page("t")
    assert "prefers-color-scheme:dark" in page
    assert "[data-theme=dark]" in page
    assert "localStorage.getItem('theme')" in page


def test_an_approved_gate_reads_approved_not_met() -> None:
    assert ">not met, approved<" in pages.status({"met": False, "overridden": True})
    assert ">not met<" in pages.status({"met": False, "overridden": False})
