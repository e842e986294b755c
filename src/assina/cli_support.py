"""What an app's ``cli.py`` uses to add its commands to ``assina``: the ``CliBuilder`` its
``register(cli)`` receives, and the helpers the handlers share (times typed in, times printed).

``assina.cli`` builds the parser and hands each app's ``register`` a builder; an app never
imports ``assina.cli`` (that module imports the apps' commands). No Django import at module
level, here or in an app's ``cli.py``: the parser is built before Django is set up.
"""

from __future__ import annotations

import argparse
import gettext as _gettext
import math
import os
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
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


# --- bounded argument types ---------------------------------------------------------------
# The CLI takes the same bounds as the API (issue 14): a value outside them is a usage error
# (exit 2, "argument --quantity: ..."), refused by argparse before Django is set up or anything
# is read or written. ``assina.cli``'s parser gives every argument without a type ``text()`` and
# bounds every plain ``int``, so an app's argument is bounded even when it names no bound.

MAX_TEXT = 1_000  # any text argument without a bound of its own
MAX_QUANTITY = 1_000_000  # as the API's quantity (subscriptions.api)
INT64 = 2**63 - 1  # the largest integer a database column holds
# The API's lengths, named once for the apps' arguments.
EMAIL = 254  # an email, or an id given instead of one
NAME = 200  # names, reasons, labels
CODE = 64  # plan, coupon, metric codes; invoice numbers
ID = 40  # sub_1, pm_1, cus_1
AMOUNT = 32  # an amount typed in decimals (49.90)
DATE = 64  # a date or time, parsed later (parse_time)
CARD = 32  # a sandbox test card number, spaces allowed


@cache
def _catalog() -> _gettext.NullTranslations:
    """The shared catalog, read without Django: these errors are raised while parsing, before
    Django is set up. The language is ``ASSINA_LANGUAGE``, as for every other message."""
    language = os.environ.get("ASSINA_LANGUAGE", "en").strip().lower().replace("_", "-")
    if language != "pt-br":
        return _gettext.NullTranslations()
    return _gettext.translation("django", Path(__file__).with_name("locale"), languages=["pt_BR"], fallback=True)


def _(message: str) -> str:
    return _catalog().gettext(message)


def _count(value: int | float) -> str:
    """A number as the messages show it: 1,000,000 in English, 1.000.000 in Portuguese."""
    shown = f"{value:,}"
    if isinstance(_catalog(), _gettext.GNUTranslations):
        shown = shown.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return shown


def not_utf8(text: str) -> bool:
    """Whether ``text`` came from bytes that are not UTF-8 (Python keeps them as lone surrogates)."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def text(max_length: int = MAX_TEXT) -> Callable[[str], str]:
    """An argparse type: UTF-8 text of at most ``max_length`` characters."""

    def bounded_text(value: str) -> str:
        if not_utf8(value):
            raise argparse.ArgumentTypeError(_("not valid UTF-8 text"))
        if "\x00" in value:
            raise argparse.ArgumentTypeError(_("contains a NUL character"))
        if len(value) > max_length:
            raise argparse.ArgumentTypeError(_("longer than %(max)s characters (%(length)s given)")
                                             % {"max": _count(max_length), "length": _count(len(value))})
        return value

    bounded_text.max_length = max_length  # type: ignore[attr-defined]
    return bounded_text


def integer(minimum: int = -INT64, maximum: int = INT64) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""

    def bounded_integer(value: str) -> int:
        raw = value.strip()
        # int() reads up to 4,300 digits; a longer text is not a number the CLI wants anyway.
        if not_utf8(raw) or len(raw) > 40 or not raw.lstrip("+-").isdigit():
            raise argparse.ArgumentTypeError(_("%(value)s is not a whole number") % {"value": _shown(value)})
        number = int(raw)
        if not minimum <= number <= maximum:
            raise argparse.ArgumentTypeError(_("must be from %(min)s to %(max)s (%(value)s given)")
                                             % {"min": _count(minimum), "max": _count(maximum), "value": _shown(value)})
        return number

    return bounded_integer


def number(minimum: float, maximum: float) -> Callable[[str], float]:
    """An argparse type: a finite decimal number from ``minimum`` to ``maximum``."""

    def bounded_number(value: str) -> float:
        try:
            parsed = float(value) if len(value) <= 40 and not not_utf8(value) else math.nan
        except ValueError:
            parsed = math.nan
        if not math.isfinite(parsed):
            raise argparse.ArgumentTypeError(_("%(value)s is not a number") % {"value": _shown(value)})
        if not minimum <= parsed <= maximum:
            raise argparse.ArgumentTypeError(_("must be from %(min)s to %(max)s (%(value)s given)")
                                             % {"min": _count(minimum), "max": _count(maximum), "value": _shown(value)})
        return parsed

    return bounded_number


def date_or_time(value: str) -> str:
    """An argparse type: a date or time (as ``parse_time`` reads it) in the years 1970 to 2099
    (``assina.core.input_bounds``). The text itself is returned; the handler reads it with
    ``parse_time`` once Django is set up, in the business time zone."""
    from assina.core.input_bounds import EARLIEST, LATEST, date_in_bounds

    text(DATE)(value)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(_("'%(text)s' is not a date or time (use 2027-06-01 or 2027-06-01T10:00:00Z)")
                                         % {"text": value}) from None
    try:  # a date without a zone is in the business time zone, at most a day away from UTC
        inside = date_in_bounds(parsed) if parsed.tzinfo else EARLIEST.year <= parsed.year < LATEST.year
    except OverflowError:
        inside = False
    if not inside:
        raise argparse.ArgumentTypeError(_("the date %(date)s must fall between the years %(earliest)s and %(latest)s")
                                         % {"date": value, "earliest": EARLIEST.year, "latest": LATEST.year - 1})
    return value


QUANTITY = integer(1, MAX_QUANTITY)


def _shown(value: str) -> str:
    """A value as an error message quotes it: short, and printable whatever it held."""
    value = value.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
    return repr(value if len(value) <= 40 else value[:40] + "...")


def parse_time(text: str) -> datetime:
    """Accept 2027-06-01, 2027-06-01T10:00, 2027-06-01T10:00:00Z; dates without a zone are in
    the business time zone."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils.translation import gettext as _

    from assina.core.errors import DomainError
    from assina.core.input_bounds import EARLIEST, LATEST, date_in_bounds

    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(_("'%(text)s' is not a date or time (use 2027-06-01 or 2027-06-01T10:00:00Z)")
                          % {"text": text}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    try:
        parsed = parsed.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01 in a zone east of UTC
        parsed = None
    if parsed is None or not date_in_bounds(parsed):
        raise DomainError(_("the date %(date)s must fall between the years %(earliest)s and %(latest)s")
                          % {"date": text, "earliest": EARLIEST.year, "latest": LATEST.year - 1})
    return parsed


def iso(value: datetime | None) -> str | None:
    """A time as the commands print it: ISO 8601 in UTC with a Z."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None
