"""The child process of the demo simulation that sends the mail while the clock moves."""

from __future__ import annotations

# How long a follower process waits before looking again when a pass found nothing (seconds).
FOLLOW_POLL = 0.05


def follow_in_child(database_name: str, stop, wake) -> None:
    """The body of a child process that runs only the follower jobs, up to the test clock's
    time, until ``stop`` (a multiprocessing Event) is set: the simulation sends its mail from
    there while it moves the clock (``assina.simulation.followers``). An idle child looks
    again when ``wake`` is set (the clock moved) or after ``FOLLOW_POLL`` seconds.

    It lives in this light module (no Django import at the top) because a spawned child imports its target before Django is
    set up; everything Django is imported here after ``django.setup()``."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.db import connections

    # The parent's database (under tests, the test database rather than the configured one).
    connections["default"].settings_dict["NAME"] = database_name
    from assina.scheduler import run_jobs
    from assina.time import now

    try:
        while not stop.is_set():
            wake.clear()  # a move of the clock during this pass calls for another one
            if not run_jobs(now(), at_due_time=True, only_followers=True):
                wake.wait(FOLLOW_POLL)
    finally:
        connections.close_all()
