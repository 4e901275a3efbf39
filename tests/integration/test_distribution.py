"""What the published distribution promises, checked in `make test` rather than only in `make dist`.

`make dist` (scripts/check_dist.py) proves the built wheel in a fresh virtualenv, but it takes a minute and
runs last in CI; these checks catch the cheap mistakes where they are made: a relative link or an image in
the long description PyPI shows, a second definition of the version, a release without a changelog
section, a new subpackage the wheel would not ship as a package.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import airflow_provider_scorecards
from airflow_provider_scorecards.get_provider_info import get_provider_info

ROOT = Path(__file__).parent.parent.parent
PACKAGE = "airflow_provider_scorecards"
PYPROJECT: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _load_check_dist() -> ModuleType:
    """scripts/ is not a package: load the checker from its file, so the test and make dist share it."""
    spec = importlib.util.spec_from_file_location("check_dist", ROOT / "scripts" / "check_dist.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


check_dist = _load_check_dist()


def test_long_description_has_no_images_or_relative_links() -> None:
    files = check_dist.long_description_files()
    assert [path.name for path in files] == ["PYPI_README.md", "CHANGELOG.md"]
    description = "\n".join(path.read_text() for path in files)  # setuptools joins them the same way
    assert check_dist.long_description_problems(description) == []


@pytest.mark.parametrize(
    ("markdown", "problem"),
    [
        ("See [the architecture](ARCHITECTURE.md).", "relative link 'ARCHITECTURE.md'"),
        ("See [changes][c].\n\n[c]: CHANGELOG.md\n", "relative link 'CHANGELOG.md'"),
        ('<a href="docs/setup.md">setup</a>', "relative link 'docs/setup.md'"),
        ("![the gate](docs/images/gate.png)", "image 'docs/images/gate.png'"),
        (
            "![badge](https://img.shields.io/badge/x-y-green)",
            "image 'https://img.shields.io/badge/x-y-green'",
        ),
        ('<img src="docs/images/ui.png">', "image 'docs/images/ui.png'"),
        ("# Title\n\n[jump](#nowhere)", "in-page link to no heading '#user-content-nowhere'"),
    ],
)
def test_the_checker_finds_what_pypi_would_show_broken(markdown: str, problem: str) -> None:
    assert check_dist.long_description_problems(markdown) == [problem]


def test_the_checker_accepts_absolute_links_anchors_and_code() -> None:
    markdown = (
        "# Title\n\n## Install\n\n[docs](https://docs.datadoghq.com/) <mailto:someone@example.com>\n"
        "[up](#install)\n\n```markdown\n[not a link](README.md) ![nor an image](x.png)\n```\n"
        "`[inline](code.md)`\n"
    )
    assert check_dist.long_description_problems(markdown) == []


def test_version_is_defined_once() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project, "pyproject.toml must read the version from __version__"
    assert "version" in project["dynamic"]
    dynamic = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": f"{PACKAGE}.__version__"}
    version = check_dist.read_version()
    assert version == airflow_provider_scorecards.__version__
    assert get_provider_info()["versions"] == [version]
    elsewhere = [
        path.relative_to(ROOT).as_posix()
        for path in [*(ROOT / PACKAGE).rglob("*.py"), ROOT / "pyproject.toml"]
        if path.name != "__init__.py" or path.parent != ROOT / PACKAGE
        if re.search(rf"""["']{re.escape(version)}["']|__version__\s*=""", path.read_text())
    ]
    assert elsewhere == [], f"the version is written out again in {elsewhere}"


def test_changelog_has_a_section_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    version = re.escape(airflow_provider_scorecards.__version__)
    assert re.search(rf"^## \[?{version}\]?( |$)", changelog, flags=re.M), (
        f"no '## {version}' in CHANGELOG.md"
    )


def test_every_subpackage_ships_as_a_package() -> None:
    """The wheel's package list is written out (the example DAGs are mapped in from example_dags/).

    A subpackage missing from it would still be copied as data by MANIFEST.in's graft, with a setuptools
    warning nobody reads, so this is where a new one is noticed.
    """
    setuptools = PYPROJECT["tool"]["setuptools"]
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / PACKAGE).rglob("__init__.py")
        if "__pycache__" not in path.parts
    }
    found.add(f"{PACKAGE}.example_dags")
    assert set(setuptools["packages"]) == found, "update [tool.setuptools] packages in pyproject.toml"
    assert setuptools["package-dir"] == {f"{PACKAGE}.example_dags": "example_dags"}
    assert (ROOT / "example_dags" / "__init__.py").exists()


def test_license_is_the_apache_2_text_and_is_shipped() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "END OF TERMS AND CONDITIONS" in license_text
    assert "Airflow" not in license_text, "the plain Apache-2.0 text, without Airflow's NOTICE additions"
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_pypi_readme_imports_exist() -> None:
    """The import lines of the PyPI page's code work (make dist repeats this in the installed wheel)."""
    imports = check_dist.readme_imports([ROOT / "PYPI_README.md"])
    assert imports
    for module, names in imports.items():
        loaded = importlib.import_module(module)
        assert all(hasattr(loaded, name) for name in names), (module, names)


def test_pypi_readme_python_blocks_compile() -> None:
    text = (ROOT / "PYPI_README.md").read_text()
    blocks = [code for lang, code in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S) if lang == "python"]
    assert blocks
    for code in blocks:
        ast.parse(code)
