"""SQLite's writers take turns on a file lock (``assina.sqlite_backend``), on a real database
file (in memory, where the other tests run, there is nobody to queue with). Each case runs in
subprocesses of their own, pointed at a temporary file; "the turn" is ``flock`` on
``<database>-writer``, which a test holds or probes directly."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only

SETUP = """
import json, os, sys, time, threading, django
os.environ["DJANGO_SETTINGS_MODULE"] = "assina.settings"
django.setup()
from django.db import connection, transaction
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS tally (id INTEGER PRIMARY KEY, n INTEGER)")
    cursor.execute("INSERT OR IGNORE INTO tally (id, n) VALUES (1, 0)")
print("ready", flush=True)
"""

WAITS = SETUP + """
from assina import db
def in_transaction():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tally SET n = n + 1 WHERE id = 1")
def alone():  # autocommit: one statement, no transaction
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tally SET n = n + 1 WHERE id = 1")
def read():
    with connection.cursor() as cursor:
        cursor.execute("SELECT n FROM tally WHERE id = 1")
        cursor.fetchone()
# assina.db's statements skip Django's cursor where they can; they queue all the same
def helper_read():
    db.select_row("SELECT n FROM tally WHERE id = %s", [1])
def helper_in_transaction():
    with transaction.atomic():
        db.execute("UPDATE tally SET n = n + 1 WHERE id = %s", [1])
def helper_alone():
    db.execute("UPDATE tally SET n = n + 1 WHERE id = %s", [1])
def prepared_alone():
    db.execute_prepared("UPDATE tally SET n = n + 1 WHERE id = %s", [1])
spans = {}
for name in sys.argv[1:]:  # each while the test holds the turn: "go" once it does
    sys.stdin.readline()
    spans[name] = time.time()
    globals()[name]()
    print(json.dumps([name, spans[name], time.time()]), flush=True)
"""

HOLDS = SETUP + """
sys.stdin.readline()
import fcntl
probe = os.open(connection.settings_dict["NAME"] + "-writer", os.O_RDWR)
def free():
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(probe, fcntl.LOCK_UN)
    return True
seen = {"before": free()}
with transaction.atomic():
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tally SET n = n + 1 WHERE id = 1")
    seen["inside"] = free()
    with transaction.atomic():  # a savepoint: no second turn (it would wait for itself)
        seen["nested"] = free()
seen["after_commit"] = free()
try:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tally SET n = n + 1 WHERE id = 1")
        raise RuntimeError("undo")
except RuntimeError:
    pass
seen["after_rollback"] = free()
with connection.cursor() as cursor:
    cursor.execute("SELECT n FROM tally WHERE id = 1")
    seen["n"] = cursor.fetchone()[0]
print(json.dumps(seen), flush=True)
"""

THREADS = SETUP + """
sys.stdin.readline()
spans = []
def write(name):
    with transaction.atomic():
        start = time.time()
        time.sleep(0.3)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE tally SET n = n + 1 WHERE id = 1")
        spans.append((name, start, time.time()))
    connection.close()
threads = [threading.Thread(target=write, args=(n,)) for n in ("a", "b")]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(sorted(spans, key=lambda s: s[1])), flush=True)
"""


def _start(script: str, database: Path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env["ASSINA_DATABASE_URL"] = f"sqlite:///{database}"
    proc = subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    return proc


def _result(proc: subprocess.Popen) -> dict | list:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


WRITES = ["in_transaction", "alone", "helper_in_transaction", "helper_alone", "prepared_alone"]
READS = ["read", "helper_read"]


def test_a_write_waits_for_the_turn_inside_a_transaction_or_alone_and_a_read_never_waits(tmp_path):
    """Through Django's cursor and through ``assina.db``'s helpers alike; each statement starts
    while the test holds the turn (and only the turn: SQLite's own lock is free)."""
    database = tmp_path / "turns.sqlite3"
    proc = _start(WAITS, database, *READS, *WRITES)
    for name in READS + WRITES:
        holder = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT)
        fcntl.flock(holder, fcntl.LOCK_EX)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        if name in READS:
            done, started, ended = json.loads(proc.stdout.readline())
            assert done == name and ended - started < 0.5, f"{name} waited for a writer's turn"
            fcntl.flock(holder, fcntl.LOCK_UN)
        else:
            time.sleep(0.6)
            released = time.time()
            fcntl.flock(holder, fcntl.LOCK_UN)
            done, started, ended = json.loads(proc.stdout.readline())
            assert done == name and ended >= released - 0.05, f"{name} wrote while another held the turn"
        os.close(holder)
    proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_a_write_transaction_holds_the_turn_until_commit_or_rollback_and_a_savepoint_takes_none(tmp_path):
    proc = _start(HOLDS, tmp_path / "holds.sqlite3")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    seen = _result(proc)
    assert seen == {"before": True, "inside": False, "nested": False, "after_commit": True, "after_rollback": True,
                    "n": 1}


def test_two_threads_of_one_process_take_turns_too(tmp_path):
    """gunicorn runs two threads per worker: their transactions must not overlap either."""
    proc = _start(THREADS, tmp_path / "threads.sqlite3")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    (_a, _start_a, end_a), (_b, start_b, _end_b) = _result(proc)
    assert start_b >= end_a - 0.01, "the second thread began inside the first one's turn"
