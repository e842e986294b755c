"""Every durable event type the code records is declared by exactly one app's ``events.py``
(``EVENT_TYPES``), an app that records it itself; and every declared type is recorded somewhere.

The recorded types are read from the source: the first argument of ``record(...)`` and
``event_row(...)``, the event type given to the admin's ``save_descriptive_fields(...)``, and
the first item of the event rows written in bulk (six-item tuples in ``EVENT_FIELDS`` order).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).parents[2] / "src" / "assina"
EVENT_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
ROW_LENGTH = 6  # ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")


def _app_of(path: Path) -> str:
    return path.relative_to(SRC).parts[0]


def _recorded() -> dict[str, set[str]]:
    """Event type → the apps whose code records it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            literal = None
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if name in ("record", "event_row") and node.args:
                    literal = node.args[0]
                elif name == "save_descriptive_fields" and len(node.args) >= 3:
                    literal = node.args[2]
            elif isinstance(node, ast.Tuple) and len(node.elts) == ROW_LENGTH:
                literal = node.elts[0]
            if isinstance(literal, ast.Constant) and isinstance(literal.value, str) and EVENT_TYPE.match(literal.value):
                found[literal.value].add(_app_of(path))
    return found


def _declared() -> dict[str, tuple[str, ...]]:
    """App → the ``EVENT_TYPES`` of its ``events.py``."""
    declared = {}
    for path in sorted(SRC.glob("*/events.py")):
        app = _app_of(path)
        declared[app] = importlib.import_module(f"assina.{app}.events").EVENT_TYPES
    return declared


def test_the_scan_finds_the_recorded_events():
    recorded = _recorded()
    assert len(recorded) > 40
    assert recorded["subscription.created"] == {"subscriptions"}  # record("...", ...)
    assert "subscriptions" in recorded["subscription.updated"]  # bulk rows of the billing run
    assert recorded["product.updated"] == {"catalog"}  # the admin's save_descriptive_fields


def test_each_apps_event_types_are_well_formed_and_listed_once():
    for app, types in _declared().items():
        assert isinstance(types, tuple), app
        assert all(EVENT_TYPE.match(t) for t in types), app
        assert len(set(types)) == len(types), app


def test_every_recorded_event_type_is_declared_by_exactly_one_app_that_records_it():
    declared_by: dict[str, list[str]] = defaultdict(list)
    for app, types in _declared().items():
        for event_type in types:
            declared_by[event_type].append(app)
    problems = []
    for event_type, apps in sorted(_recorded().items()):
        owners = declared_by.get(event_type, [])
        if len(owners) != 1:
            problems.append(f"{event_type}: recorded by {sorted(apps)}, declared by {owners or 'no app'}")
        elif owners[0] not in apps:
            problems.append(f"{event_type}: declared by {owners[0]}, which does not record it ({sorted(apps)} do)")
    assert not problems, "\n".join(problems)


def test_every_declared_event_type_is_recorded():
    recorded = _recorded()
    stale = [f"{app}: {t}" for app, types in _declared().items() for t in types if t not in recorded]
    assert not stale
