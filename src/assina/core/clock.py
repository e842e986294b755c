"""Injectable time. Services ask a Clock, never ``datetime.now()``, so tests and
sandbox databases can move time forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from assina.core.periods import require_aware


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time, aware and in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, sandbox 'advance clock')."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at, "clock time").astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            # Billing assumes time never runs backwards; use set() to rewind on purpose.
            raise ValueError("a clock can only be advanced forward")
        self._at += delta
        return self._at

    def set(self, at: datetime) -> datetime:
        self._at = require_aware(at, "clock time").astimezone(UTC)
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"
