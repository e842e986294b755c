"""The admin login's brake: after ``ASSINA_LOGIN_MAX_FAILURES`` (10) failed sign-ins for one
user name, or from one client address, that name or address is locked out, first for
``ASSINA_LOGIN_LOCKOUT_SECONDS`` (60), doubling with every further failure up to a day. While
locked, even the right password is refused (so guessing cannot go on during the lock). A
success clears the counts; failures older than a day are forgotten.

Counts live in the database (``LoginThrottle``), shared by every web process. Times are the
wall clock's: the test clock of a sandbox never moves a lock-out."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import LoginThrottle

MAX_DELAY = timedelta(days=1)
FORGET_AFTER = timedelta(days=1)


def client_address(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or, behind ``ASSINA_TRUSTED_PROXIES`` proxies that
    each append to ``X-Forwarded-For``, the address the outermost trusted proxy saw (entries
    further left are the client's own claims and could be forged)."""
    proxies = int(getattr(settings, "ASSINA_TRUSTED_PROXIES", 0) or 0)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies][:100]
    return (request.META.get("REMOTE_ADDR") or "unknown")[:100]


def keys(username: str, address: str) -> list[str]:
    return [f"user:{(username or '').strip().lower()[:150]}", f"ip:{address}"]


def locked_until(names: list[str], now: datetime | None = None) -> datetime | None:
    """When the latest lock on any of these keys ends, or None when none is locked."""
    now = now or timezone.now()
    ends = LoginThrottle.objects.filter(key__in=names, locked_until__gt=now).values_list("locked_until", flat=True)
    return max(ends, default=None)


def _delay(failures: int) -> timedelta:
    base = float(getattr(settings, "ASSINA_LOGIN_LOCKOUT_SECONDS", 60))
    threshold = int(getattr(settings, "ASSINA_LOGIN_MAX_FAILURES", 10))
    if failures < threshold:
        return timedelta(0)
    return min(timedelta(seconds=base * 2 ** min(failures - threshold, 20)), MAX_DELAY)


def record_failure(names: list[str], now: datetime | None = None) -> datetime | None:
    """Count one failure on each key; returns when the resulting lock ends (None: no lock)."""
    now = now or timezone.now()
    until = None
    with transaction.atomic():
        for name in names:
            row, created = LoginThrottle.objects.select_for_update().get_or_create(
                key=name, defaults={"failures": 0, "last_failure_at": now})
            if not created and now - row.last_failure_at > FORGET_AFTER:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = now
            delay = _delay(row.failures)
            row.locked_until = now + delay if delay else None
            row.save()
            if row.locked_until and (until is None or row.locked_until > until):
                until = row.locked_until
    return until


def clear(names: list[str]) -> None:
    LoginThrottle.objects.filter(key__in=names).delete()
