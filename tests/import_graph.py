"""The import graph of a source tree, read with ``ast``, and the import cycles in it.

Every ``import`` and ``from … import`` counts, wherever it is written: at the top of a module,
inside a function or method, under ``if TYPE_CHECKING``. An import deferred into a function body
still ties the two modules together (whichever is loaded first, the other's code runs with it
half-built, and neither can be understood or moved alone), so a cycle through one is a cycle.

Imports name modules, never packages' parents: ``import a.b.c`` is an edge to ``a.b.c`` only
(the interpreter also runs ``a`` and ``a.b``'s ``__init__``, but counting those would make every
module of a package depend on everything the package's ``__init__`` imports). ``from a.b import
c`` is an edge to the module ``a.b.c`` when there is one, else to ``a.b`` (``c`` is a name in
it). Relative imports are resolved against the importing module's package. Imports of modules
outside the tree (the standard library, Django) are left out. Imports made by name at run time
(``importlib.import_module``, Django's app loading) are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable, Mapping


def module_paths(source_root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``source_root`` (a ``src`` folder): dotted name → file.
    A package is named by its ``__init__.py``."""
    modules: dict[str, Path] = {}
    for path in sorted((source_root / package).rglob("*.py")):
        parts = list(path.relative_to(source_root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: Path, modules: Mapping[str, Path]) -> dict[str, int]:
    """The modules of the tree that ``module`` (read from ``path``) imports anywhere in its body,
    itself left out, each with the line of its first import there."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # The package a relative import starts from: a package's own name for its __init__.py.
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, resolve(alias.name, modules)) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(node, package, path)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                # `from a import b`: the module a.b when there is one, else the name b of a.
                found.append((node.lineno, submodule if submodule in modules else resolve(source, modules)))
    lines: dict[str, int] = {}
    for line, target in sorted(found, key=lambda item: item[0]):
        if target is not None and target != module:
            lines.setdefault(target, line)
    return lines


def _absolute(node: ast.ImportFrom, package: str, path: Path) -> str:
    """The absolute name of the module a ``from … import`` reads from."""
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts):
        raise ValueError(f"{path}:{node.lineno}: relative import beyond the top package")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def resolve(name: str, modules: Mapping[str, Path]) -> str | None:
    """The module of the tree that ``name`` is or is inside of (``a.b.C`` → ``a.b``), or None
    when it is outside the tree."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(source_root: Path, package: str) -> dict[str, dict[str, int]]:
    """Module → the modules of the tree it imports, each with the line of its first import."""
    modules = module_paths(source_root, package)
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (each a set of modules that
    all reach each other through imports), each sorted, largest first. Tarjan's algorithm,
    iterative so a deep chain of imports cannot reach the recursion limit."""
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph.get(successor, ()))))
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    lowlink[parent] = min(lowlink[parent], lowlink[node])
                if lowlink[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found, key=lambda component: (-len(component), component))


def describe(component: list[str], graph: Mapping[str, Iterable[str]]) -> str:
    """A cycle for a failure message: each member and which members it imports (with the line
    of the first such import when the graph has them)."""
    members = set(component)
    lines = [f"{len(component)} modules import each other:"]
    for module in component:
        imported = graph.get(module, ())
        inside = sorted(set(imported) & members)
        where = [f"{name} (line {imported[name]})" if isinstance(imported, Mapping) else name for name in inside]
        lines.append(f"  {module} -> {', '.join(where)}")
    return "\n".join(lines)
