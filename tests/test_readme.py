"""The README's code is the tested code: its first DAG is docs/examples/first_dag.py, and its links resolve."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)


def _marked(path: Path, name: str) -> str:
    return path.read_text().split(f"# START {name}\n")[1].split(f"# END {name}")[0]


def test_the_readme_has_the_two_commands() -> None:
    shell = "\n".join(code for lang, code in BLOCKS if lang == "bash")
    assert "make demo" in shell
    assert "make test" in shell
    assert "pip install airflow-provider-scorecards" in shell


def test_the_first_dag_is_the_tested_file() -> None:
    (python,) = [code for lang, code in BLOCKS if lang == "python"]
    assert python == _marked(ROOT / "docs" / "examples" / "first_dag.py", "first_dag")


def test_relative_links_resolve() -> None:
    links = re.findall(r"\]\(([^)#]+)\)", README)
    relative = [link for link in links if not link.startswith(("http://", "https://"))]
    assert relative
    missing = [link for link in relative if not (ROOT / link).exists()]
    assert missing == []


def test_it_is_a_front_door() -> None:
    assert len(README.splitlines()) <= 150
