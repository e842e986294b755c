"""``assina worker``: the loop that processes due work. The tables hold the work; this only polls."""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger("assina.worker")


def run_once() -> dict:
    from django.conf import settings

    from assina.clock.installation import require_agreement
    from assina.time import now
    from assina.scheduler import run_jobs

    # Every pass, not only at start: a database switched to live under a running sandbox
    # worker stops it before it bills anything.
    require_agreement()

    # In a sandbox with a frozen test clock, work happens at the moment it fell due; with the
    # real clock, a worker catching up after downtime does it now.
    from assina.clock.models import ClockState

    frozen = settings.ASSINA_MODE == "sandbox" and ClockState.objects.filter(pk=1, frozen_at__isnull=False).exists()
    return run_jobs(now(), at_due_time=frozen)


def run_worker(*, once: bool = False, interval: float = 5.0, stop: threading.Event | None = None) -> dict:
    if once:
        return run_once()
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    totals: dict = {}
    from assina.clock.installation import ModeMismatch

    while not stop.is_set():
        try:
            for key, value in run_once().items():
                totals[key] = totals.get(key, 0) + value
        except ModeMismatch:
            # Not a passing failure: this process must not touch this database. Stop for good.
            log.error("the worker stops: the database's mode is not ASSINA_MODE")
            raise
        except Exception:  # keep the loop alive; the row state is the truth and is retried next poll
            log.exception("due work failed; retrying at the next poll")
        finally:
            from django.db import connection

            connection.close()
        stop.wait(interval)
    return totals
