"""The plugin loads on every Airflow we declare: its view on 3.1+, nothing (and no FastAPI app) on 3.0."""

from __future__ import annotations

import json
import sys

import pytest

from airflow_provider_scorecards.plugins.plugin import SUPPORTED, ScorecardsPlugin


def test_the_plugin_adds_its_views_only_where_airflow_has_ui_plugins() -> None:
    if SUPPORTED:
        assert [app["url_prefix"] for app in ScorecardsPlugin.fastapi_apps] == ["/scorecards"]
        destinations = [view["destination"] for view in ScorecardsPlugin.external_views]
        assert destinations == ["task_instance", "nav"]
    else:  # Airflow 3.0
        assert ScorecardsPlugin.fastapi_apps == []
        assert not getattr(ScorecardsPlugin, "external_views", [])
        assert "airflow_provider_scorecards.plugins.app" not in sys.modules


@pytest.mark.skipif(not SUPPORTED, reason="the view needs Airflow 3.1+")
def test_a_verdict_stored_as_text_is_read_and_one_too_deep_is_not_a_gate() -> None:
    from airflow_provider_scorecards.plugins.app import _document

    verdict = {"met": False, "failing": ["service:checkout-api"]}
    assert _document(json.dumps(verdict)) == verdict
    assert _document("[" * 100_000) is None
