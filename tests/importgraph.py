"""The project's import graph, read from the source (ast), for the layering tests.

Every module under the folders setup.cfg maps into ``govcred.*`` is a node; an edge is an
``import`` or ``from ... import`` anywhere in a module (at module level or inside a
function: a function-level import still ties the two modules together), except under
``if TYPE_CHECKING:``, which never runs. ``from package import name`` is an edge to the
submodule ``package.name`` when there is one, else to ``package``. Importing a submodule
also runs its package's ``__init__``, but that implicit step is not an edge: counting it
would make every package that re-exports from its own submodules a cycle.
"""

from __future__ import annotations

import ast
import configparser
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def package_roots(repo: Path = REPO) -> dict[str, Path]:
    """``{"govcred.core": repo/"core", ...}`` from setup.cfg's ``package_dir``."""
    cfg = configparser.ConfigParser()
    cfg.read(repo / "setup.cfg")
    roots = {}
    for line in cfg["options"]["package_dir"].strip().splitlines():
        name, _, folder = (part.strip() for part in line.partition("="))
        roots[name] = repo / folder
    return roots


def project_modules(roots: dict[str, Path]) -> dict[str, Path]:
    """Every module's dotted name and file."""
    modules = {}
    for package, folder in roots.items():
        # a folder mapped under its own name (core/testing -> govcred.testing) is not also
        # a subpackage of the folder it sits in
        nested = [other for other in roots.values() if other != folder and other.is_relative_to(folder)]
        for path in sorted(folder.rglob("*.py")):
            if any(path.is_relative_to(other) for other in nested):
                continue
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


@dataclass(frozen=True)
class Import:
    target: str  # the dotted name imported (the submodule, when the name is one)
    line: int


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, path: Path, known: set[str] | frozenset[str] = frozenset()) -> list[Import]:
    """What ``module`` (source at ``path``) imports; relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(sub if sub in known else base, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def govcred_imports(modules: dict[str, Path]) -> dict[str, list[Import]]:
    """Each module's imports of ``govcred.*`` names (project modules or not)."""
    known = set(modules)
    return {
        name: [i for i in imports_of(name, path, known) if i.target.split(".")[0] == "govcred"]
        for name, path in modules.items()
    }


def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    return {
        name: {i.target for i in found if i.target in modules and i.target != name}
        for name, found in govcred_imports(modules).items()
    }


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle, as one closed path per strongly connected component (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    components.append(component)
    return [_closed_path(edges, component) for component in components]


def _closed_path(edges: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, to print."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges.get(node, ())):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child in component and child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a component always has one
