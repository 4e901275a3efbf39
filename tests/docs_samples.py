"""The code samples of the docs, as a reader sees them: exactly the text each page shows.

A ``literalinclude`` shows part of a file (``start-after``/``start-at``, ``end-before``/``end-at``,
``lines``, ``dedent``, applied in Sphinx's order); a ``code-block`` shows its content. An option this module
does not know fails, so no page can show something the samples test does not read the same way.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs"
DIRECTIVE = re.compile(
    r"^(?P<indent>[ \t]*)\.\. (?P<name>literalinclude|code-block|code|sourcecode)::[ \t]*(?P<arg>.*)$"
)
OPTION = re.compile(r"^[ \t]+:(?P<name>[\w-]+):[ \t]*(?P<value>.*)$")
SHOWN_AS_IS = {"language", "caption", "name", "emphasize-lines", "linenos", "force"}
SLICING = {"start-after", "start-at", "end-before", "end-at", "lines", "dedent"}
PYTHON = {"python", "py", "python3"}


@dataclass(frozen=True)
class Sample:
    """One code sample of a page: what the reader sees, and the file it came from (an include)."""

    page: Path
    line: int
    language: str
    text: str
    source: Path | None = None

    @property
    def where(self) -> str:
        shown = f" ({self.source.name})" if self.source else ""
        return f"{self.page.relative_to(DOCS)}:{self.line}{shown}"

    @property
    def how(self) -> str:
        """How the page means it to be run.

        ``pytest`` (a test file), ``dag`` (a DAG file: parsed, then ``dag.test()``), ``value`` (what an
        XCom or a call returns: a Python literal), ``script`` (Python run as it is), ``json``, ``bash``
        (checked for syntax; installs and servers are the distribution check's), or ``shown`` (output).
        """
        if self.language in PYTHON:
            if self.source is not None and self.source.name.startswith("test_"):
                return "pytest"
            if re.search(r"^\s*with DAG\(|^\s*@dag\b|\bDAG\(", self.text, re.M):
                return "dag"
            try:
                tree = ast.parse(self.text)
            except SyntaxError:
                return "script"  # running it says what is wrong
            if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
                return "value"
            return "script"
        if self.language in ("json", "bash"):
            return self.language
        return "shown"


def samples(page: Path) -> list[Sample]:
    """Every ``literalinclude`` and ``code-block`` of a page, with the text it shows."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines):
        match = DIRECTIVE.match(line)
        if not match:
            continue
        indent = len(match["indent"].expandtabs())
        options: dict[str, str] = {}
        body = number + 1
        while body < len(lines) and (option := OPTION.match(lines[body])):
            options[option["name"]] = option["value"].strip()
            body += 1
        unknown = set(options) - SHOWN_AS_IS - SLICING
        assert not unknown, f"{page.name}:{number + 1}: the samples test does not read {sorted(unknown)}"
        if match["name"] == "literalinclude":
            target = match["arg"].strip()
            source = DOCS / target.lstrip("/") if target.startswith("/") else page.parent / target
            text = _included(source.resolve(), options, f"{page.name}:{number + 1}")
            language = options.get("language", "python" if source.suffix == ".py" else "text")
            found.append(Sample(page, number + 1, language, text, source.resolve()))
        else:
            text = _content(lines[body:], indent)
            found.append(Sample(page, number + 1, match["arg"].strip() or "text", text))
    return found


def _content(lines: list[str], indent: int) -> str:
    block: list[str] = []
    for line in lines:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
    margin = min((len(ln) - len(ln.lstrip()) for ln in block if ln.strip()), default=0)
    return "\n".join(ln[margin:] for ln in block).strip("\n") + "\n"


def _included(source: Path, options: dict[str, str], where: str) -> str:
    """The lines Sphinx shows of ``source``: start, end, lines, dedent, in Sphinx's order."""
    assert source.is_file(), f"{where}: no file {source}"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    for option, keep in (("start-after", 1), ("start-at", 0)):
        if option in options:
            hits = [i for i, ln in enumerate(lines) if options[option] in ln]
            assert hits, f"{where}: {option} {options[option]!r} is not in {source.name}"
            lines = lines[hits[0] + keep :]
    for option, keep in (("end-before", 0), ("end-at", 1)):
        if option in options:
            hits = [i for i, ln in enumerate(lines) if options[option] in ln]
            assert hits, f"{where}: {option} {options[option]!r} is not after the start in {source.name}"
            lines = lines[: hits[0] + keep]
    if "lines" in options:
        chosen: list[str] = []
        for part in options["lines"].split(","):
            first, dash, last = part.strip().partition("-")
            start = int(first) if first else 1
            stop = int(last) if last else len(lines) if dash else start
            chosen.extend(lines[start - 1 : stop])
        lines = chosen
    if "dedent" in options:
        width = int(options["dedent"])
        lines = [ln[width:] if ln.strip() else ln for ln in lines]
    return "".join(lines)


def every_sample() -> list[Sample]:
    """The samples of every page of the docs, in page order."""
    return [
        sample
        for page in sorted(DOCS.rglob("*.rst"))
        if "_build" not in page.parts
        for sample in samples(page)
    ]
