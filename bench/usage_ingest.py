"""Benchmark: usage events through POST /api/v1/usage/batch, end to end over HTTP.

    python bench/usage_ingest.py [--database URL] [--events 300000] [--batch 1000] [--workers 2] [--clients 4]
                                 [--customers 1000] [--random-ids]

Creates a fresh database (a temporary SQLite file by default, or the PostgreSQL database in
--database, dropped and recreated), a metric, CUSTOMERS customers and an API key; starts the
production server (``gunicorn -c python:assina.api.gunicorn_conf assina.wsgi``, WORKERS
processes) on 127.0.0.1 and sends the events in batches from CLIENTS threads of this process: a
lean load generator (``http.client`` keep-alive connections, bodies encoded before the clock
starts), so the client is not the bottleneck. Event i belongs to customer i % CUSTOMERS: with
the default 1,000 customers every batch touches every customer (the worst case for the
indexes, which are ordered by customer).

Then, in the same run, the storage limit: the same number of rows written by plain SQL into an
empty table with the same columns, indexes and foreign key (``executemany`` of prepared tuples
on SQLite, ``COPY`` on PostgreSQL), in transactions of BATCH rows, from one connection. On
SQLite the rows are written as the server writes them: pending, and settled into the index by
customer every ``assina.usage.settle.ROWS`` rows in the next transaction (``--peer-indexed``:
every row straight into that index instead, as before pending events).
Prints JSON: events_per_second, batch p50/p99 (ms), server CPU µs per event (gunicorn workers,
and the PostgreSQL backends serving them), storage_rows_per_second, storage CPU µs per row,
ratio (HTTP / storage) and the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fresh_database import is_postgres, recreate_postgres

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def prepare_database(url: str | None) -> str:
    if is_postgres(url):
        return recreate_postgres(url)
    return "sqlite:///" + str(Path(tempfile.mkdtemp(prefix="assina-usage-bench-")) / "bench.sqlite3")


def setup(customers: int) -> tuple[str, list[int]]:
    from django.core.management import call_command

    from assina.api.keys import create_key
    from assina.customers.models import Customer
    from assina.usage.services import create_metric

    call_command("migrate", verbosity=0)
    now = datetime.now(timezone.utc)
    create_metric(code="api_calls", name="API calls", at=now)
    Customer.objects.bulk_create([Customer(email=f"c{i}@example.com", currency="BRL", created_at=now) for i in range(customers)])
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    return create_key(scope="write", name="bench").secret, ids


def bodies(n_events: int, batch: int, customer_ids: list[int], prefix: str, random_ids: bool = False) -> list[bytes]:
    """Request bodies; event ids count up (``ev0``, ``ev1``...) or are random UUIDs (``random_ids``)."""
    import uuid

    base = datetime.now(timezone.utc) - timedelta(minutes=5)
    out = []
    for b in range(0, n_events, batch):
        events = [{"id": str(uuid.uuid4()) if random_ids else f"{prefix}{i}", "customer": f"cus_{customer_ids[i % len(customer_ids)]}", "metric": "api_calls",
                   "value": 1 + i % 7, "timestamp": (base + timedelta(microseconds=i)).isoformat().replace("+00:00", "Z"),
                   "properties": {"region": "br"}} for i in range(b, min(b + batch, n_events))]
        out.append(json.dumps({"events": events}).encode())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, port: int) -> subprocess.Popen:
    env = {**os.environ, "ASSINA_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src"), "ASSINA_API_RATE_LIMIT": "0",
           "DJANGO_SETTINGS_MODULE": "assina.settings", "ASSINA_API_BIND": f"127.0.0.1:{port}",
           "ASSINA_API_WORKERS": str(workers)}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "python:assina.api.gunicorn_conf",
                               "assina.wsgi"], env=env, cwd=str(ROOT))
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/api/v1/openapi.json")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def load(port: int, secret: str, batches: list[bytes], clients: int,
         path: str = "/api/v1/usage/batch") -> tuple[float, list[float], int]:
    """Send every body to PATH from CLIENTS keep-alive connections; (seconds, latencies, events
    stored). ``bench/engagement.py`` drives the engagement endpoint with it too."""
    latencies: list[float] = []
    stored = [0]
    lock = threading.Lock()
    queue = list(reversed(batches))
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            while True:
                with lock:
                    if not queue or errors:
                        return
                    body = queue.pop()
                started = time.perf_counter()
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                if response.status != 200:
                    errors.append(f"{response.status} {data[:300]!r}")
                    return
                count = json.loads(data)["stored"]
                with lock:
                    latencies.append(elapsed)
                    stored[0] += count
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"the server refused a batch: {errors[0]}")
    return time.perf_counter() - started, latencies, stored[0]


def storage_limit(url: str, n: int, batch: int, customer_ids: list[int], random_ids: bool,
                  indexed: bool = False) -> tuple[float, float]:
    """The same rows written by plain SQL into an empty copy of the usage table: (seconds, CPU seconds
    of this process and of the database server process)."""
    from assina.usage.models import UsageEvent

    table = UsageEvent._meta.db_table
    columns = "customer_id, metric_code, event_id, value, timestamp, properties, received_at, late"
    now = datetime.now(timezone.utc)
    import uuid

    rows = [(customer_ids[i % len(customer_ids)], "api_calls", str(uuid.uuid4()) if random_ids else f"raw{i}", 1 + i % 7, now + timedelta(microseconds=i),
             '{"region":"br"}', now, False) for i in range(n)]
    if url.startswith("postgres"):
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS usage_storage_peer")
            conn.execute(f"CREATE TABLE usage_storage_peer (LIKE {table} INCLUDING ALL)")
            conn.execute("ALTER TABLE usage_storage_peer ADD FOREIGN KEY (customer_id) REFERENCES customers_customer (id) "
                         "DEFERRABLE INITIALLY DEFERRED")
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            # COPY text prepared before the clock starts: what is measured is the database's work.
            blocks = []
            for offset in range(0, n, batch):
                blocks.append("".join(f"{c}\t{m}\t{e}\t{v}\t{t.isoformat()}\t{p}\t{r.isoformat()}\tf\n"
                                      for c, m, e, v, t, p, r, _late in rows[offset:offset + batch]).encode())
            cpu, started = time.process_time() + cpu_seconds([backend]), time.perf_counter()
            for block in blocks:
                with conn.transaction(), conn.cursor().copy(f"COPY usage_storage_peer ({columns}) FROM STDIN") as copy:
                    copy.write(block)
            seconds, cpu = time.perf_counter() - started, time.process_time() + cpu_seconds([backend]) - cpu
            conn.execute("DROP TABLE usage_storage_peer")
        return seconds, cpu
    import sqlite3

    path = url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
    ddl = [sql for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL", [table])]
    conn.execute("DROP TABLE IF EXISTS usage_storage_peer")
    for sql in ddl:  # the table, then its indexes, renamed
        conn.execute(sql.replace(f'"{table}"', '"usage_storage_peer"').replace('INDEX "', 'INDEX "peer_'))
    from assina.usage import settle

    pending = 0 if indexed else 1
    text = [(c, m, e, v, t.isoformat(" ")[:26], p, r.isoformat(" ")[:26], late, pending) for c, m, e, v, t, p, r, late in rows]
    sql = f"INSERT INTO usage_storage_peer ({columns}, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    unsettled = 0
    cpu, started = time.process_time(), time.perf_counter()
    for offset in range(0, n, batch):
        conn.execute("BEGIN IMMEDIATE")
        if pending and unsettled >= settle.ROWS:  # what the server does before a batch's INSERT
            conn.execute("UPDATE usage_storage_peer SET pending = 0 WHERE pending")
            unsettled = 0
        conn.executemany(sql, text[offset:offset + batch])
        unsettled += len(text[offset:offset + batch])
        conn.execute("COMMIT")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    conn.execute("DROP TABLE usage_storage_peer")
    conn.close()
    return seconds, cpu


def _processes(server_pid: int, database: str) -> list[int]:
    """The gunicorn workers and (PostgreSQL) the database's server processes serving them."""
    found = []
    tick_pids = [name for name in os.listdir("/proc") if name.isdigit()]
    for pid in tick_pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid or int(pid) == server_pid or (database and "postgres:" in cmdline and database in cmdline):
            found.append(int(pid))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (from /proc), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def server_arguments(parser: argparse.ArgumentParser, events: int) -> None:
    """The options of a run against the server (also ``bench/engagement.py``'s)."""
    parser.add_argument("--database", help="PostgreSQL URL (dropped and recreated); default: a temporary SQLite file")
    parser.add_argument("--events", type=int, default=events)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    parser.add_argument("--customers", type=int, default=1000, help="event i belongs to customer i %% CUSTOMERS")


def open_database(database: str | None) -> str:
    """A fresh database (``prepare_database``) that Django in this process uses; its URL."""
    url = prepare_database(database)
    os.environ["ASSINA_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    server_arguments(parser, events=300_000)
    parser.add_argument("--random-ids", action="store_true", help="random UUIDs as event ids (default: a counter)")
    parser.add_argument("--peer-indexed", action="store_true",
                        help="SQLite storage peer: every row straight into the index by customer (no pending rows)")
    args = parser.parse_args()

    url = open_database(args.database)
    from django.db import connection

    vendor = connection.vendor
    secret, customer_ids = setup(args.customers)
    batches = bodies(args.events, args.batch, customer_ids, "ev", args.random_ids)
    warmup = bodies(args.batch * 10, args.batch, customer_ids, "warm", args.random_ids)
    connection.close()
    port = free_port()
    load_before = os.getloadavg()[0]
    server = start_server(url, args.workers, port)
    try:
        load(port, secret, warmup, args.clients)
        pids = _processes(server.pid, url.rsplit("/", 1)[1] if url.startswith("postgres") else "")
        app_pids = [pid for pid in pids if pid in _processes(server.pid, "")]
        db_pids = [pid for pid in pids if pid not in app_pids]
        app_cpu, db_cpu, client_cpu = cpu_seconds(app_pids), cpu_seconds(db_pids), time.process_time()
        seconds, latencies, stored = load(port, secret, batches, args.clients)
        app_cpu, db_cpu = cpu_seconds(app_pids) - app_cpu, cpu_seconds(db_pids) - db_cpu
        client_cpu = time.process_time() - client_cpu
        server_cpu = app_cpu + db_cpu
        load_during = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(10)
    try:
        if stored != args.events:
            raise SystemExit(f"stored {stored} of {args.events} events")
        storage_seconds, storage_cpu = storage_limit(url, args.events, args.batch, customer_ids, args.random_ids, args.peer_indexed)
    finally:
        if url.startswith("sqlite:///"):  # the temporary database (hundreds of MB) goes with the run
            import shutil

            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    events_per_second = args.events / seconds
    storage_per_second = args.events / storage_seconds
    print(json.dumps({
        "benchmark": "usage_ingest",
        "database": vendor,
        "server": f"gunicorn -c python:assina.api.gunicorn_conf ({args.workers} workers)",
        "clients": args.clients,
        "events": args.events,
        "batch_size": args.batch,
        "customers": args.customers,
        "event_ids": "random UUIDs" if args.random_ids else "counter",
        "seconds": round(seconds, 3),
        "events_per_second": round(events_per_second),
        "batch_ms_p50": round(percentile(latencies, 50) * 1000, 2),
        "batch_ms_p99": round(percentile(latencies, 99) * 1000, 2),
        # The machine is shared: CPU time says what the work costs whatever else runs. On 2 cores
        # the server side could take at most 2 CPU-seconds per second.
        "server_cpu_us_per_event": round(server_cpu / args.events * 1e6, 1),
        "app_cpu_us_per_event": round(app_cpu / args.events * 1e6, 1),
        "database_server_cpu_us_per_event": round(db_cpu / args.events * 1e6, 1),
        "client_cpu_us_per_event": round(client_cpu / args.events * 1e6, 1),
        "events_per_server_cpu_second": round(args.events / server_cpu) if server_cpu else None,
        "storage_peer": "COPY" if vendor == "postgresql" else
                        "executemany" + (", every row indexed" if args.peer_indexed else ", pending rows settled like the server's"),
        "storage_rows_per_second": round(storage_per_second),
        "storage_cpu_us_per_row": round(storage_cpu / args.events * 1e6, 1),
        "ratio": round(events_per_second / storage_per_second, 3),
        "load_average_1m_before": round(load_before, 2),
        "load_average_1m_during": round(load_during, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
