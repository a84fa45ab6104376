"""The import graph of ``src/assay`` has no loop: no module imports (while it loads, or
later from inside a function) a module that, directly or through others, imports it
back; and no package of ``assay`` depends at load time on another that depends on it.

An import inside a function is a loop all the same when it reaches back: it only hides
the loop from Python's loader, not from the next person to change either module (the
suite registry once imported every suite from inside ``get_suite``, and every suite
imported the registry). Imports under ``if TYPE_CHECKING:`` are left out: they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "assay"


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def _imports(path: Path, name: str, is_package: bool, known: set[str], *, late: bool) -> set[str]:
    """The assay modules ``name`` imports: at load time, and also from inside its
    functions when ``late``."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not late:
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    module = node.module or ""
                # `from package import submodule` loads the submodule; any other name
                # comes from the package itself
                names = [alias.name for alias in node.names]
                submodules = {f"{module}.{n}" for n in names if f"{module}.{n}" in known}
                found.update(submodules)
                if len(submodules) < len(names):
                    found.add(module)
            # statements nested in this one: class and function bodies, branches, handlers
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])
                elif isinstance(child, ast.ExceptHandler | ast.match_case):
                    visit(child.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return (found & known) - {name}


def _graph(*, late: bool) -> dict[str, set[str]]:
    modules = _modules(SRC)
    known = set(modules)
    return {
        name: _imports(path, name, is_package, known, late=late)
        for name, (path, is_package) in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return cycles


def _packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    def package(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, imported in graph.items():
        for other in imported:
            if package(other) != package(module):
                packages.setdefault(package(module), set()).add(package(other))
    return packages


def test_no_module_imports_itself_back() -> None:
    graph = _graph(late=True)
    assert len(graph) > 150  # the walk found the source tree
    assert _cycles(graph) == []


def test_no_two_packages_depend_on_each_other_while_loading() -> None:
    packages = _packages(_graph(late=False))
    # assay.audit loads assay.report only from inside the functions that build reports
    assert "assay.audit" in packages and "assay.policy" in packages["assay.audit"]
    assert "assay.report" not in packages["assay.audit"]
    assert _cycles(packages) == []


def test_no_two_packages_depend_on_each_other() -> None:
    packages = _packages(_graph(late=True))
    assert "assay.report" in packages["assay.audit"]
    assert _cycles(packages) == []


def test_imports_inside_functions_and_classes_are_found(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import p.typing_only\n"
        "import p.top\n"
        "class C:\n"
        "    import p.in_class\n"
        "def f():\n"
        "    try:\n"
        "        from p import late\n"
        "    except ImportError:\n"
        "        from p.fallback import name\n"
    )
    known = {"p", "p.top", "p.in_class", "p.late", "p.fallback", "p.typing_only"}
    loading = {"p.top", "p.in_class"}
    assert _imports(source, "m", False, known, late=False) == loading
    assert _imports(source, "m", False, known, late=True) == loading | {"p.late", "p.fallback"}


def test_the_cycle_finder_finds_a_loop_through_a_package_init() -> None:
    # a submodule importing a name from its own package's __init__, which imports it
    graph = {
        "p": {"p._a"},
        "p._a": {"p"},
        "q": {"p"},
    }
    assert _cycles(graph) == [["p", "p._a"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
