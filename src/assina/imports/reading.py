"""Reading an import file: its header, its rows with their line numbers, and the values every
import shares (times, e-mails). No writes; messages in the active language."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
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


# A column of one fixed-width ISO shape is checked and converted by NumPy over its bytes, position
# by position: "2024-03-01", "2024-03-01 10:00:00" or "2024-03-01T10:00:00", optionally with six
# fraction digits, optionally ending in Z (UTC either way). Digit positions ("d") and the
# characters allowed at the others, by the text's length:
_SHAPES = {10: "dddd-dd-dd", 19: "dddd-dd-dd dd:dd:dd", 20: "dddd-dd-dd dd:dd:ddZ",
           26: "dddd-dd-dd dd:dd:dd.dddddd", 27: "dddd-dd-dd dd:dd:dd.ddddddZ"}
_ALLOWED = {" ": b" T", "Z": b"Zz"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def _digits(d: np.ndarray, start: int, stop: int) -> np.ndarray:
    out = d[start].astype(np.int64)
    for at in range(start + 1, stop):
        out *= 10
        out += d[at]
    return out


def _fixed_iso(texts: list[str]) -> np.ndarray | None:
    """Microseconds since the epoch of a column of one ``_SHAPES`` shape; None when the column
    is not of one shape or a value is out of range (what ``datetime.fromisoformat`` refuses)."""
    width = len(texts[0])
    shape = _SHAPES.get(width)
    if shape is None or set(map(len, texts)) != {width}:
        return None
    raw = "".join(texts).encode("ascii", "replace")
    # By position (each contiguous), minus "0": below "0" wraps round, so one comparison checks a digit.
    b = np.ascontiguousarray(np.frombuffer(raw, dtype=np.uint8).reshape(len(texts), width).T)
    d = b - np.uint8(48)
    for at, kind in enumerate(shape):
        if kind == "d":
            if d[at].max() > 9:
                return None
        elif not np.isin(b[at], np.frombuffer(_ALLOWED.get(kind, kind.encode()), dtype=np.uint8)).all():
            return None
    year, month, day = _digits(d, 0, 4), _digits(d, 5, 7), _digits(d, 8, 10)
    if year.min() < 1 or month.min() < 1 or month.max() > 12:
        return None
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]").astype(np.int64)
    length = (months + 1).astype("datetime64[D]").astype(np.int64) - first
    if day.min() < 1 or (day > length).any():
        return None
    micros = (first + day - 1) * 86_400_000_000
    if width >= 19:
        hour, minute, second = _digits(d, 11, 13), _digits(d, 14, 16), _digits(d, 17, 19)
        if hour.max() > 23 or minute.max() > 59 or second.max() > 59:
            return None
        micros += ((hour * 60 + minute) * 60 + second) * 1_000_000
    if width >= 26:
        micros += _digits(d, 20, 26)
    return micros


def parse_times(texts: list[str]) -> np.ndarray | None:
    """``parse_time`` of a whole column: int64 microseconds since the epoch (UTC), or None when
    some text is not a time (the caller then checks row by row to say which)."""
    if not texts:
        return np.zeros(0, dtype=np.int64)
    micros = _fixed_iso(texts)
    if micros is not None:
        return micros
    # Any other shape (Unix seconds, offsets, mixed columns): each distinct text once.
    found: dict[str, int] = {}
    try:
        for text in set(texts):
            found[text] = (parse_time(text) - _EPOCH) // _MICROSECOND
    except (ValueError, OverflowError, OSError):
        return None
    return np.fromiter(map(found.__getitem__, texts), dtype=np.int64, count=len(texts))


def bad_time(column: str, text: str) -> str:
    return (_("%(column)s %(value)s is not a date or time (2024-03-01 or 2024-03-01T10:00:00Z)")
            % {"column": column, "value": repr(text)})


def in_future(column: str, value: datetime) -> str:
    return _("%(column)s %(value)s is in the future") % {"column": column, "value": value.isoformat()}
