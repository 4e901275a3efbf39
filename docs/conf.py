"""Sphinx configuration of the provider's documentation (``make docs`` builds it with warnings as errors)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

from airflow_provider_scorecards import __version__  # noqa: E402

project = "airflow-provider-scorecards"
author = "airflow-provider-scorecards contributors"
copyright = "the airflow-provider-scorecards contributors"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",  # only for CHANGELOG.md, included as is so that it has one source
    "scorecards_docs",
]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "examples", "_ext"]
html_theme = "alabaster"
html_static_path: list[str] = []
nitpicky = True
# Types from other projects: their docs are not reachable from this build (no intersphinx inventory).
nitpick_ignore_regex = [
    (r"py:.*", r"(airflow|requests|pendulum|tenacity|msgspec|datadog_api_client|collections|typing)\..*"),
    (r"py:.*", r"(_?asyncio|datetime|pathlib|pytest|logging|random|_thread|threading|http|socketserver)\..*"),
    (r"py:.*", r"os\.PathLike"),
    # Unqualified and package-level names in docstrings (``:class:`InvalidParameterError```,
    # ``:mod:`settings```, ``:meth:`build```): readable in the source, not placeable by Sphinx.
    (r"py:.*", r"[A-Za-z_]+"),
    (r"py:.*", r"airflow_provider_scorecards\.(records|testing|client)(\.[A-Za-z]+)?"),
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}
myst_heading_anchors = 3
# "ref.python" is only the ambiguity warning: an unqualified ``Rule`` in a signature names both the client's
# and the simulator's (each module's own is meant); a missing target still fails the build (nitpicky).
suppress_warnings = ["myst.header", "ref.python"]
