"""`make dist`: build the sdist and the wheel, check them, and prove the wheel in a fresh virtualenv.

The editable install the tests use never exercises what a user gets from an index: the wheel's file list,
its metadata, the long description PyPI renders, the entry points Airflow discovers. This script builds the
two distributions into ``dist/`` (the wheel from the sdist, which proves the sdist rebuilds), then:

- ``twine check --strict`` on both (the long description renders, the metadata is valid);
- the wheel holds every module of the package (simulator included), ``py.typed``, the example DAGs as
  ``airflow_provider_scorecards/example_dags/``, the LICENSE, both entry points, and nothing else;
- its metadata carries the one version (``__version__``), the license, and a long description with no
  image and no relative link (PyPI would show them broken), which includes this version's changelog;
- the sdist holds every repository file a rebuild or ``make test`` needs;
- in a fresh virtualenv (``build/dist-check/venv``, Airflow from the pinned constraints plus the wheel, a
  throwaway AIRFLOW_HOME): ``airflow providers list`` shows the provider, ``airflow providers hooks`` the
  ``datadogscorecards`` connection type, the ``scorecards-simulator`` command serves scores to the
  default keys, every import the READMEs show works, and the shipped example DAGs parse;
- in that virtualenv, the docs' first-DAG page step by step (start ``scorecards-simulator``, export the
  connection it prints, ``airflow db migrate``, drop the DAG file in, ``airflow dags test``), then the
  testing page's tests (the first DAG's run, the event-driven DAG's watcher) with ``pytest`` and the
  wheel's own pytest plugin.

It prints a table of the checks and exits non-zero if any failed. ``--no-venv`` skips the virtualenv
stage (seconds instead of about a minute, for iterating on packaging). The venv is left in place for
inspection and replaced on the next run.
"""

from __future__ import annotations

import argparse
import ast
import configparser
import email.parser
import email.policy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_scorecards"
DISTRIBUTION = "airflow-provider-scorecards"
sys.path.insert(0, str(ROOT))
from airflow_provider_scorecards.hooks import CONN_TYPE as CONNECTION_TYPE  # noqa: E402

EXAMPLE_DAGS = ROOT / "example_dags"
WHEEL_EXAMPLE_DAGS = f"{PACKAGE}/example_dags"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "dist-check"
VENV = WORK / "venv"
AIRFLOW_VERSION = os.environ.get("AIRFLOW_VERSION", "3.3.2")
CONSTRAINTS = ROOT / "constraints" / f"airflow-{AIRFLOW_VERSION}.txt"
READMES = (ROOT / "README.md", ROOT / "PYPI_README.md")
ENTRY_POINTS = {
    "apache_airflow_provider": {"provider_info": f"{PACKAGE}.get_provider_info:get_provider_info"},
    "console_scripts": {"scorecards-simulator": f"{PACKAGE}.simulator.cli:main"},
    "pytest11": {PACKAGE: f"{PACKAGE}.testing.plugin"},
}
DOCS_EXAMPLES = ROOT / "docs" / "examples"
FIRST_DAG_ID = "my_first_scorecards_dag"
# Repository files that are plumbing, not source: hidden top-level entries hold tool state (.venv, .git,
# .demo, .deployment, ...) except .ci, which the sdist carries so its CI command can be read and run.
_SDIST_EXEMPT_FILES = {".gitignore"}
_ABSOLUTE_SCHEMES = {"http", "https", "mailto"}


class CheckFailed(Exception):
    """A check's finding: the message is what the table shows."""


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not run, because a step it needs failed
    detail: str
    seconds: float


# -- helpers shared with tests/integration/test_distribution.py ------------------------------------------


def read_version(root: Path = ROOT) -> str:
    """``__version__`` from the package's ``__init__.py``, read without importing the package.

    It is the single definition of the version: pyproject.toml reads it through setuptools' ``attr:``.
    """
    tree = ast.parse((root / PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "__version__" for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, str):
                return value
    raise CheckFailed(f"no __version__ string in {PACKAGE}/__init__.py")


def long_description_files(root: Path = ROOT) -> list[Path]:
    """The files setuptools joins into the long description (``[tool.setuptools.dynamic] readme``)."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    files = config["tool"]["setuptools"]["dynamic"]["readme"]["file"]
    return [root / name for name in ([files] if isinstance(files, str) else files)]


class _LinkCollector(HTMLParser):
    """Collects images, link targets and element ids from rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if values.get("id"):
            self.ids.add(values["id"])
        if tag in {"img", "picture", "source", "svg", "image"}:
            self.images.append(values.get("src") or values.get("srcset") or f"<{tag}>")
        elif "href" in values:
            self.links.append(values["href"])


def long_description_problems(markdown: str) -> list[str]:
    """Images and relative links in a Markdown long description, after rendering it the way PyPI does.

    PyPI shows the description away from the repository: a relative link (``ARCHITECTURE.md``) leads
    nowhere and an image is broken or hotlinked, so every link must be absolute, or an in-page anchor to a
    heading of the description itself, and there must be no image. Rendering first (readme_renderer,
    PyPI's own renderer) catches every syntax: inline and reference links, raw HTML, and it ignores what
    sits in code.
    """
    import readme_renderer.markdown  # type: ignore[import-untyped,unused-ignore]

    html = readme_renderer.markdown.render(markdown)
    if html is None:
        return ["the Markdown does not render (readme_renderer returned nothing)"]
    collector = _LinkCollector()
    collector.feed(html)
    problems = [f"image {src!r}" for src in collector.images]
    for href in collector.links:
        if href.startswith("#"):
            if href[1:] not in collector.ids:
                problems.append(f"in-page link to no heading {href!r}")
        elif urlsplit(href).scheme not in _ABSOLUTE_SCHEMES:
            problems.append(f"relative link {href!r}")
    return problems


def readme_imports(paths: Iterable[Path] = READMES) -> dict[str, set[str]]:
    """Every ``from airflow_provider_scorecards... import ...`` in the python code blocks of the READMEs.

    These are the import paths users copy; a module moved or a name not exported must fail the build.
    """
    imports: dict[str, set[str]] = {}
    for path in paths:
        if not path.exists():
            continue
        for lang, code in re.findall(r"```(\w*)\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S):
            if lang != "python":
                continue
            try:
                nodes = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.ImportFrom)]
                found = [(n.module or "", [alias.name for alias in n.names]) for n in nodes]
            except SyntaxError:  # a fragment: fall back to the lines themselves
                found = [
                    (module, [name.strip(" ()") for name in names.split(",")])
                    for module, names in re.findall(r"^from\s+(\S+)\s+import\s+(.+)$", code, flags=re.M)
                ]
            for module, names in found:
                if module == PACKAGE or module.startswith(f"{PACKAGE}."):
                    imports.setdefault(module, set()).update(n for n in names if n)
    return imports


# -- running -------------------------------------------------------------------------------------------------


def _run(
    cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command; on a non-zero exit, fail with the tail of its output (the part that says why)."""
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd, env=env
    )
    if result.returncode != 0:
        output = "\n".join(
            line
            for line in (result.stdout + result.stderr).splitlines()
            if "is ignored: it is neither a file nor a directory" not in line  # this machine's pip config
        )
        raise CheckFailed(
            f"`{' '.join(map(str, cmd[:4]))} ...` exited {result.returncode}:\n{output[-2500:]}"
        )
    return result


def _timed(name: str, step: Callable[[], str]) -> Check:
    """Run one check; its return value is the detail shown, an exception a failure."""
    sys.stdout.write(f"... {name}\n")  # one write: checks start from two threads
    sys.stdout.flush()
    start = time.perf_counter()
    try:
        detail = step()
        ok = True
    except CheckFailed as exc:
        detail, ok = str(exc), False
    except Exception as exc:  # a bug or an environment problem: still a row, not a traceback
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return Check(name, ok, detail, time.perf_counter() - start)


# -- build and static checks ---------------------------------------------------------------------------------


@dataclass
class Built:
    sdist: Path
    wheel: Path


def build(version: str) -> tuple[Built, str]:
    """Build the sdist, then the wheel from it (``python -m build``), into ``dist/``."""
    DIST.mkdir(exist_ok=True)
    for stale in DIST.glob(f"{PACKAGE}-*"):
        stale.unlink()
    _run([sys.executable, "-m", "build", "--outdir", str(DIST), str(ROOT)])
    sdist, wheel = DIST / f"{PACKAGE}-{version}.tar.gz", DIST / f"{PACKAGE}-{version}-py3-none-any.whl"
    built = sorted(p.name for p in DIST.glob(f"{PACKAGE}-*"))
    if not (sdist.exists() and wheel.exists()) or len(built) != 2:
        raise CheckFailed(f"expected {sdist.name} and {wheel.name} (version {version}), got {built}")
    return Built(
        sdist, wheel
    ), f"dist/: sdist {_kb(sdist)}, wheel {_kb(wheel)} (the wheel built from the sdist)"


def _kb(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.0f} KB"


def check_twine(built: Built) -> str:
    """twine's own verdict, the one PyPI's upload applies: valid metadata, a description that renders."""
    _run([sys.executable, "-m", "twine", "check", "--strict", str(built.sdist), str(built.wheel)])
    return "both PASSED (--strict)"


def expected_wheel_files() -> set[str]:
    """The wheel's payload outside its dist-info: every file of the package, then the example DAGs."""
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
    }
    expected |= {f"{WHEEL_EXAMPLE_DAGS}/{path.name}" for path in EXAMPLE_DAGS.glob("*.py")}
    return expected


def check_wheel_files(built: Built, version: str) -> str:
    """The wheel ships the whole package and nothing else (no tests, no stray top-level packages)."""
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        dist_info = f"{PACKAGE}-{version}.dist-info"
        license_name = f"{dist_info}/licenses/LICENSE"
        if license_name not in names:
            raise CheckFailed(f"no {license_name} in the wheel")
        if wheel.read(license_name) != (ROOT / "LICENSE").read_bytes():
            raise CheckFailed(f"{license_name} differs from the repository's LICENSE")
        entry_points = configparser.ConfigParser()
        entry_points.read_string(wheel.read(f"{dist_info}/entry_points.txt").decode())
    problems: list[str] = []
    for group, entries in ENTRY_POINTS.items():
        for key, target in entries.items():
            if entry_points.get(group, key, fallback=None) != target:
                problems.append(f"entry point [{group}] {key} = {target} missing")
    content = {n for n in names if not n.startswith(f"{dist_info}/")}
    expected = expected_wheel_files()
    if missing := sorted(expected - content):
        problems.append(f"missing (see [tool.setuptools] in pyproject.toml, MANIFEST.in): {missing}")
    if extra := sorted(content - expected):
        problems.append(f"unexpected: {extra}")
    if problems:
        raise CheckFailed("; ".join(problems))
    modules = sum(1 for n in content if n.endswith(".py") and not n.startswith(WHEEL_EXAMPLE_DAGS))
    examples = sum(1 for n in content if n.startswith(WHEEL_EXAMPLE_DAGS) and not n.endswith("__init__.py"))
    return f"{modules} modules, py.typed, {examples} example DAGs, LICENSE, entry points; nothing else"


def _metadata(built: Built, version: str) -> tuple[Message, Message]:
    with zipfile.ZipFile(built.wheel) as wheel:
        wheel_meta = wheel.read(f"{PACKAGE}-{version}.dist-info/METADATA").decode()
    with tarfile.open(built.sdist) as sdist:
        member = sdist.extractfile(f"{PACKAGE}-{version}/PKG-INFO")
        if member is None:
            raise CheckFailed("no PKG-INFO in the sdist")
        sdist_meta = member.read().decode()
    parser = email.parser.Parser(policy=email.policy.compat32)
    return parser.parsestr(wheel_meta), parser.parsestr(sdist_meta)


def check_metadata(built: Built, version: str) -> str:
    """One version everywhere, the license declared and shipped, a long description fit for PyPI."""
    wheel_meta, sdist_meta = _metadata(built, version)
    problems: list[str] = []
    for label, meta in (("wheel", wheel_meta), ("sdist", sdist_meta)):
        expected = {
            "Name": DISTRIBUTION,
            "Version": version,
            "License-Expression": "Apache-2.0",
            "License-File": "LICENSE",
            "Description-Content-Type": "text/markdown",
        }
        for field, value in expected.items():
            if meta.get(field) != value:
                problems.append(f"{label} {field}: {meta.get(field)!r}, expected {value!r}")
    description = str(wheel_meta.get_payload())
    if description != str(sdist_meta.get_payload()):
        problems.append("the wheel's and the sdist's long descriptions differ")
    problems += [f"long description: {p}" for p in long_description_problems(description)]
    if not re.search(rf"^##\s+\[?{re.escape(version)}\]?", description, flags=re.M):
        problems.append(f"long description: no changelog section for {version}")
    if problems:
        raise CheckFailed("; ".join(problems))
    return f"version {version}, Apache-2.0, LICENSE; description: no image/relative link, {version} changes"


def repository_files() -> set[str]:
    """The repository's source files: git's view (tracked plus new, not ignored), else a walk of the tree."""
    try:
        listed = _run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT)
        files = {name for name in listed.stdout.split("\0") if name and (ROOT / name).is_file()}
    except (CheckFailed, OSError):
        files = {
            p.relative_to(ROOT).as_posix()
            for p in ROOT.rglob("*")
            if p.is_file() and not {"__pycache__", "build", "dist"} & set(p.relative_to(ROOT).parts)
        }
    return {
        name
        for name in files
        if name not in _SDIST_EXEMPT_FILES
        and not (name.startswith(".") and not name.startswith(".ci/"))
        and "__pycache__" not in name
        and not name.startswith(f"{PACKAGE}.egg-info/")
    }


def check_sdist(built: Built, version: str) -> str:
    """The sdist carries every repository file: a rebuild and ``make test`` need them (MANIFEST.in)."""
    prefix = f"{PACKAGE}-{version}/"
    with tarfile.open(built.sdist) as sdist:
        members = {m.name.removeprefix(prefix) for m in sdist.getmembers() if m.isfile()}
    problems: list[str] = []
    if missing := sorted(repository_files() - members):
        problems.append(f"missing (see MANIFEST.in): {missing}")
    needed = ["pyproject.toml", "MANIFEST.in", "LICENSE", "CHANGELOG.md", "Makefile", "PKG-INFO"]
    needed += [p.relative_to(ROOT).as_posix() for p in EXAMPLE_DAGS.glob("*.py")]
    needed += [p.relative_to(ROOT).as_posix() for p in long_description_files()]
    if absent := [name for name in needed if name not in members]:
        problems.append(f"missing: {absent}")
    if stray := sorted(m for m in members if "__pycache__" in m or m.endswith(".pyc")):
        problems.append(f"bytecode: {stray[:5]}")
    if problems:
        raise CheckFailed("; ".join(problems))
    tests = sum(1 for m in members if m.startswith("tests/"))
    return f"{len(members)} files: every repository file ({tests} under tests/), the example DAGs"


# -- the fresh virtualenv ------------------------------------------------------------------------------------


def venv_env(home: Path) -> dict[str, str]:
    """The environment of a user's shell with this venv active and nothing of this repository or machine.

    Bytecode writing is turned back on (this machine sets PYTHONDONTWRITEBYTECODE): the venv is installed
    without compiling, and the first Airflow command compiles what it imports for the ones after it.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTHON", "DD_", "VIRTUAL_ENV", "SCORECARDS_"))
    }
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(VENV),
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(home / "dags"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
    )
    return env


def install_venv(built: Built) -> str:
    """A fresh venv with the pinned Airflow and the wheel, as ``pip install`` from an index would make it.

    The venv gets no pip of its own: this interpreter's pip installs into it (``--python``), which saves
    bootstrapping one. pip's cache makes the Airflow download a one-off.
    """
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    _run([sys.executable, "-m", "venv", "--without-pip", str(VENV)])
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(VENV / "bin" / "python"),
            "install",
            "--quiet",
            "--no-compile",
            "-c",
            str(CONSTRAINTS),
            f"apache-airflow=={AIRFLOW_VERSION}",
            str(built.wheel),
        ]
    )
    shown = _run([sys.executable, "-m", "pip", "--python", str(VENV / "bin" / "python"), "list"])
    packages = len(shown.stdout.splitlines()) - 2
    return f"{VENV.relative_to(ROOT)}: apache-airflow=={AIRFLOW_VERSION} + the wheel ({packages} packages)"


def _airflow_json(home: Path, *args: str) -> list[dict[str, object]]:
    result = _run([str(VENV / "bin" / "airflow"), *args, "--output", "json"], env=venv_env(home), cwd=home)
    try:
        parsed = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise CheckFailed(f"`airflow {' '.join(args)}` printed no JSON: {result.stdout[-1000:]}") from exc
    if not isinstance(parsed, list):
        raise CheckFailed(f"`airflow {' '.join(args)}` printed {type(parsed).__name__}, not a list")
    return parsed


def check_providers_list(home: Path, version: str) -> str:
    """Airflow finds the provider through the installed entry point, with the wheel's version."""
    rows = [
        row for row in _airflow_json(home, "providers", "list") if row.get("package_name") == DISTRIBUTION
    ]
    if not rows:
        raise CheckFailed(f"`airflow providers list` does not show {DISTRIBUTION}")
    if rows[0].get("version") != version:
        raise CheckFailed(f"`airflow providers list` shows version {rows[0].get('version')}, not {version}")
    return f"{DISTRIBUTION} {version}"


def check_connection_type(home: Path) -> str:
    """The connection type users pick in the UI is registered, with our hook behind it."""
    rows = [
        row
        for row in _airflow_json(home, "providers", "hooks")
        if row.get("connection_type") == CONNECTION_TYPE
    ]
    hook = f"{PACKAGE}.hooks.scorecards.DatadogScorecardsHook"
    if not rows or rows[0].get("class") != hook:
        raise CheckFailed(f"`airflow providers hooks` has no {CONNECTION_TYPE} served by {hook}: {rows}")
    return f"`airflow providers hooks`: {CONNECTION_TYPE} -> DatadogScorecardsHook"


def check_simulator(home: Path) -> str:
    """The ``scorecards-simulator`` console script starts, serves scores to the default keys, and stops."""
    env = venv_env(home)
    keys = _run(
        [
            str(VENV / "bin" / "python"),
            "-c",
            f"from {PACKAGE}.simulator import DEFAULT_API_KEY as a, DEFAULT_APP_KEY as b; print(a); print(b)",
        ],
        env=env,
        cwd=home,
    ).stdout.split()
    port_file = home / "simulator.port"
    log = home / "simulator.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(VENV / "bin" / "scorecards-simulator"), "--port-file", str(port_file), "--entities", "20"],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
        )
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip().isdigit()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise CheckFailed(
                    f"the simulator did not start (exit {process.poll()}): {log.read_text()[-1500:]}"
                )
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text().strip()}/api/v2/scorecard/scores/by-team"
        request = urllib.request.Request(url, headers={"DD-API-KEY": keys[0], "DD-APPLICATION-KEY": keys[1]})
        with urllib.request.urlopen(request, timeout=30) as response:
            status, content_type = response.status, response.headers.get("Content-Type", "")
            body = json.load(response)
        scores = body.get("data") or []
        if status != 200 or "json" not in content_type or not scores or scores[0].get("type") != "score":
            raise CheckFailed(f"GET {url}: {status} {content_type}, {str(body)[:300]}")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise CheckFailed("the simulator did not stop on SIGTERM within 15 s") from None
    if code != 0:
        raise CheckFailed(f"the simulator exited {code} on SIGTERM: {log.read_text()[-1500:]}")
    return f"started, GET /scores/by-team -> 200 with {len(scores)} scores, stopped on SIGTERM"


# Runs inside the venv: imports what the READMEs show, then parses the installed example DAGs.
_VENV_PROBE = """
import importlib, json, sys
from pathlib import Path

imports, out = json.loads(sys.argv[1]), Path(sys.argv[2])
failures = []
for module, names in imports.items():
    try:
        loaded = importlib.import_module(module)
    except Exception as exc:
        failures.append(f"import {module}: {type(exc).__name__}: {exc}")
        continue
    for name in names:
        if hasattr(loaded, name):
            continue
        if not hasattr(loaded, "__path__"):
            failures.append(f"from {module} import {name}: {module} has no {name}")
            continue
        try:
            importlib.import_module(f"{module}.{name}")
        except Exception as exc:
            failures.append(f"from {module} import {name}: {type(exc).__name__}: {exc}")

import airflow_provider_scorecards, airflow_provider_scorecards.example_dags as examples

try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 3.0
    from airflow.models.dagbag import DagBag
folder = Path(examples.__path__[0])
bag = DagBag(dag_folder=str(folder))
out.write_text(json.dumps({
    "package": airflow_provider_scorecards.__file__,
    "failures": failures,
    "examples_folder": str(folder),
    "dag_ids": sorted(bag.dag_ids),
    "import_errors": {str(k): str(v)[-800:] for k, v in bag.import_errors.items()},
}))
"""


def check_imports_and_examples(home: Path) -> str:
    """The README's import paths and the shipped example DAGs work from the installed wheel alone.

    It runs from the throwaway AIRFLOW_HOME, so the repository's sources cannot shadow the installed
    package, and it verifies that they did not.
    """
    imports = readme_imports()
    if not imports:
        raise CheckFailed(f"no `from {PACKAGE}... import` found in the READMEs' python blocks")
    out = home / "probe.json"
    payload = json.dumps({module: sorted(names) for module, names in imports.items()})
    _run([str(VENV / "bin" / "python"), "-c", _VENV_PROBE, payload, str(out)], env=venv_env(home), cwd=home)
    result = json.loads(out.read_text())
    problems: list[str] = list(result["failures"])
    if not Path(result["package"]).is_relative_to(VENV):
        problems.append(f"imported {result['package']}, not the venv's copy")
    expected = {p.stem for p in EXAMPLE_DAGS.glob("[!_]*.py")}
    if result["import_errors"] or not expected <= set(result["dag_ids"]):
        problems.append(
            f"example DAGs in {result['examples_folder']}: {result['dag_ids']}, {result['import_errors']}"
        )
    if problems:
        raise CheckFailed("; ".join(problems))
    names = sum(len(n) for n in imports.values())
    return f"{names} names from {len(imports)} modules; example DAGs parse: {', '.join(result['dag_ids'])}"


def _start_simulator(home: Path) -> tuple[subprocess.Popen[str], str]:
    """``scorecards-simulator --port <free>`` as the first-DAG page runs it; return it and its export line."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = home / "simulator.out"
    handle = out.open("w")
    process = subprocess.Popen(
        [str(VENV / "bin" / "scorecards-simulator"), "--port", str(port)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        text=True,
        env=venv_env(home),
        cwd=home,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [ln.strip() for ln in out.read_text().splitlines() if ln.strip().startswith("export ")]
        if lines:
            return process, lines[0]
        if process.poll() is not None:
            raise CheckFailed(f"scorecards-simulator exited {process.returncode}: {out.read_text()[-1500:]}")
        time.sleep(0.1)
    process.kill()
    raise CheckFailed("scorecards-simulator printed no connection within 60 s")


def check_first_dag() -> str:
    """The first-DAG page's commands, in order, in a fresh home: simulator, export, migrate, dags test."""
    home = WORK / "first-dag-home"
    (home / "dags").mkdir(parents=True)
    process, export = _start_simulator(home)
    try:
        name, value = export.removeprefix("export ").split("=", 1)
        env = {**venv_env(home), name: value.strip("'")}
        _run([str(VENV / "bin" / "airflow"), "db", "migrate"], env=env, cwd=home)
        shutil.copy(DOCS_EXAMPLES / "first_dag.py", home / "dags" / "first_dag.py")
        result = _run([str(VENV / "bin" / "airflow"), "dags", "test", FIRST_DAG_ID], env=env, cwd=home)
    finally:
        process.terminate()
        process.wait(timeout=15)
    output = result.stdout + result.stderr
    finished = re.search(rf"DagRun Finished: dag_id={FIRST_DAG_ID},.* state=(\w+)", output)
    ran = [task for task in ("team_scores", "checkout_ready") if f"end task task_id={task} " in output]
    if not finished or finished.group(1) != "success" or len(ran) != 2:
        raise CheckFailed(
            f"`airflow dags test {FIRST_DAG_ID}`: run not successful, tasks {ran}:\n{output[-2000:]}"
        )
    return f"simulator, export {name}, db migrate, dags test {FIRST_DAG_ID}: both tasks succeeded"


def check_testing_page() -> str:
    """The testing page's tests (a DAG run, a watcher), by pytest with the wheel's plugin, as a user would."""
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(VENV / "bin" / "python"),
            "install",
            "--quiet",
            "-c",
            str(CONSTRAINTS),
            "pytest",
        ]
    )
    suite = WORK / "user-tests"
    suite.mkdir()
    for name in ("first_dag.py", "test_first_dag.py", "event_trigger.py", "test_event_trigger.py"):
        shutil.copy(DOCS_EXAMPLES / name, suite / name)
    env = {k: v for k, v in venv_env(WORK / "unused-home").items() if not k.startswith("AIRFLOW")}
    result = _run(
        [str(VENV / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)],
        env=env,
        cwd=suite,
    )
    summary = [ln for ln in result.stdout.splitlines() if " passed" in ln]
    return f"pytest of the testing page's tests: {summary[-1] if summary else result.stdout[-200:]}"


# -- the run -------------------------------------------------------------------------------------------------


def _skipped(names: Iterable[str], reason: str) -> list[Check]:
    return [Check(name, None, reason, 0.0) for name in names]


def print_table(checks: list[Check], total: float) -> None:
    width = max(len(c.name) for c in checks)
    print(f"\nmake dist: {DISTRIBUTION}, Airflow {AIRFLOW_VERSION}\n")
    print(f"{'check':<{width}}  result  {'s':>5}  detail")
    print(f"{'-' * width}  ------  {'-' * 5}  {'-' * 40}")
    for check in checks:
        result = {True: "ok", False: "FAILED", None: "skip"}[check.ok]
        lines = check.detail.splitlines() or [""]
        print(f"{check.name:<{width}}  {result:<6}  {check.seconds:5.1f}  {lines[0]}")
        for line in lines[1:]:
            print(f"{'':<{width}}  {'':<6}  {'':>5}  {line}")
    failed = sum(1 for c in checks if c.ok is not True)
    print(f"\n{len(checks) - failed} of {len(checks)} checks passed in {total:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-venv", action="store_true", help="skip the fresh-virtualenv stage")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    checks: list[Check] = []
    venv_names = [
        "venv: install Airflow + wheel",
        "venv: airflow providers list",
        "venv: connection type",
        "venv: scorecards-simulator",
        "venv: README imports, example DAGs",
        "venv: first DAG (the docs' commands)",
        "venv: testing page's test (pytest)",
    ]

    try:
        version = read_version()
    except CheckFailed as exc:
        print(f"make dist: {exc}", file=sys.stderr)
        return 1
    built_holder: list[Built] = []

    def do_build() -> str:
        built, detail = build(version)
        built_holder.append(built)
        return detail

    checks.append(_timed("build sdist + wheel", do_build))
    if not built_holder:
        checks += _skipped(["twine check", "wheel contents", "metadata", "sdist contents"], "no build")
        checks += _skipped([] if args.no_venv else venv_names, "no build")
        print_table(checks, time.perf_counter() - start)
        return 1
    built = built_holder[0]

    with ThreadPoolExecutor(max_workers=2) as pool:
        # The venv install (network and disk bound) runs while the archives are inspected.
        install: Future[Check] | None = None
        if not args.no_venv:
            install = pool.submit(_timed, venv_names[0], lambda: install_venv(built))
        checks.append(_timed("twine check", lambda: check_twine(built)))
        checks.append(_timed("wheel contents", lambda: check_wheel_files(built, version)))
        checks.append(_timed("metadata", lambda: check_metadata(built, version)))
        checks.append(_timed("sdist contents", lambda: check_sdist(built, version)))
        if install is not None:
            installed = install.result()
            checks.append(installed)
            if not installed.ok:
                checks += _skipped(venv_names[1:], "no venv")
            else:
                home = WORK / "airflow-home"
                (home / "dags").mkdir(parents=True)
                # The first Airflow command runs alone beside the simulator (which needs no Airflow): it
                # writes the bytecode the two after it then share.
                sim = pool.submit(_timed, venv_names[3], lambda: check_simulator(home))
                listed = _timed(venv_names[1], lambda: check_providers_list(home, version))
                hooks = pool.submit(_timed, venv_names[2], lambda: check_connection_type(home))
                probe = _timed(venv_names[4], lambda: check_imports_and_examples(home))
                checks += [listed, hooks.result(), sim.result(), probe]
                checks.append(_timed(venv_names[5], check_first_dag))
                checks.append(_timed(venv_names[6], check_testing_page))

    print_table(checks, time.perf_counter() - start)
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
