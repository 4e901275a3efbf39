"""The Scorecards view's HTML: a gate's verdict, and the latest verdicts of the gates a user may read.

Server-rendered, self-contained (no asset from anywhere), in Airflow's look, light or dark: the browser's
preference, or the color mode Airflow's UI stored (its ``theme`` key, read by the one inline script).
Every text shown goes through :func:`text`: the one server-text renderer, then HTML escaping.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from airflow_provider_scorecards.client.errors import render_server_text

_DARK = "--bg:#18181b;--fg:#f4f4f5;--muted:#a1a1aa;--line:#3f3f46;--ok:#4ade80;--bad:#f87171;--link:#60a5fa"
STYLE = (
    ":root{--bg:#fff;--fg:#18181b;--muted:#52525b;--line:#e4e4e7;--ok:#15803d;--bad:#b91c1c;--link:#017cee;"
    "color-scheme:light dark}"
    f"@media (prefers-color-scheme:dark){{:root:not([data-theme=light]){{{_DARK}}}}}"
    f":root[data-theme=dark]{{{_DARK}}}"
    "body{font:14px/1.5 system-ui,sans-serif;background:var(--bg);color:var(--fg);margin:16px}"
    "h1{font-size:18px;margin:0 0 12px}h2{font-size:15px;margin:20px 0 6px}a{color:var(--link)}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;vertical-align:top;"
    "border-bottom:1px solid var(--line)}th{color:var(--muted);font-weight:600}.muted{color:var(--muted)}"
    ".ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}code{word-break:break-all}"
)
THEME = (
    "try{var t=localStorage.getItem('theme');"
    "if(t=='dark'||t=='light')document.documentElement.dataset.theme=t}catch(e){}"
)
"""Airflow's own color mode (its UI keeps it under ``theme``; the frame shares its origin)."""


def text(value: Any) -> str:
    """Return any value as safe HTML text: rendered like all server text, then escaped."""
    return html.escape(render_server_text("" if value is None else str(value)))


def page(title: str, body: str) -> str:
    """Return a whole HTML document."""
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{text(title)}</title>"
        f"<script>{THEME}</script><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _table(headers: Iterable[str], rows: Iterable[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def status(verdict: Mapping[str, Any]) -> str:
    """Return the verdict in one word or two, as HTML: met, not met, or a dry run's outcome."""
    met = bool(verdict.get("met"))
    word = ("dry run: would pass" if met else "dry run: would fail") if verdict.get("dry_run") else None
    if verdict.get("overridden") is True:
        met, word = True, "not met, approved"
    css = "ok" if met else "bad"
    return f'<span class="{css}">{word or ("met" if met else "not met")}</span>'


def when(moment: datetime | None) -> str:
    """Return a moment as UTC text."""
    return "" if moment is None else text(moment.strftime("%Y-%m-%d %H:%M:%S UTC"))


def _number(value: Any) -> str:
    if isinstance(value, int | float):
        try:
            return text(f"{value:g}")
        except (OverflowError, ValueError):  # an int beyond any float, or of more digits than Python reads
            return text(f"<int of {int(value).bit_length()} bits>")
    return "" if value is None else text(value)


def _rules(rules: Any) -> str:
    """Return the failing rules of one id with Datadog's remarks."""
    return "".join(
        f"<div><b>{text(r.get('rule_name') or r.get('rule_id'))}</b> {text(r.get('remarks') or '')}</div>"
        for r in (rules if isinstance(rules, list) else [])
        if isinstance(r, dict)
    )


def verdict_page(
    ti: Mapping[str, Any], verdict: Mapping[str, Any], checked: datetime, link: str | None
) -> str:
    """Return the task-instance tab: the verdict of one gate task instance (``ti``: dag, run, task, map)."""
    scores, explained, waivers, query = (
        _dict(verdict.get(k)) for k in ("scores", "explanations", "waivers", "query")
    )
    facts = [
        ("verdict", status(verdict)),
        ("checked", when(checked)),
        ("query", "; ".join(f"{text(k)}={text(v)}" for k, v in query.items() if v not in (None, [], ""))),
    ]
    if verdict.get("overridden") is not None:
        by = f"{text(verdict.get('by'))} at {text(verdict.get('at'))}: {text(verdict.get('comment') or '')}"
        facts.append(("approved" if verdict["overridden"] else "rejected", by))
    if link and link.startswith(("https://", "http://")):
        facts.append(("Scorecards", f'<a href="{html.escape(link)}" target="_blank" rel="noopener">open</a>'))
    parts = [
        f"<h1>Scorecards gate {text(ti['task_id'])}{_map(ti['map_index'])}</h1>",
        _table(["", ""], facts),
    ]
    failing = [str(i) for i in verdict.get("failing") or []]
    if failing:
        rows: list[tuple[str, ...]] = [
            (f"<code>{text(i)}</code>", *_values(scores.get(i)), _rules(explained.get(i))) for i in failing
        ]
        parts += ["<h2>Failing</h2>", _table(["id", "value", "bound", "baseline", "failing rules"], rows)]
    if verdict.get("missing"):
        rows = [(f"<code>{text(i)}</code>",) for i in verdict["missing"]]
        parts += ["<h2>Missing data</h2>", _table(["id"], rows)]
    if verdict.get("waived"):
        rows = [
            (f"<code>{text(i)}</code>", *_values(scores.get(i))[:2], *_waiver(waivers.get(i)))
            for i in verdict["waived"]
        ]
        parts += ["<h2>Waived</h2>", _table(["id", "value", "bound", "reason", "until"], rows)]
    others = [i for i in scores if i not in failing and i not in (verdict.get("waived") or [])]
    if others:
        rows = [(f"<code>{text(i)}</code>", *_values(scores[i])) for i in others]
        parts += ["<h2>Watched scores</h2>", _table(["id", "value", "bound", "baseline"], rows)]
    report = "\n".join(text(line) for line in str(verdict.get("report") or "").splitlines())
    parts.append(f"<details><summary>Report</summary><pre>{report}</pre></details>")
    return page(f"Scorecards: {ti['task_id']}", "".join(parts))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _map(map_index: int) -> str:
    return "" if map_index < 0 else f" [{map_index}]"


def _values(score: Any) -> tuple[str, str, str]:
    score = _dict(score)
    return _number(score.get("value")), text(score.get("bound") or ""), _number(score.get("baseline"))


def _waiver(waiver: Any) -> tuple[str, str]:
    waiver = _dict(waiver)
    return text(waiver.get("reason") or ""), text(waiver.get("until") or "")


def not_a_gate_page(task_id: str) -> str:
    """Return the tab of a task instance without a verdict."""
    body = (
        f"<h1>No Scorecards verdict for {text(task_id)}</h1><p class=muted>This task instance is not a "
        "Scorecards gate, or it has not decided yet.</p>"
    )
    return page("Scorecards", body)


def gates_page(rows: list[dict[str, Any]], chosen: str) -> str:
    """Return the navigation page: the latest verdict of each gate task (``rows`` newest first)."""
    form = (
        f'<form method=get>DAG <input name=dag_id value="{text(chosen)}" placeholder="all DAGs"> '
        "<button>Filter</button></form>"
    )
    table = _table(
        ["DAG", "task", "run", "verdict", "failing", "checked"],
        [
            (
                text(r["dag_id"]),
                _tab_link(r),
                text(r["run_id"]),
                status(r["verdict"]),
                str(len(r["verdict"].get("failing") or [])),
                when(r["checked"]),
            )
            for r in rows
        ],
    )
    empty = "" if rows else "<p class=muted>No gate verdict in the DAGs you may read.</p>"
    return page("Scorecards gates", f"<h1>Scorecards gates</h1>{form}{table}{empty}")


def _tab_link(row: Mapping[str, Any]) -> str:
    """Link a row to its verdict page."""
    query = urlencode({k: row[k] for k in ("dag_id", "run_id", "task_id", "map_index")})
    return f'<a href="verdict?{html.escape(query)}">{text(row["task_id"])}{_map(row["map_index"])}</a>'
