"""Keeping SQLite's write-ahead log short while several processes ingest usage without pause.

SQLite checkpoints the log into the database after a commit once it holds 10,000 pages
(``wal_autocheckpoint``), but it can only start writing the log from its beginning again when
that checkpoint has copied every page and no other connection is reading an older snapshot.
With two gunicorn workers taking turns at the write lock, one of them is nearly always between
its own reads, so that moment never comes: the log grew to 1 GB in a 300,000-event benchmark,
and since every page read looks the page up in the log's index, one table of 4,096 frames after
another, a batch's CPU doubled (24 -> 42 µs per event from 100,000 to 300,000 events).

After a batch is stored (outside any enclosing transaction), when the log file has grown past
``LIMIT`` bytes, ``PRAGMA wal_checkpoint(TRUNCATE)`` waits for the other connections' current
transactions (at most ``WAIT_MS``), copies the log into the database and empties it. A checkpoint
moves committed data from one durable file to another: nothing is lost if it is interrupted.
"""

from __future__ import annotations

import os

from django.db import connection

from assina.db import sqlite_wal_checkpoint

# 64 MB: about 16,000 pages of 4 kB, 16 batches of 1,000 events that each touch 1,000 customers.
LIMIT = 64 * 1024 * 1024
WAIT_MS = 200


def keep_short() -> None:
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    try:
        size = os.stat(f"{connection.settings_dict['NAME']}-wal").st_size
    except (OSError, TypeError):
        return  # an in-memory database (tests) or not in WAL mode: no log file
    if size > LIMIT:
        sqlite_wal_checkpoint(WAIT_MS)
