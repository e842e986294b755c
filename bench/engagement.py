"""Benchmark: engagement events through POST /api/v1/engagement_events/batch over HTTP, against usage
events through POST /api/v1/usage/batch in the same run; then the bulk path of ``assina import events``.

    python bench/engagement.py [--database URL] [--events 200000] [--batch 1000] [--workers 2] [--clients 4]
                               [--customers 1000] [--import-events 1000000]

Creates a fresh database (a temporary SQLite file by default, or the PostgreSQL database in
--database, dropped and recreated), CUSTOMERS customers, a usage metric and an API key; starts the
production server (``gunicorn -c python:assina.api.gunicorn_conf assina.wsgi``, WORKERS processes)
on 127.0.0.1 and sends EVENTS engagement events, then EVENTS usage events, in batches from CLIENTS
threads (``http.client`` keep-alive connections, bodies encoded before the clock starts; the load
generator of ``bench/usage_ingest.py``). Event i belongs to customer i % CUSTOMERS: every batch
touches every customer (the worst case for the indexes by customer). Both runs start from tables
of the same size (empty) and are each preceded by 10 warm-up batches.

Then ``record_events`` (what ``assina import events`` calls after reading its file) stores
IMPORT_EVENTS rows in one call from this process, and again (every id already stored: nothing new).
Prints JSON: events/s and batch p50/p99 (ms) and server CPU µs per event for each API, their
ratio, the import's rows/s, and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from usage_ingest import (_processes, cpu_seconds, free_port, load, open_database, percentile, server_arguments,  # noqa: E402
                          setup, start_server)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def engagement_bodies(n_events: int, batch: int, customer_ids: list[int], prefix: str) -> list[bytes]:
    base = datetime.now(timezone.utc) - timedelta(minutes=5)
    names = ("login", "report_exported", "page_viewed", "user_invited")
    out = []
    for b in range(0, n_events, batch):
        events = [{"id": f"{prefix}{i}", "customer": f"cus_{customer_ids[i % len(customer_ids)]}", "name": names[i % 4],
                   "timestamp": (base + timedelta(microseconds=i)).isoformat().replace("+00:00", "Z"),
                   "properties": {"region": "br"}} for i in range(b, min(b + batch, n_events))]
        out.append(json.dumps({"events": events}).encode())
    return out


def usage_bodies(n_events: int, batch: int, customer_ids: list[int], prefix: str) -> list[bytes]:
    from usage_ingest import bodies

    return bodies(n_events, batch, customer_ids, prefix)


def measured(port, secret, path, warmup, batches, clients, app_pids, db_pids) -> dict:
    load(port, secret, warmup, clients, path)
    app_cpu, db_cpu = cpu_seconds(app_pids), cpu_seconds(db_pids)
    seconds, latencies, stored = load(port, secret, batches, clients, path)
    app_cpu, db_cpu = cpu_seconds(app_pids) - app_cpu, cpu_seconds(db_pids) - db_cpu
    events = sum(body.count(b'"id"') for body in batches)
    if stored != events:
        raise SystemExit(f"{path}: stored {stored} of {events} events")
    return {"events_per_second": round(events / seconds), "seconds": round(seconds, 3),
            "batch_ms_p50": round(percentile(latencies, 50) * 1000, 2),
            "batch_ms_p99": round(percentile(latencies, 99) * 1000, 2),
            "server_cpu_us_per_event": round((app_cpu + db_cpu) / events * 1e6, 1)}


def import_run(n: int, customer_ids: list[int]) -> dict:
    from django.db import close_old_connections

    from assina.engagement.services import record_events

    close_old_connections()
    base = datetime.now(timezone.utc) - timedelta(days=400)
    names = ("login", "report_exported", "page_viewed", "user_invited")
    step = timedelta(days=365) / max(n, 1)
    rows = [(f"imp:{i}", customer_ids[i % len(customer_ids)], names[i % 4], base + i * step, None, {})
            for i in range(n)]
    started = time.perf_counter()
    first = record_events(rows, imported=True)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = record_events(rows, imported=True)
    again_seconds = time.perf_counter() - started
    if first.stored != n or again.stored != 0:
        raise SystemExit(f"import stored {first.stored} then {again.stored} of {n}")
    return {"rows": n, "seconds": round(first_seconds, 3), "rows_per_second": round(n / first_seconds),
            "again_seconds": round(again_seconds, 3), "again_stored": again.stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    server_arguments(parser, events=200_000)
    parser.add_argument("--import-events", type=int, default=1_000_000, help="rows for record_events (0: skip)")
    args = parser.parse_args()

    url = open_database(args.database)
    from django.db import connection

    vendor = connection.vendor
    secret, customer_ids = setup(args.customers)
    engagement = engagement_bodies(args.events, args.batch, customer_ids, "g")
    engagement_warm = engagement_bodies(args.batch * 10, args.batch, customer_ids, "gw")
    usage = usage_bodies(args.events, args.batch, customer_ids, "u")
    usage_warm = usage_bodies(args.batch * 10, args.batch, customer_ids, "uw")
    connection.close()
    port = free_port()
    load_before = os.getloadavg()[0]
    server = start_server(url, args.workers, port)
    try:
        time.sleep(0.5)
        pids = _processes(server.pid, url.rsplit("/", 1)[1] if url.startswith("postgres") else "")
        app_pids = [pid for pid in pids if pid in _processes(server.pid, "")]
        db_pids = [pid for pid in pids if pid not in app_pids]
        ours = measured(port, secret, "/api/v1/engagement_events/batch", engagement_warm, engagement, args.clients,
                        app_pids, db_pids)
        theirs = measured(port, secret, "/api/v1/usage/batch", usage_warm, usage, args.clients, app_pids, db_pids)
        load_during = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(10)
    try:
        imported = import_run(args.import_events, customer_ids) if args.import_events else None
    finally:
        if url.startswith("sqlite:///"):  # the temporary database goes with the run
            import shutil

            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    print(json.dumps({
        "benchmark": "engagement",
        "database": vendor,
        "server": f"gunicorn -c python:assina.api.gunicorn_conf ({args.workers} workers)",
        "clients": args.clients, "events": args.events, "batch_size": args.batch, "customers": args.customers,
        "engagement_api": ours,
        "usage_api": theirs,
        "engagement_over_usage": round(ours["events_per_second"] / theirs["events_per_second"], 3),
        "import_record_events": imported,
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m_during": round(load_during, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
