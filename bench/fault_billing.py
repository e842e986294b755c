"""Fault benchmark: bill thousands of subscriptions (some with failing cards) through months of
test-clock time while the worker process is killed with SIGKILL at random moments and
restarted, over and over; then ``assina check --json`` must report zero violations.

    .venv/bin/python bench/fault_billing.py --subscriptions 3000 --kills 60
    .venv/bin/python bench/fault_billing.py --subscriptions 3000 --kills 60 --database postgres://postgres@127.0.0.1:5432/assina_pay_fault

The worker here is ``assina clock advance --to T`` (the test clock's worker: renewals, payment
retries, final actions, in time order), moved forward one week at a time; each run is killed
after a random delay until one finishes. A PostgreSQL database named in --database is dropped
and recreated. Prints one JSON object: kills survived, subscriptions, attempts, invoices, the
check's result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from fresh_database import is_postgres, recreate_postgres

ROOT = Path(__file__).resolve().parent.parent
ASSINA = Path(sys.executable).with_name("assina")
START = datetime(2027, 1, 4, 9, tzinfo=timezone.utc)
SOFT, HARD = "insufficient_funds", "lost_card"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def setup(subscriptions: int, failing_share: float, seed: int) -> dict:
    """Runs inside Django (a subprocess): plans, customers and subscriptions through the services."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from assina.catalog.services import create_plan
    from assina.payments.new_customer import create_customer
    from assina.payments.sandbox import schedule_card
    from assina.subscriptions.services import create_subscription

    rng = random.Random(seed)
    create_plan(code="monthly", name="Monthly", amount=4990, currency="BRL", interval="month", at=START)
    create_plan(code="weekly", name="Weekly", amount=1290, currency="BRL", interval="week", at=START)
    failing = 0
    for n in range(subscriptions):
        at = START - timedelta(minutes=n % 600)  # anchors spread over ten hours before the clock
        customer = create_customer(email=f"fault{n}@example.com", at=at, currency="BRL", card="4242424242424242")
        create_subscription(customer=customer, plan_code="weekly" if n % 3 == 0 else "monthly", start=at)
        if rng.random() < failing_share:
            failing += 1
            token = customer.default_payment_method.token
            fails_at = START + timedelta(days=rng.uniform(1, 40))
            schedule_card(token, fails_at, HARD if rng.random() < 0.25 else SOFT)
            if rng.random() < 0.5:  # topped up later: recovered by a retry
                schedule_card(token, fails_at + timedelta(days=rng.uniform(0.5, 12)), "")
    return {"subscriptions": subscriptions, "failing_cards": failing}


def _run(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(ASSINA), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=3000)
    parser.add_argument("--failing-share", type=float, default=0.08)
    parser.add_argument("--kills", type=int, default=60, help="how many SIGKILLs to deliver")
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--max-delay", type=float, default=3.0, help="longest wait before a kill (seconds)")
    parser.add_argument("--database")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        print(json.dumps(setup(args.subscriptions, args.failing_share, args.seed)))
        return 0

    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="assina-fault-")
    url = args.database or f"sqlite:///{tmp}/fault.sqlite3"
    if is_postgres(url):
        recreate_postgres(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_MODE="sandbox", ASSINA_TIME_ZONE="UTC", ASSINA_DEFAULT_CURRENCY="BRL",
               PYTHONPATH=str(ROOT / "src"))
    for cmd in (("migrate",), ("clock", "advance", "--to", _iso(START))):
        done = _run(env, "--json", *cmd)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
    made = subprocess.run([sys.executable, __file__, "--setup", "--subscriptions", str(args.subscriptions),
                           "--failing-share", str(args.failing_share), "--seed", str(args.seed)],
                          env=env, capture_output=True, text=True, cwd=ROOT)
    if made.returncode:
        print(made.stderr, file=sys.stderr)
        return 1
    business = json.loads(made.stdout)
    setup_seconds = time.monotonic() - started

    rng = random.Random(args.seed)
    kills = runs = 0
    worker_started = time.monotonic()
    for week in range(1, args.weeks + 1):
        target = _iso(START + timedelta(weeks=week))
        while True:
            runs += 1
            # Output to a file, never a pipe: a full pipe would stall the worker between kills.
            log = open(Path(tmp) / "worker.log", "w")
            process = subprocess.Popen([str(ASSINA), "--json", "clock", "advance", "--to", target], env=env, cwd=ROOT,
                                       stdout=subprocess.DEVNULL, stderr=log)
            if kills < args.kills:
                delay = rng.uniform(0.2, args.max_delay)
                try:
                    process.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)  # kill -9: no cleanup, no rollback handler
                    process.wait()
                    log.close()
                    kills += 1
                    continue
            process.wait(timeout=1800)
            log.close()
            if process.returncode != 0:
                print(f"worker failed at week {week}: {(Path(tmp) / 'worker.log').read_text()[-3000:]}", file=sys.stderr)
                return 1
            break
    worker_seconds = time.monotonic() - worker_started
    check = _run(env, "--json", "check")
    result = json.loads(check.stdout)
    report = _run(env, "--json", "dunning", "report")
    totals = json.loads(report.stdout)["totals"] if report.returncode == 0 else {}
    print(json.dumps({
        "engine": "postgresql" if url.startswith("postgres") else "sqlite",
        "subscriptions": business["subscriptions"], "failing_cards": business["failing_cards"],
        "weeks_billed": args.weeks, "kills_survived": kills, "worker_runs": runs,
        "invoices": result["checked"]["invoices"], "attempts": result["checked"]["attempts"],
        "failed_attempts": result["checked"]["failed_attempts"],
        "check_exit_code": check.returncode, "violations": result["violations"], "by_check": result["by_check"],
        "details": result["details"], "recovery": totals,
        "setup_seconds": round(setup_seconds, 1), "worker_seconds": round(worker_seconds, 1),
    }, indent=None))
    return 0 if check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
