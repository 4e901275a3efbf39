"""The package's layout rules, read from its source with ``ast``: no import circles, small modules.

An import counts wherever it runs, at module level or inside a function; imports under
``if TYPE_CHECKING:`` never run and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[2] / "airflow_provider_scorecards"

MAX_MODULE_LINES = 400


def _modules() -> dict[str, Path]:
    """Every module by dotted name under the package (``client.pages``; a package by its own name)."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return skipped


def import_graph() -> dict[str, set[str]]:
    """Which of the package's modules each module imports, at run time."""
    modules = _modules()
    prefix = f"{PACKAGE.name}."
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                local = target.removeprefix(prefix)
                while local and local not in modules:  # a name imported from a module: the module
                    local = local.rpartition(".")[0]
                if target.startswith(prefix) and local and local != name:
                    graph[name].add(local)
    return graph


def circles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in graph[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while (member := stack.pop()) != module:
                component.append(member)
            if component:
                found.add(frozenset([module, *component]))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_import_circles() -> None:
    assert circles(import_graph()) == set()


def test_the_graph_sees_function_level_imports() -> None:
    graph = {"a": {"b"}, "b": set()}
    assert circles(graph) == set()
    assert circles({**graph, "b": {"a"}}) == {frozenset({"a", "b"})}
    assert "hooks.scorecards" in import_graph()["operators.base"]  # imported inside a method only


def test_no_module_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_MODULE_LINES} == {}


def test_at_most_one_module_level_getattr() -> None:
    """Only ``client/__init__.py`` loads names on first use, for the DAG-parse budget (ARCHITECTURE.md)."""
    loaders = [
        name
        for name, path in _modules().items()
        if any(
            isinstance(node, ast.FunctionDef) and node.name == "__getattr__"
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        )
    ]
    assert loaders == ["client"]
