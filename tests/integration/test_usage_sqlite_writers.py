"""Usage ingestion's SQLite helpers on a real database file (they do nothing in memory, which is
where the other tests run): writers take turns on a file lock, and a long write-ahead log is
emptied after a batch. Each case runs in subprocesses of its own, pointed at a temporary file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only

SETUP = """
import json, os, sys, time, django
os.environ["DJANGO_SETTINGS_MODULE"] = "assina.settings"
django.setup()
from django.db import connection, transaction
"""

HOLD_TURN = SETUP + """
from assina.usage.writer_turns import writer_turn
with writer_turn():
    print("holding", flush=True)
    time.sleep(float(sys.argv[1]))
print(json.dumps({"released": time.time()}), flush=True)
"""

TAKE_TURN = SETUP + """
from assina.usage.writer_turns import writer_turn
started = time.time()
with writer_turn():
    got = time.time()
with transaction.atomic():
    inside = time.time()
    with writer_turn():  # inside a transaction it never waits (it may hold SQLite's lock)
        nested = time.time() - inside
print(json.dumps({"started": started, "got": got, "nested_wait": nested}), flush=True)
"""

KEEP_SHORT = SETUP + """
from assina.usage import sqlite_wal
wal = connection.settings_dict["NAME"] + "-wal"
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
    cursor.executemany("INSERT INTO filler (text) VALUES (%s)", [("x" * 500,) for _ in range(2000)])
before = os.stat(wal).st_size
sqlite_wal.LIMIT = 10 * before  # a log under the limit is left alone
sqlite_wal.keep_short()
untouched = os.stat(wal).st_size
sqlite_wal.LIMIT = 1024
with transaction.atomic():
    sqlite_wal.keep_short()  # never inside a transaction
inside = os.stat(wal).st_size
sqlite_wal.keep_short()
with connection.cursor() as cursor:
    cursor.execute("SELECT COUNT(*) FROM filler")
    rows = cursor.fetchone()[0]
print(json.dumps({"before": before, "untouched": untouched, "inside": inside, "after": os.stat(wal).st_size, "rows": rows}))
"""


def _env(database: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env["ASSINA_DATABASE_URL"] = f"sqlite:///{database}"
    return env


def _run(script: str, database: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], env=_env(database), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_usage_writer_waits_for_the_other_ones_turn_and_never_inside_a_transaction(tmp_path):
    database = tmp_path / "turns.sqlite3"
    database.touch()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_TURN, "1.5"], env=_env(database), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        taker = _run(TAKE_TURN, database)
    finally:
        out, err = holder.communicate(timeout=60)
    assert holder.returncode == 0, err
    released = json.loads(out.strip().splitlines()[-1])["released"]
    assert taker["got"] >= released - 0.05, "the second writer got its turn while the first still held it"
    assert taker["nested_wait"] < 0.5


TWO_THREADS = SETUP + """
import threading
from assina.usage.writer_turns import writer_turn
spans = []
def write(name):
    with writer_turn():
        start = time.time()
        time.sleep(0.3)
        spans.append((name, start, time.time()))
threads = [threading.Thread(target=write, args=(n,)) for n in ("a", "b")]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(sorted(spans, key=lambda s: s[1])))
"""


def test_two_threads_of_one_process_take_turns_too(tmp_path):
    """gunicorn runs two threads per worker: their turns must not overlap either."""
    database = tmp_path / "threads.sqlite3"
    database.touch()
    (_a, _start_a, end_a), (_b, start_b, _end_b) = _run(TWO_THREADS, database)
    assert start_b >= end_a - 0.01, "the second thread wrote inside the first one's turn"


def test_a_long_write_ahead_log_is_emptied_after_a_batch_and_nothing_is_lost(tmp_path):
    result = _run(KEEP_SHORT, tmp_path / "wal.sqlite3")
    assert result["before"] > 1024
    assert result["untouched"] == result["before"]
    assert result["inside"] == result["before"]
    assert result["after"] == 0
    assert result["rows"] == 2000
