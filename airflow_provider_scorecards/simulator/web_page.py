"""The simulator's stand-in for Datadog's Scorecards web page (``/software/scorecards``).

The operator's "Datadog Scorecards" extra link points at the web app of the site a task talked to; against
the simulator that is ``<simulator URL>/software/scorecards``. A small read-only HTML page there lists the
current scores, so the link works in the demo and in users' local deployments. It shows no credential and
needs none, as the real page needs a browser login rather than API keys.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_scorecards.simulator import ScorecardsSimulator

PAGE_PATH = "/software/scorecards"
SECTIONS = (("by-scorecard", "Scorecards"), ("by-team", "Teams"), ("by-entity", "Services"))


def render_scores_page(sim: ScorecardsSimulator) -> bytes:
    """Render an HTML page with one table per aggregation: id, score and rules passing/failing."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Scorecards (simulator)</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
        "td,th{border:1px solid #ccc;padding:.25em .75em;text-align:left}th{background:#632ca6;color:#fff}"
        "</style></head><body>",
        f"<h1>Datadog Scorecards (simulator, drift step {sim.step})</h1>",
    ]
    for aggregation, title in SECTIONS:
        rows = sim.expected_scores(aggregation, sort="score")
        parts.append(f"<h2>{escape(title)} ({len(rows)})</h2><table>")
        parts.append("<tr><th>id</th><th>score</th><th>pass</th><th>fail</th></tr>")
        for item in rows:
            attributes = item["attributes"]
            parts.append(
                f"<tr><td>{escape(str(item['id']))}</td><td>{attributes['score']:.2f}</td>"
                f"<td>{attributes.get('total_pass', '')}</td><td>{attributes.get('total_fail', '')}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts).encode()
