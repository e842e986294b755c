"""Benchmark: a price migration's notice run for N subscribers (issue 19: 100,000 in <= 30 s on SQLite).

    python bench/repricing.py --subscribers 100000 [--database URL] [--profile]

Creates a fresh database (a temporary SQLite file by default, or the PostgreSQL database in
--database, dropped and recreated), bulk-creates N customers (half en, half pt-BR, anchors spread
over 28 days, each its own second, quantities 1 to 3) with an active monthly subscription to "pro", a cheaper
"basic" and an annual "pro-annual" (setup not timed), then times
``repricing.services.create_migration``: the new plan version, choosing the subscriptions,
their MRR, each one's first renewal on or after the effective date, the member rows, and each
customer's notice rendered in their language (subject, HTML, text, with the three options priced
for their quantity and a signed single-use portal button) written to the outbox.

The peer, in the same run: a plain bulk insert (``assina.db.insert_rows``) of the same member
and outbox rows, already built (read back, deleted, inserted again): what the writes alone cost.
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from billing_run import prepare_database  # noqa: E402

AT = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)


def setup(n: int) -> None:
    from dateutil.relativedelta import relativedelta
    from django.db import transaction

    from assina.catalog.services import create_plan
    from assina.clock.services import freeze_clock
    from assina.customers.models import Customer
    from assina.subscriptions.models import Subscription, SubscriptionItem
    from assina.upgrades.models import AnnualOffer

    freeze_clock(AT)
    pro = create_plan(code="pro", name="Pro", amount=4990, currency="BRL", interval="month", at=AT, pricing_model="per_unit")
    create_plan(code="basic", name="Basic", amount=3990, currency="BRL", interval="month", at=AT, pricing_model="per_unit")
    annual = create_plan(code="pro-annual", name="Pro Annual", amount=49900, currency="BRL", interval="year", at=AT,
                         pricing_model="per_unit")
    AnnualOffer.objects.create(monthly_plan=pro, annual_plan=annual, incentive="percent", percent_off=10, created_at=AT)
    version = pro.current_version()
    chunk = 5000
    for offset in range(0, n, chunk):
        size = min(chunk, n - offset)
        with transaction.atomic():
            customers = Customer.objects.bulk_create([
                Customer(email=f"c{offset + i}@example.com", name=f"Cliente {offset + i}", currency="BRL",
                         locale="pt-BR" if (offset + i) % 2 else "en", created_at=AT - timedelta(days=60)) for i in range(size)])
            subs = []
            for i, c in enumerate(customers):
                anchor = AT - timedelta(days=(offset + i) % 28, seconds=offset + i)  # every anchor its own
                end = anchor + relativedelta(months=1)
                subs.append(Subscription(customer=c, plan=pro, status="active", currency="BRL", interval="month",
                                         billing_anchor=anchor - relativedelta(months=1), billing_starts_at=anchor,
                                         started_at=anchor, current_period_start=anchor, current_period_end=end,
                                         next_action_at=end, created_at=anchor))
            subs = Subscription.objects.bulk_create(subs)
            SubscriptionItem.objects.bulk_create([SubscriptionItem(subscription=s, plan_version=version, quantity=1 + k % 3)
                                                  for k, s in enumerate(subs)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--database", help="sqlite:///path or postgres://... (dropped and recreated)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ["ASSINA_DATABASE_URL"] = prepare_database(args.database)
    os.environ["ASSINA_MODE"] = "sandbox"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    setup(args.subscribers)

    from assina.db import insert_rows
    from assina.notifications.models import Message
    from assina.repricing.models import PriceMigrationMember as Member
    from assina.repricing.services import MEMBER_FIELDS, create_migration

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    migration = create_migration(plan_code="pro", new_amount=5990, effective_at=AT + timedelta(days=45), loyalty_percent="10",
                                 loyalty_periods=3, switch_plan_code="basic", allow_annual=True)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(40)
    notices = Message.objects.filter(template="price_migration_notice")
    count = notices.count()
    sample = notices.order_by("id").first()

    # The peer: the same rows, inserted plainly.
    message_fields = [f.attname for f in Message._meta.concrete_fields]
    member_rows = list(Member.objects.filter(migration=migration).order_by("id").values_list(*MEMBER_FIELDS))
    message_rows = list(notices.order_by("id").values_list(*message_fields))
    with transaction.atomic():
        notices.delete()
        Member.objects.filter(migration=migration).delete()
    peer_started = time.perf_counter()
    with transaction.atomic():
        insert_rows(Member, MEMBER_FIELDS, member_rows)
        insert_rows(Message, message_fields, message_rows)
    peer = time.perf_counter() - peer_started
    print(json.dumps({
        "engine": connection.vendor, "subscribers": args.subscribers, "notices": count, "seconds": round(elapsed, 2),
        "cpu_seconds_of_this_process": round(cpu, 2), "notices_per_second": round(count / elapsed),
        "peer_plain_bulk_insert_seconds": round(peer, 2), "ratio_to_peer": round(elapsed / peer, 1),
        "html_bytes_per_notice": len(sample.html.encode()) if sample else 0,
        "load_average": os.getloadavg()[0], "target_seconds": 30, "within_target": elapsed <= 30,
    }))


if __name__ == "__main__":
    main()
