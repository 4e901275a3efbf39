"""Sphinx directives whose content is computed from the code, so that the page cannot fall out of date.

``.. scorecards-well-known-services::`` renders the simulator's well-known services with their
production-readiness score and level at every drift step, from the organisation the simulator generates.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


class WellKnownServices(SphinxDirective):
    """A table of the curated services: score and level per drift step, on production-readiness."""

    def run(self) -> list[nodes.Node]:
        from airflow_provider_scorecards.simulator.generation import CURATED_SERVICES
        from airflow_provider_scorecards.simulator.org import Organisation, RuleFilter

        org = Organisation.generate(seed=7, entities=200)
        only = RuleFilter(scorecard_ids=frozenset({"production-readiness"}))
        by_step = []
        for step in range(org.fix_steps + 1):
            scores = {item["id"]: item["attributes"] for item in org.scores("by-entity", only, step)}
            by_step.append(scores)
        header = ["service", *(f"step {step}" for step in range(org.fix_steps + 1))]
        rows = [
            [
                f"``service:{name}``",
                *(
                    f"{s[f'service:{name}']['score']:g} (level {s[f'service:{name}'].get('level')})"
                    for s in by_step
                ),
            ]
            for name in CURATED_SERVICES
        ]
        lines = [".. list-table::", "   :header-rows: 1", ""]
        for row in [header, *rows]:
            lines.append(f"   * - {row[0]}")
            lines.extend(f"     - {cell}" for cell in row[1:])
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="scorecards-well-known-services"), 0, container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("scorecards-well-known-services", WellKnownServices)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
