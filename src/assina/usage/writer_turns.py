"""Usage writers on SQLite take turns on a file lock instead of polling SQLite's write lock.

SQLite lets one connection write at a time. A gunicorn worker that finds the write lock taken
waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between tries: a
batch holds the lock for about 15 ms, so the next worker typically wakes 3 to 15 ms after the
lock was free, and the only writer that matters for this traffic sits idle. A file lock
(``flock``) taken before ``BEGIN IMMEDIATE`` and released after ``COMMIT`` hands the turn to the
waiting worker the moment the kernel releases it.

It only orders usage batches among themselves: every other writer still meets SQLite's own lock,
which stays the guarantee. The lock is released by the kernel if the process dies. Taken only
when the batch starts its own transaction (never while a transaction, and so possibly SQLite's
write lock, is already held: waiting for the turn then could wait on a worker that waits for us).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator

from django.db import connection

# database path -> (process id, descriptor), per thread: a file lock belongs to the open file, so
# two threads sharing one descriptor would not keep each other out (gunicorn runs two threads per
# worker), and the first to leave would end the other's turn as well. A descriptor inherited
# across fork shares its lock with the parent: opened again in a new process.
_local = threading.local()


def _descriptor(path: str) -> int | None:
    files: dict[str, tuple[int, int]] = getattr(_local, "files", None) or {}
    _local.files = files
    pid = os.getpid()
    known = files.get(path)
    if known is not None and known[0] == pid:
        return known[1]
    try:
        fd = os.open(f"{path}-usage-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return None
    files[path] = (pid, fd)
    return fd


@contextlib.contextmanager
def writer_turn() -> Iterator[None]:
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    path = connection.settings_dict["NAME"]
    fd = _descriptor(str(path)) if isinstance(path, (str, os.PathLike)) and os.path.isfile(path) else None
    if fd is None:  # an in-memory database (tests): nobody to take turns with
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
