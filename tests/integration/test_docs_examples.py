"""Every file the docs include code from runs, and every ``literalinclude`` of the docs resolves.

Sphinx with ``-W`` catches a broken include too (``make docs``); this check is here so that ``make test``
catches it in a second, before anyone builds the docs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_scorecards.simulator import ScorecardsSimulator

DOCS = Path(__file__).parents[2] / "docs"
EXAMPLES = sorted(p for p in (DOCS / "examples").glob("*.py") if not p.name.startswith("test_"))
INCLUDE = re.compile(r"^\.\. literalinclude:: (\S+)\n((?:[ \t]+:[\w-]+:.*\n)*)", re.M)


def _includes() -> list[tuple[str, Path, dict[str, str]]]:
    found = []
    for page in sorted(DOCS.rglob("*.rst")):
        for match in INCLUDE.finditer(page.read_text(encoding="utf-8")):
            options = dict(re.findall(r":([\w-]+):[ \t]*(.*)", match.group(2)))
            target = (
                (DOCS / match.group(1).lstrip("/"))
                if match.group(1).startswith("/")
                else page.parent / match.group(1)
            )
            found.append((f"{page.relative_to(DOCS)} -> {match.group(1)}", target, options))
    return found


def test_the_docs_include_code() -> None:
    assert len(_includes()) >= 10


@pytest.mark.parametrize(
    ("where", "target", "options"), _includes(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_literalinclude_resolves(where: str, target: Path, options: dict[str, str]) -> None:
    assert target.is_file(), f"{where}: no file {target}"
    text = target.read_text(encoding="utf-8")
    for option in ("start-after", "start-at", "end-before", "end-at"):
        if option in options:
            assert options[option].strip() in text, (
                f"{where}: marker {options[option]!r} not in {target.name}"
            )
    start = options.get("start-after") or options.get("start-at")
    end = options.get("end-before") or options.get("end-at")
    if start and end:
        assert text.find(end.strip(), text.index(start.strip())) > 0, (
            f"{where}: the end comes before the start"
        )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_code_runs(path: Path, sim_conn: ScorecardsSimulator) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_example_{path.stem}"}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # the hook really fetches


def test_the_report_examples_are_what_the_gate_says() -> None:
    from airflow_provider_scorecards.gate.condition import GateCondition

    page = (DOCS / "check.rst").read_text(encoding="utf-8")
    report = (
        GateCondition.build(min_score=0.8, score_ids=["service:checkout-api"])
        .evaluate([{"id": "service:checkout-api", "score": 0.62, "denominator": 8}])
        .report()
    )
    teams = [f"team-{n:02d}" for n in range(15)]
    before = [{"id": t, "score": 0.7, "denominator": 10} for t in teams]
    before.append({"id": "team-payments", "score": 0.62, "denominator": 10})
    now = [{**r, "score": 0.5 if r["id"] == "team-payments" else r["score"]} for r in before]
    regression = GateCondition.build(max_drop=0.05, on_missing="fail").evaluate(now, baseline=before).report()
    for text in (report, regression):
        assert "\n".join("   " + line for line in text.splitlines()) in page
