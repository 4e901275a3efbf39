"""The pages read right outside Sphinx too (GitHub, PyPI): what Sphinx builds without a warning but shows wrong.

``make lint`` runs sphinx-lint (markup: backticks, roles, whitespace); these are the two mistakes it does
not see, both of which render as raw text: a Markdown table, and a section title glued to the paragraph
above it (reST then reads the title and its underline as more of the paragraph).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts)
UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")
MARKDOWN_TABLE_RULE = re.compile(r"^\s*\|(\s*:?-{3,}:?\s*\|)+\s*$")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_markdown_table(page: Path) -> None:
    lines = page.read_text(encoding="utf-8").splitlines()
    found = [n + 1 for n, line in enumerate(lines) if MARKDOWN_TABLE_RULE.match(line)]
    assert found == [], f"{page.name}: a Markdown table at lines {found}; use list-table"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_title_stands_apart(page: Path) -> None:
    lines = page.read_text(encoding="utf-8").splitlines()
    glued = [
        n
        for n in range(2, len(lines))
        if UNDERLINE.match(lines[n])
        and lines[n - 1].strip()
        and not lines[n - 1][0].isspace()
        and len(lines[n].rstrip()) >= len(lines[n - 1].rstrip())
        and lines[n - 2].strip()
        and lines[n - 2].rstrip() != lines[n].rstrip()  # an overline
    ]
    assert glued == [], f"{page.name}: titles glued to the paragraph above at lines {glued}"
