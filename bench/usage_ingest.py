"""Benchmark: usage events through POST /api/v1/usage/batch, end to end over HTTP.

    python bench/usage_ingest.py [--database URL] [--events 300000] [--batch 1000] [--workers 2] [--clients 4]

Creates a fresh database (a temporary SQLite file by default, or the PostgreSQL database in
--database, dropped and recreated), a metric, 1,000 customers and an API key; starts the
production server (``gunicorn assina.wsgi -w WORKERS``) on 127.0.0.1 and sends the events in
batches from CLIENTS threads of this process (keep-alive connections, bodies built before the
clock starts). Then, in the same run, the same number of rows is written straight into the usage
table with ``assina.db.insert_rows`` (COPY on PostgreSQL, executemany on SQLite) in batches of
the same size: the raw-insert peer figure, i.e. what storage alone allows on this machine.
Prints JSON: events_per_second, batch p50/p99 (ms), raw_rows_per_second and ratio.
"""

from __future__ import annotations

import argparse
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def prepare_database(url: str | None) -> str:
    if url and url.startswith(("postgres://", "postgresql://")):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return url
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


def bodies(n_events: int, batch: int, customer_ids: list[int], prefix: str) -> list[bytes]:
    base = datetime.now(timezone.utc) - timedelta(minutes=5)
    out = []
    for b in range(0, n_events, batch):
        events = [{"id": f"{prefix}{i}", "customer": f"cus_{customer_ids[i % len(customer_ids)]}", "metric": "api_calls",
                   "value": 1 + i % 7, "timestamp": (base + timedelta(microseconds=i)).isoformat().replace("+00:00", "Z"),
                   "properties": {"region": "br"}} for i in range(b, min(b + batch, n_events))]
        out.append(json.dumps({"events": events}).encode())
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, port: int) -> subprocess.Popen:
    env = {**os.environ, "ASSINA_DATABASE_URL": url, "PYTHONPATH": str(ROOT / "src"),
           "ASSINA_API_RATE_LIMIT": "1000000", "DJANGO_SETTINGS_MODULE": "assina.settings"}
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "assina.wsgi", "-w", str(workers), "-b",
                               f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "30"], env=env, cwd=str(ROOT))
    import httpx

    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def load(port: int, secret: str, batches: list[bytes], clients: int) -> tuple[float, list[float], int]:
    import httpx

    latencies: list[float] = []
    stored = [0]
    lock = threading.Lock()
    queue = list(reversed(batches))
    errors: list[str] = []

    def worker():
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                started = time.perf_counter()
                response = client.post("/api/v1/usage/batch", content=body)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    errors.append(response.text[:300])
                    return
                with lock:
                    latencies.append(elapsed)
                    stored[0] += response.json()["stored"]

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"the server refused a batch: {errors[0]}")
    return time.perf_counter() - started, latencies, stored[0]


def raw_insert(n: int, batch: int, customer_ids: list[int]) -> float:
    """The same rows written straight into the table: the storage limit of this machine."""
    from django.db import transaction

    from assina.db import insert_rows
    from assina.usage.models import UsageEvent

    now = datetime.now(timezone.utc)
    fields = ("customer", "metric_code", "event_id", "value", "timestamp", "properties", "received_at", "late")
    rows = [(customer_ids[i % len(customer_ids)], "api_calls", f"raw{i}", 1 + i % 7, now + timedelta(microseconds=i),
             {"region": "br"}, now, False) for i in range(n)]
    started = time.perf_counter()
    for offset in range(0, n, batch):
        with transaction.atomic():
            insert_rows(UsageEvent, fields, rows[offset:offset + batch])
    return time.perf_counter() - started


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL (dropped and recreated); default: a temporary SQLite file")
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    parser.add_argument("--customers", type=int, default=1000)
    args = parser.parse_args()

    url = prepare_database(args.database)
    os.environ["ASSINA_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.db import connection

    secret, customer_ids = setup(args.customers)
    batches = bodies(args.events, args.batch, customer_ids, "ev")
    warmup = bodies(args.batch * 10, args.batch, customer_ids, "warm")
    connection.close()
    port = free_port()
    server = start_server(url, args.workers, port)
    try:
        load(port, secret, warmup, args.clients)
        pids = _processes(server.pid, url.rsplit("/", 1)[1] if url.startswith("postgres") else "")
        server_cpu, client_cpu = cpu_seconds(pids), time.process_time()
        seconds, latencies, stored = load(port, secret, batches, args.clients)
        server_cpu, client_cpu = cpu_seconds(pids) - server_cpu, time.process_time() - client_cpu
    finally:
        server.terminate()
        server.wait(10)
    if stored != args.events:
        raise SystemExit(f"stored {stored} of {args.events} events")
    raw_cpu = time.process_time()
    raw_seconds = raw_insert(args.events, args.batch, customer_ids)
    raw_cpu = time.process_time() - raw_cpu
    events_per_second = args.events / seconds
    raw_per_second = args.events / raw_seconds
    print(json.dumps({
        "benchmark": "usage_ingest",
        "database": connection.vendor,
        "server": f"gunicorn -w {args.workers}",
        "clients": args.clients,
        "events": args.events,
        "batch_size": args.batch,
        "seconds": round(seconds, 3),
        "events_per_second": round(events_per_second),
        "batch_ms_p50": round(percentile(latencies, 50) * 1000, 2),
        "batch_ms_p99": round(percentile(latencies, 99) * 1000, 2),
        # The machine is shared: CPU time says what the work costs whatever else runs. On 2 cores
        # the server side could take at most 2 CPU-seconds per second.
        "server_cpu_us_per_event": round(server_cpu / args.events * 1e6, 1),
        "client_cpu_us_per_event": round(client_cpu / args.events * 1e6, 1),
        "events_per_server_cpu_second": round(args.events / server_cpu) if server_cpu else None,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "raw_rows_per_second": round(raw_per_second),
        "raw_cpu_us_per_row": round(raw_cpu / args.events * 1e6, 1),
        "ratio": round(events_per_second / raw_per_second, 3),
    }, indent=2))


if __name__ == "__main__":
    main()
