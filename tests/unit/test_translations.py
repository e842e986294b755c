"""The Brazilian Portuguese catalogs are complete and compiled: every message the code marks for
translation (``_``, ``gettext*``, ``pgettext*``, ``ngettext*``, and the core's ``N_``) has a
translation that is not fuzzy in the catalog that holds its file's messages, and each committed
``django.mo`` says what its ``django.po`` says.

An app with its own ``locale`` folder keeps its messages there; the shared catalog in
``src/assina/locale`` holds the rest. ``tools/messages`` extracts and compiles them."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

SRC = Path(__file__).parents[2] / "src" / "assina"
CATALOG_ROOTS = sorted({path.parents[3] for path in SRC.rglob("locale/pt_BR/LC_MESSAGES/django.po")})
MARKERS = {"_", "N_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
CONTEXT_MARKERS = {"pgettext", "pgettext_lazy"}


def _messages_dir(root: Path) -> Path:
    return root / "locale" / "pt_BR" / "LC_MESSAGES"


def _catalog(root: Path = SRC):
    with open(_messages_dir(root) / "django.po", "rb") as po:
        return read_po(po)


def _root_of(path: Path) -> Path:
    """The folder whose catalog holds the messages of ``path``: its nearest one with a catalog."""
    return max((root for root in CATALOG_ROOTS if root in path.parents), key=lambda root: len(root.parts))


def _marked_in_code() -> list[tuple[Path, str | None, str]]:
    """(file, context, msgid) of every literal message marked for translation in the code."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            # Leading string literals: (msgid, ...) or, with a context marker, (context, msgid, ...).
            literals = []
            for arg in node.args:
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    break
                literals.append(arg.value)
            if node.func.id in MARKERS and literals:
                found.append((path, None, literals[0]))
            elif node.func.id in CONTEXT_MARKERS and len(literals) >= 2:
                found.append((path, literals[0], literals[1]))
    return found


def test_every_message_the_code_marks_is_translated():
    catalogs = {root: _catalog(root) for root in CATALOG_ROOTS}
    marked = _marked_in_code()
    assert len(marked) > 300  # the scan found the code's messages
    missing = []
    for path, context, msgid in marked:
        entry = catalogs[_root_of(path)].get(msgid, context=context)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (getattr(entry, "string", ""),)
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"{path.relative_to(SRC)}: {msgid!r}")
    assert not missing, "run tools/messages and translate:\n" + "\n".join(missing)


def test_no_catalog_entry_is_fuzzy_or_empty():
    bad = [(str(root.relative_to(SRC)), m.id) for root in CATALOG_ROOTS for m in _catalog(root)
           if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else (m.string,)))]
    assert not bad


@pytest.mark.parametrize("root", CATALOG_ROOTS, ids=lambda root: "core" if root == SRC else root.name)
def test_the_compiled_catalog_matches_the_source_catalog(root):
    with open(_messages_dir(root) / "django.mo", "rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for entry in _catalog(root):
        if not entry.id:
            continue
        if isinstance(entry.id, tuple):
            singular, plural = entry.id
            shown = (compiled.ngettext(singular, plural, 1), compiled.ngettext(singular, plural, 2))
        elif entry.context:
            shown = compiled.pgettext(entry.context, entry.id)
        else:
            shown = compiled.gettext(entry.id)
        assert shown == entry.string, f"django.mo is stale for {entry.id!r}: run tools/messages"
