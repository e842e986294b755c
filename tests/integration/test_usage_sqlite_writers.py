"""Usage ingestion's SQLite helper on a real database file (it does nothing in memory, which is
where the other tests run): a long write-ahead log is emptied after a batch. The case runs in a
subprocess of its own, pointed at a temporary file. (Writers' turns: test_sqlite_writer_turns.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.sqlite_only

SETUP = """
import json, os, sys, time, django
os.environ["DJANGO_SETTINGS_MODULE"] = "assina.settings"
django.setup()
from django.db import connection, transaction
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


def test_a_long_write_ahead_log_is_emptied_after_a_batch_and_nothing_is_lost(tmp_path):
    result = _run(KEEP_SHORT, tmp_path / "wal.sqlite3")
    assert result["before"] > 1024
    assert result["untouched"] == result["before"]
    assert result["inside"] == result["before"]
    assert result["after"] == 0
    assert result["rows"] == 2000
