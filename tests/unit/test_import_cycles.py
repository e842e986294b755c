"""No two modules of Assina import each other, directly or through others, counting the imports
written inside functions (import-linter's contracts see those too, but say nothing about cycles
inside one layer, e.g. between two modules of one app)."""

from pathlib import Path

from import_graph import cycles, describe, import_graph

SOURCE_ROOT = Path(__file__).parents[2] / "src"

# Cycles tolerated for now, each a frozenset of the modules in it, with why and the issue that
# removes it. A cycle that goes away must leave this list, and the list should stay empty.
ALLOWED_CYCLES: list[frozenset[str]] = []


def test_no_import_cycle_in_assina() -> None:
    graph = import_graph(SOURCE_ROOT, "assina")
    unexpected = [component for component in cycles(graph) if frozenset(component) not in ALLOWED_CYCLES]
    assert not unexpected, "Import cycles (break them: move the shared part down a layer, or " \
        "publish a fact through assina.dispatch):\n" + "\n".join(describe(c, graph) for c in unexpected)


def test_allowed_cycles_still_exist() -> None:
    # An allowance left behind after its cycle was broken would let the cycle come back unseen.
    found = {frozenset(component) for component in cycles(import_graph(SOURCE_ROOT, "assina"))}
    assert [sorted(allowed) for allowed in ALLOWED_CYCLES if allowed not in found] == []


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_an_import_inside_a_function_makes_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def settle():\n    from pkg.high import react\n    react()\n",
        "pkg/high.py": "import pkg.low\n\ndef react():\n    pass\n",
    })  # fmt: skip
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.low"] == {"pkg.high": 2}
    assert cycles(graph) == [["pkg.high", "pkg.low"]]


def test_relative_imports_and_modules_imported_from_a_package(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "from .app import models\n",
        "pkg/app/__init__.py": "from . import models\nfrom .. import time\n",
        "pkg/app/models.py": "from pkg.app import SOMETHING\nfrom ..time import now\n",
        "pkg/app/services.py": "from . import models as m, helper_name\nfrom pkg import time\n",
        "pkg/time.py": "import pkg.app.models.Model\n",
    })  # fmt: skip
    graph = import_graph(tmp_path, "pkg")
    assert {module: set(imported) for module, imported in graph.items()} == {
        "pkg": {"pkg.app.models"},
        "pkg.app": {"pkg.app.models", "pkg.time"},
        # A name of a package's __init__ is an import of the package.
        "pkg.app.models": {"pkg.app", "pkg.time"},
        # `helper_name` is not a module: a name of pkg.app.
        "pkg.app.services": {"pkg.app.models", "pkg.app", "pkg.time"},
        # A dotted name past a module (a class) is an import of that module.
        "pkg.time": {"pkg.app.models"},
    }
    assert cycles(graph) == [["pkg.app", "pkg.app.models", "pkg.time"]]


def test_no_cycle_in_a_tree_that_imports_one_way(tmp_path: Path) -> None:
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "import os\nfrom pkg import b\n",
        "pkg/b.py": "from django.db import models\nfrom . import c\n",
        "pkg/c.py": "",
    })  # fmt: skip
    assert cycles(import_graph(tmp_path, "pkg")) == []
