"""Per-key rate limits: a token bucket in the database, spent through small local leases.

Why this design: the limit must hold across every web process (several gunicorn workers, on
several machines with PostgreSQL), so the bucket lives in the database — an in-process bucket
would let N processes allow N times the limit. Writing the bucket on every request would cost a
write per read, though, so a process takes a *lease* of a few tokens at a time (one locked
UPDATE) and spends them locally. A lease is only good for ``LEASE_SECONDS``; tokens left unused
in it are dropped, never returned, so the processes together can never exceed the limit (at
worst they admit slightly fewer requests). Once refused, a process answers 429 locally until
the bucket can have refilled, so abusive clients do not hammer the database either.

Settings: ``ASSINA_API_RATE_LIMIT`` (requests per second per key, 0 = unlimited) and
``ASSINA_API_RATE_BURST`` (bucket size).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import RateBucket

LEASE_SECONDS = 1.0
# A lease is this share of a second's worth of tokens: small enough that one process cannot
# starve the others, large enough that a busy key costs a database write every 1/20 s at most.
LEASE_SHARE = 0.05


@dataclass
class _Local:
    tokens: int = 0
    expires: float = 0.0
    blocked_until: float = 0.0


_local: dict[int, _Local] = {}
_lock = threading.Lock()


def limits() -> tuple[float, float]:
    rate = float(getattr(settings, "ASSINA_API_RATE_LIMIT", 100))
    burst = float(getattr(settings, "ASSINA_API_RATE_BURST", 0)) or max(1.0, 2 * rate)
    return rate, burst


def check(key_id: int) -> float | None:
    """Spend one request of ``key_id``: None when allowed, else the seconds to wait."""
    rate, burst = limits()
    if rate <= 0:
        return None
    now = time.time()
    with _lock:
        state = _local.setdefault(key_id, _Local())
        if now < state.blocked_until:
            return state.blocked_until - now
        if state.tokens > 0 and now < state.expires:
            state.tokens -= 1
            return None
    lease = max(1, int(rate * LEASE_SHARE))
    granted, wait = _take(key_id, lease, rate, burst, now)
    with _lock:
        state = _local.setdefault(key_id, _Local())
        if granted == 0:
            state.tokens = 0
            state.blocked_until = now + wait
            return wait
        state.tokens, state.expires, state.blocked_until = granted - 1, now + LEASE_SECONDS, 0.0
    return None


def _take(key_id: int, want: int, rate: float, burst: float, now: float) -> tuple[int, float]:
    """Take up to ``want`` whole tokens from the shared bucket; (granted, seconds to the next token)."""
    with transaction.atomic():
        bucket = RateBucket.objects.select_for_update().filter(api_key_id=key_id).first()
        if bucket is None:
            try:
                with transaction.atomic():
                    bucket = RateBucket.objects.create(api_key_id=key_id, tokens=burst, updated=now)
            except IntegrityError:  # another process created it first
                bucket = RateBucket.objects.select_for_update().get(api_key_id=key_id)
        available = min(burst, bucket.tokens + max(0.0, now - bucket.updated) * rate)
        granted = min(want, int(math.floor(available)))
        RateBucket.objects.filter(api_key_id=key_id).update(tokens=available - granted, updated=max(now, bucket.updated))
    return granted, (0.0 if granted else (1 - available) / rate)


def reset() -> None:
    """Forget local leases (tests)."""
    with _lock:
        _local.clear()
