"""Benchmark: ``assina import events`` of 1,000,000 rows on SQLite (issue 20: <= 30 s), against
SQLite's own bulk insert of the same rows in the same run.

    python bench/success_import.py [--events 1000000] [--customers 10000]

Creates a fresh SQLite database (a temporary file, migrated), CUSTOMERS customers, and a CSV file
of EVENTS rows (``customer_email,name,occurred_at,value``: event i belongs to customer
i % CUSTOMERS, four names, times spread over the past year, a value on every third row). Then:

- ``import``: what ``assina import events FILE`` does, timed from reading the file to the commit
  (``imports.services.import_events``: parse and check the file column by column, look the
  customers up, derive each event's id, store through ``engagement.ingest.record_event_columns``
  in one transaction);
- ``again``: the same file imported again (nothing new stored);
- peers, on a copy of the same empty table, indexes and trigger (with the first events' table it
  keeps) in a second SQLite file: Python's sqlite3
  ``executemany`` of the same rows already built (ids, customer ids, times as text: no parsing
  or checking) in one transaction, and the ``sqlite3`` shell's ``.import`` of a CSV of those rows.

Prints JSON: seconds and rows/s of each, the ratios, the load average before and after (the
machine may be shared: compare the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
NAMES = ("login", "report_exported", "page_viewed", "user_invited")


def write_csv(path: Path, events: int, customers: int, now: datetime) -> None:
    start = now - timedelta(days=365)
    step = 365 * 86400 / events
    with path.open("w", encoding="utf-8") as out:
        out.write("customer_email,name,occurred_at,value\n")
        for i in range(events):
            at = (start + timedelta(seconds=int(i * step))).strftime("%Y-%m-%dT%H:%M:%SZ")
            value = str(i % 7) if i % 3 == 0 else ""
            out.write(f"c{i % customers}@example.com,{NAMES[i % 4]},{at},{value}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()

    load_before = [round(x, 2) for x in os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="assina-import-bench-"))
    os.environ["ASSINA_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ["ASSINA_MODE"] = "sandbox"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from assina.customers.models import Customer
    from assina.engagement.models import EngagementEvent, FirstEvent
    from assina.imports.services import import_events

    call_command("migrate", verbosity=0)
    now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    Customer.objects.bulk_create([Customer(email=f"c{i}@example.com", currency="BRL", created_at=now - timedelta(days=400),
                                           imported_at=now) for i in range(args.customers)], batch_size=2000)
    csv_path = tmp / "events.csv"
    write_csv(csv_path, args.events, args.customers, now)

    started = time.perf_counter()
    result = import_events(csv_path.read_text(encoding="utf-8-sig"), now + timedelta(minutes=5), file_name="events.csv")
    import_seconds = time.perf_counter() - started
    assert result.error_count == 0 and result.created == args.events, result.as_dict()
    started = time.perf_counter()
    again = import_events(csv_path.read_text(encoding="utf-8-sig"), now + timedelta(minutes=5), file_name="events.csv")
    again_seconds = time.perf_counter() - started
    assert again.created == 0 and again.unchanged == args.events, again.as_dict()

    # The peers: the same rows, already built, into the same empty table and indexes.
    table = EngagementEvent._meta.db_table
    with connection.cursor() as cursor:
        # The events' table, its indexes and its trigger, and the first events' table the trigger keeps.
        first = FirstEvent._meta.db_table
        cursor.execute("SELECT sql FROM sqlite_master WHERE tbl_name IN (%s, %s) AND sql IS NOT NULL "
                       "ORDER BY tbl_name = %s, type <> 'table', type = 'trigger'", [table, first, table])
        ddl = [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT event_id, customer_id, name, occurred_at, value, properties, imported, received_at FROM "{table}"')
        rows = cursor.fetchall()
    connection.close()
    peer_path = tmp / "peer.sqlite3"
    peer = sqlite3.connect(peer_path, isolation_level=None)
    peer.execute("PRAGMA journal_mode=WAL")
    peer.execute("PRAGMA synchronous=NORMAL")
    peer.execute("CREATE TABLE customers_customer (id integer PRIMARY KEY)")  # the foreign key's target
    for statement in ddl:
        peer.execute(statement)
    sql = f'INSERT INTO "{table}" (event_id, customer_id, name, occurred_at, value, properties, imported, received_at) ' \
          f"VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    started = time.perf_counter()
    peer.execute("BEGIN")
    peer.executemany(sql, rows)
    peer.execute("COMMIT")
    executemany_seconds = time.perf_counter() - started
    peer.execute(f'DELETE FROM "{table}"')
    peer.execute(f'DELETE FROM "{first}"')
    peer.execute("VACUUM")
    peer.close()
    plain_csv = tmp / "rows.csv"
    with plain_csv.open("w", encoding="utf-8") as out:
        for r in rows:
            out.write(",".join("" if v is None else str(v).replace(",", ";") for v in r) + "\n")
    del rows
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(peer_path)], input=f".mode csv\n.import '{plain_csv}' staging\n"
                   f'INSERT INTO "{table}" (event_id, customer_id, name, occurred_at, value, properties, imported, received_at) '
                   f"SELECT * FROM staging;\n", text=True, check=True)
    shell_seconds = time.perf_counter() - started
    print(json.dumps({
        "events": args.events, "customers": args.customers, "engine": "sqlite",
        "import_seconds": round(import_seconds, 2), "import_rows_per_s": round(args.events / import_seconds),
        "again_seconds": round(again_seconds, 2), "again_stored": again.created,
        "sqlite_executemany_seconds": round(executemany_seconds, 2),
        "sqlite_shell_import_seconds": round(shell_seconds, 2),
        "ratio_to_executemany": round(import_seconds / executemany_seconds, 2),
        "ratio_to_shell_import": round(import_seconds / shell_seconds, 2),
        "target_seconds": 30, "met": import_seconds <= 30,
        "load_average_before": load_before, "load_average": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
