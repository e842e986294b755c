"""What an app's ``cli.py`` uses to add its commands to ``assina``: the ``CliBuilder`` its
``register(cli)`` receives, and the helpers the handlers share (times typed in, times printed).

``assina.cli`` builds the parser and hands each app's ``register`` a builder; an app never
imports ``assina.cli`` (that module imports the apps' commands). No Django import at module
level, here or in an app's ``cli.py``: the parser is built before Django is set up.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from typing import Any, Callable

Handler = Callable[[argparse.Namespace], Any]
Printer = Callable[[Any], None]


class CliBuilder:
    """What an app's ``register(cli)`` uses to add its commands."""

    def __init__(self, top, add: Callable[..., argparse.ArgumentParser]):
        self._top = top
        self._groups: dict[str, Any] = {}
        self._add = add
        self.commands: dict[str, Handler] = {}
        self.printers: dict[str, Printer] = {}

    def group(self, name: str, help: str):
        """The subparsers of group ``name`` (``assina NAME ACTION``), created when new."""
        if name not in self._groups:
            self._groups[name] = self._top.add_parser(name, help=help).add_subparsers(dest="action", required=True)
        return self._groups[name]

    def add(self, name: str, help: str, group=None) -> argparse.ArgumentParser:
        """A command: ``assina NAME`` or, with ``group``, ``assina GROUP NAME``. Register its
        handler with ``@cli.command("GROUP NAME")`` (or ``"NAME"``); it returns what is printed."""
        return self._add(name, help, group) if group is not None else self._add(name, help)

    def command(self, name: str, *, human: Printer | None = None) -> Callable[[Handler], Handler]:
        """Register the handler of ``name``. Its result is printed as JSON with ``--json``;
        otherwise by ``human`` when given, else one ``key: value`` line per item."""

        def register(fn: Handler) -> Handler:
            self.commands[name] = fn
            if human is not None:
                self.printers[name] = human
            return fn

        return register


def parse_time(text: str) -> datetime:
    """Accept 2027-06-01, 2027-06-01T10:00, 2027-06-01T10:00:00Z; dates without a zone are in
    the business time zone."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils.translation import gettext as _

    from assina.core.errors import DomainError

    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(_("'%(text)s' is not a date or time (use 2027-06-01 or 2027-06-01T10:00:00Z)")
                          % {"text": text}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return parsed.astimezone(timezone.utc)


def iso(value: datetime | None) -> str | None:
    """A time as the commands print it: ISO 8601 in UTC with a Z."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None
