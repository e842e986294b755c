"""Reading an import file: its header, its rows with their line numbers, and the values every
import shares (times, e-mails). No writes; messages in the active language."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone

from django.utils.translation import gettext as _

# At most this many problems are kept (a file of a million bad rows is reported by its first ones
# and its count).
MAX_ERRORS = 1000


@dataclass
class Problems:
    """Bad rows found so far, by line; ``count`` counts them all, ``rows`` keeps the first ones."""

    rows: list[dict] = field(default_factory=list)
    count: int = 0

    def add(self, line: int, message: str) -> None:
        self.count += 1
        if len(self.rows) < MAX_ERRORS:
            self.rows.append({"line": line, "error": message})

    def __bool__(self) -> bool:
        return self.count > 0

    def sorted(self) -> list[dict]:
        return sorted(self.rows, key=lambda e: e["line"])


class Table:
    """A CSV file's header and rows: ``index[name]`` is a column's position (None when absent)."""

    def __init__(self, data: str, required: tuple[str, ...], optional: tuple[str, ...], problems: Problems):
        self.reader = csv.reader(io.StringIO(data, newline=""))
        try:
            header = next(self.reader)
        except StopIteration:
            header = []
        except csv.Error as exc:
            header = []
            problems.add(1, _("not a CSV file: %(error)s") % {"error": exc})
        names = [h.strip().lower().lstrip("\ufeff") for h in header]
        self.index = {name: (names.index(name) if name in names else None) for name in (*required, *optional)}
        self.width = len(names)
        missing = [name for name in required if self.index[name] is None]
        self.ok = bool(header) and not missing
        if header and missing:
            problems.add(1, _("missing columns: %(columns)s (the first line names the columns)")
                         % {"columns": ", ".join(missing)})
        elif not header and not problems:
            problems.add(1, _("the file is empty (the first line names the columns)"))

    def rows(self, problems: Problems):
        """(line number, row) for each non-empty row; a row of the wrong width is a problem."""
        reader = self.reader
        width = self.width
        try:
            for row in reader:
                if len(row) != width:
                    if not any(cell.strip() for cell in row):
                        continue
                    problems.add(reader.line_num, _("%(count)d values where the header names %(width)d")
                                 % {"count": len(row), "width": width})
                    continue
                yield reader.line_num, row
        except csv.Error as exc:
            problems.add(reader.line_num, _("not a CSV row: %(error)s") % {"error": exc})

    def get(self, row: list[str], name: str) -> str:
        at = self.index[name]
        return row[at].strip() if at is not None else ""


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time ("2024-03-01", "2024-03-01 10:00:00", "2024-03-01T10:00:00Z",
    with or without an offset; UTC when none) or Unix seconds ("1709287200"); ValueError if not."""
    text = text.strip()
    if not text:
        raise ValueError(text)
    if text.isdigit():
        return datetime.fromtimestamp(int(text), tz=timezone.utc)
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def bad_time(column: str, text: str) -> str:
    return (_("%(column)s %(value)s is not a date or time (2024-03-01 or 2024-03-01T10:00:00Z)")
            % {"column": column, "value": repr(text)})


def in_future(column: str, value: datetime) -> str:
    return _("%(column)s %(value)s is in the future") % {"column": column, "value": value.isoformat()}
