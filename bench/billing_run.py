"""Benchmark: a billing run over N subscriptions that all renew at the same moment.

    python bench/billing_run.py --subscriptions 100000 [--database URL] [--failing-share 0.02]

Creates a fresh database (a temporary SQLite file by default, or the PostgreSQL database in
--database, which is dropped and recreated), sets up N active monthly subscriptions due on the
same day (setup is not timed), then times the billing job (``process_due_work``, what
``assina clock advance`` and the worker run for billing) over the renewal moment: every
renewal issues an invoice with its line, writes a payment attempt, charges the sandbox gateway
and records the events. The jobs that only follow what happened (emails, webhook deliveries)
are not part of it: they have their own benchmarks. It then writes the same number of rows with a plain ``executemany``
in one transaction into a table of similar width: that is the storage limit on this machine.
Prints JSON: renewals_per_second, rows_written, raw_rows_per_second and ratio (billing rows
per second / raw rows per second).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from dateutil.relativedelta import relativedelta

from fresh_database import is_postgres, recreate_postgres

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def prepare_database(url: str | None) -> str:
    if is_postgres(url):
        return recreate_postgres(url)
    if url:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return url
    return "sqlite:///" + str(Path(tempfile.mkdtemp(prefix="assina-bench-")) / "bench.sqlite3")


def setup(n: int, failing_share: float, due: datetime) -> None:
    """Bulk-create the catalog, customers, cards and subscriptions (not part of the timing)."""
    from django.db import transaction

    from assina.catalog.services import create_plan
    from assina.clock.services import freeze_clock
    from assina.customers.models import Customer
    from assina.payments.models import PaymentMethod, SandboxCard
    from assina.subscriptions.models import Subscription, SubscriptionItem

    start = due - relativedelta(months=1)
    freeze_clock(start)
    plan = create_plan(code="pro", name="Pro", amount=4990, currency="BRL", interval="month", at=start)
    version = plan.current_version()
    failing_every = int(1 / failing_share) if failing_share > 0 else 0
    chunk = 5000
    for offset in range(0, n, chunk):
        size = min(chunk, n - offset)
        with transaction.atomic():
            customers = Customer.objects.bulk_create([
                Customer(email=f"c{offset + i}@example.com", name=f"Customer {offset + i}", currency="BRL", created_at=start)
                for i in range(size)
            ])
            cards, methods = [], []
            for i, c in enumerate(customers):
                failing = failing_every and (offset + i) % failing_every == 0
                token = f"pm_sandbox_bench_{c.pk}"
                cards.append(SandboxCard(token=token, behaviour="attaches_then_fails" if failing else "succeeds",
                                         brand="visa", last4="0341" if failing else "4242", exp_month=12, exp_year=due.year + 3))
                methods.append(PaymentMethod(customer=c, gateway="sandbox", token=token, brand="visa",
                                             last4=cards[-1].last4, exp_month=12, exp_year=due.year + 3, created_at=start))
            SandboxCard.objects.bulk_create(cards)
            PaymentMethod.objects.bulk_create(methods)
            for c, m in zip(customers, methods):
                c.default_payment_method = m
            Customer.objects.bulk_update(customers, ["default_payment_method"])
            subs = Subscription.objects.bulk_create([
                Subscription(customer=c, plan=plan, status="active", currency="BRL", interval="month", interval_count=1,
                             billing_anchor=start, billing_starts_at=start, started_at=start, current_period_start=start,
                             current_period_end=due, next_action_at=due, created_at=start)
                for c in customers
            ])
            SubscriptionItem.objects.bulk_create([SubscriptionItem(subscription=s, plan_version=version, quantity=1) for s in subs])


def count_rows() -> dict[str, int]:
    from assina.events.models import Event
    from assina.invoices.models import Invoice, InvoiceLine
    from assina.payments.models import PaymentAttempt, SandboxCharge

    return {
        "invoices": Invoice.objects.count(), "invoice_lines": InvoiceLine.objects.count(),
        "payment_attempts": PaymentAttempt.objects.count(), "gateway_charges": SandboxCharge.objects.count(),
        "events": Event.objects.count(),
    }


def raw_limit(rows: int) -> tuple[float, float]:
    """Rows per second written by plain executemany in one transaction (10 columns, like an
    invoice): per second of wall time and per second of this process's CPU time."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw")
        cursor.execute(
            "CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, a BIGINT, b BIGINT, c BIGINT, d VARCHAR(32), "
            "e VARCHAR(32), f VARCHAR(64), g TIMESTAMP, h TIMESTAMP, i BIGINT)"
        )
    now = datetime.now(timezone.utc)
    data = [(n, n, 4990, 0, "2027-000001", "paid", "subscription_cycle", now, now, 1) for n in range(rows)]
    started, cpu_started = time.perf_counter(), time.process_time()
    with transaction.atomic(), connection.cursor() as cursor:
        for offset in range(0, rows, 10000):
            cursor.executemany(
                "INSERT INTO bench_raw (id, a, b, c, d, e, f, g, h, i) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                data[offset:offset + 10000],
            )
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_raw")
    return rows / elapsed, rows / cpu


def server_cpu() -> float | None:
    """User + system CPU seconds of the PostgreSQL backend serving this connection (None on
    SQLite, or when the server's processes are not visible in /proc)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--database", help="ASSINA_DATABASE_URL (default: a temporary SQLite file)")
    parser.add_argument("--failing-share", type=float, default=0.02, help="share of cards that decline")
    parser.add_argument("--batch-size", type=int, help="subscriptions per transaction (default: the billing run's own)")
    parser.add_argument("--profile", action="store_true",
                        help="print the hottest functions (in CPU time; BENCH_SORT=tottime to sort by own time) to stderr")
    args = parser.parse_args()

    os.environ["ASSINA_DATABASE_URL"] = prepare_database(args.database)
    os.environ["ASSINA_MODE"] = "sandbox"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from assina.subscriptions.due_work import process_due_work

    call_command("migrate", verbosity=0)
    due = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
    setup(args.subscriptions, args.failing_share, due)
    before = count_rows()
    profiler = None
    if args.profile:
        import cProfile

        # CPU time, not wall time: the machine is shared, and waiting for the CPU is not work.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    server_cpu_started = server_cpu()
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = process_due_work(due + timedelta(hours=1), batch_size=args.batch_size)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_cpu_used = None if server_cpu_started is None else server_cpu() - server_cpu_started
    if profiler:
        import pstats

        profiler.disable()
        if os.environ.get("BENCH_PROFILE_OUT"):
            profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])  # for pstats / snakeviz
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(45)
    after = count_rows()
    inserted = {k: after[k] - before[k] for k in after}
    renewals = summary.get("renewals", 0)
    # Rows written: every insert, plus the updates of each subscription, invoice (paid) and attempt (result).
    rows_written = sum(inserted.values()) + 3 * renewals
    raw, raw_cpu = raw_limit(rows_written)
    print(json.dumps({
        "benchmark": "billing_run",
        "engine": connection.vendor,
        "subscriptions": args.subscriptions,
        "renewals": renewals,
        "seconds": round(elapsed, 3),
        # CPU time of this process (SQLite runs inside it): steadier than wall time on a busy machine.
        "cpu_seconds": round(cpu, 3),
        # PostgreSQL: the CPU time of this connection's server process (from /proc) besides.
        "server_cpu_seconds": None if server_cpu_used is None else round(server_cpu_used, 3),
        "renewals_per_second": round(renewals / elapsed, 1),
        "rows_inserted": inserted,
        "rows_written": rows_written,
        "rows_per_second": round(rows_written / elapsed, 1),
        "raw_rows_per_second": round(raw, 1),
        "ratio": round((rows_written / elapsed) / raw, 3),
        # The machine is shared: CPU-time rates are steadier than wall time. On SQLite the
        # database works inside this process, so these count all of the work; on PostgreSQL
        # the server's CPU is not counted, so compare them only on SQLite.
        "renewals_per_cpu_second": round(renewals / cpu, 1),
        "raw_rows_per_cpu_second": round(raw_cpu, 1),
        "cpu_ratio": round((rows_written / cpu) / raw_cpu, 3),
        "target_renewals_per_second": 5000,
    }, indent=2))


if __name__ == "__main__":
    main()
