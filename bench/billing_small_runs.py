"""Benchmark: the fixed cost of the billing job when it has little to do (the demo's case).

    python bench/billing_small_runs.py [--customers 500] [--months 6] [--seed 7] [--database URL]

Runs the demo simulation (``assina simulate``) on a fresh database (a temporary SQLite file by
default) with the billing job wrapped: every pass of the job (``process_due_work`` and its
``has_work`` check) is counted, with the SQL statements it ran (Django's
CaptureQueriesContext) and its CPU time. Prints JSON: passes, statements per pass (mean,
median, and the mean for passes that renewed at most a few subscriptions), CPU per pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def fingerprint() -> dict:
    """Digests of what the run wrote (invoices, lines, attempts, events, subscriptions), to
    compare two versions of the code: equal digests, equal results. Gateway charge ids are
    random, so they are left out."""
    import hashlib

    from assina.events.models import Event
    from assina.invoices.models import Invoice, InvoiceLine
    from assina.payments.models import PaymentAttempt
    from assina.subscriptions.models import Subscription

    def digest(rows) -> str:
        h = hashlib.sha256()
        for row in rows:
            h.update(repr(row).encode())
        return h.hexdigest()[:16]

    def event_row(e):
        data = {k: v for k, v in e[4].items() if k not in ("charge", "payment")}
        if "payment" in e[4]:
            data["payment"] = {k: v for k, v in e[4]["payment"].items() if k != "charge"}
        return (e[0], e[1], e[2], e[3], sorted(data.items()))

    events = [event_row(e) for e in Event.objects.order_by("id").values_list("type", "occurred_at", "customer_id",
                                                                              "subject_type", "data")]
    return {
        "invoices": digest(Invoice.objects.order_by("id").values_list(
            "number", "customer_id", "subscription_id", "status", "billing_reason", "period_start", "total",
            "amount_due", "amount_paid", "credit_applied", "paid_at", "next_payment_attempt", "attempt_count",
            "dunning_status")),
        "lines": digest(InvoiceLine.objects.order_by("invoice__number", "id").values_list(
            "invoice__number", "kind", "description", "amount", "period_start")),
        "attempts": digest(PaymentAttempt.objects.order_by("id").values_list(
            "invoice__number", "number", "idempotency_key", "amount", "status", "decline_code", "created_at",
            "completed_at", "next_retry_at")),
        "subscriptions": digest(Subscription.objects.order_by("id").values_list(
            "status", "current_period_start", "current_period_end", "next_action_at", "grace_until")),
        "events_in_order": digest(events),
        "events_sorted": digest(sorted(events, key=repr)),
        "event_count": len(events),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", help="ASSINA_DATABASE_URL (default: a temporary SQLite file)")
    parser.add_argument("--end", default="2026-11-01", help="the simulated time's last day (fixed, so runs compare)")
    parser.add_argument("--show", action="store_true", help="print the statements of the first few small passes to stderr")
    args = parser.parse_args()

    from billing_run import prepare_database

    os.environ["ASSINA_DATABASE_URL"] = prepare_database(args.database)
    os.environ["ASSINA_MODE"] = "sandbox"
    # The simulation's mail goes to a file in the temporary directory, not to this output.
    os.environ.setdefault("ASSINA_SMTP_URL", "file:" + tempfile.mkdtemp(prefix="assina-bench-mail-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assina.jobs import _JOBS, register_job
    from assina.simulation.runner import simulate

    call_command("migrate", verbosity=0)
    billing = _JOBS["billing"]
    passes: list[dict] = []
    checks = {"count": 0, "queries": 0, "cpu": 0.0}
    shown = Counter()

    def run(until, *, at_due_time):
        # The log keeps the last 9,000 statements only: emptied first, so none is lost.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            cpu = time.process_time()
            summary = billing.run(until, at_due_time=at_due_time)
            cpu = time.process_time() - cpu
        work = sum(v for k, v in summary.items() if k != "reconciled_attempts")
        passes.append({"queries": len(captured), "cpu": cpu, "work": work})
        if args.show and work <= 5 and shown["n"] < 3:
            shown["n"] += 1
            print(f"--- pass with {dict(summary)}: {len(captured)} statements", file=sys.stderr)
            for q in captured.captured_queries:
                print("   ", q["sql"][:220], file=sys.stderr)
        return summary

    def has_work(until):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            cpu = time.process_time()
            answer = billing.has_work(until)
            checks["cpu"] += time.process_time() - cpu
        checks["count"] += 1
        checks["queries"] += len(captured)
        return answer

    # Everything in this process, in one order: a simulation that sends its mail from a
    # second process (when it does) would make the billing passes depend on timing.
    from assina.simulation import runner

    if hasattr(runner, "FollowerProcess"):
        import contextlib

        runner.FollowerProcess = contextlib.nullcontext
    register_job("billing", run, next_due=billing.next_due, order=billing.order, has_work=has_work, follows=billing.follows)
    cpu_started = time.process_time()
    end = datetime.fromisoformat(args.end).replace(tzinfo=timezone.utc)
    simulate(customers=args.customers, months=args.months, seed=args.seed, progress=False, end=end)
    total_cpu = time.process_time() - cpu_started
    small = [p for p in passes if p["work"] <= 5]
    queries = [p["queries"] for p in passes]
    print(json.dumps({
        "benchmark": "billing_small_runs",
        "engine": connection.vendor,
        "customers": args.customers, "months": args.months, "seed": args.seed,
        "passes": len(passes),
        "work_items": sum(p["work"] for p in passes),
        "statements": sum(queries),
        "statements_per_pass": round(statistics.mean(queries), 2) if queries else 0,
        "statements_per_pass_median": statistics.median(queries) if queries else 0,
        "small_passes": len(small),
        "statements_per_small_pass": round(statistics.mean(p["queries"] for p in small), 2) if small else 0,
        "billing_cpu_seconds": round(sum(p["cpu"] for p in passes), 3),
        "cpu_ms_per_pass": round(1000 * sum(p["cpu"] for p in passes) / len(passes), 2) if passes else 0,
        "checks": checks["count"], "check_statements": checks["queries"], "check_cpu_seconds": round(checks["cpu"], 3),
        "simulation_cpu_seconds": round(total_cpu, 3),
        "fingerprint": fingerprint(),
        "load_average": os.getloadavg(),
    }, indent=2))


if __name__ == "__main__":
    main()
