"""Benchmark: render and queue a campaign to N customers.

    python bench/campaign.py --customers 100000 [--database URL] [--profile]

Creates a fresh database (a temporary SQLite file by default, or the PostgreSQL database in
--database, which is dropped and recreated), bulk-creates N customers (half en, half pt-BR) with
an active subscription each and a segment "plan = pro" (setup is not timed), then times
``campaigns.send_now``: choosing the segment's customers, reading consent, rendering subject,
HTML and plain text per recipient in their language inside the branded layout with a signed
one-click unsubscribe link, and writing the outbox rows. Sending is the SMTP server's speed and
is not measured. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from billing_run import prepare_database  # noqa: E402

AT = datetime(2027, 3, 1, 12, tzinfo=timezone.utc)

HTML_EN = """<h2>What is new in {{ business.name }}</h2>
<p>Hi {{ customer.first_name }},</p>
<p>This month we shipped faster exports, a new dashboard and team roles. Here is how to use them.</p>
<ul><li>Exports: up to 10x faster.</li><li>Dashboard: your numbers at a glance.</li><li>Roles: who can see what.</li></ul>
<p><a href="{{ account_url }}" style="display:inline-block;background:{{ business.color }};color:#fff;padding:12px 20px;border-radius:6px;text-decoration:none;">See what is new</a></p>"""
HTML_PT = """<h2>Novidades da {{ business.name }}</h2>
<p>Olá, {{ customer.first_name }},</p>
<p>Este mês lançamos exportações mais rápidas, um novo painel e papéis de equipe. Veja como usar.</p>
<ul><li>Exportações: até 10x mais rápidas.</li><li>Painel: seus números num relance.</li><li>Papéis: quem vê o quê.</li></ul>
<p><a href="{{ account_url }}" style="display:inline-block;background:{{ business.color }};color:#fff;padding:12px 20px;border-radius:6px;text-decoration:none;">Ver as novidades</a></p>"""


def setup(n: int):
    from django.db import transaction

    from assina.catalog.services import create_plan
    from assina.clock.services import freeze_clock
    from assina.customers.models import Customer
    from assina.notifications.models import Campaign, MarketingConsent, Segment
    from assina.subscriptions.models import Subscription, SubscriptionItem

    freeze_clock(AT)
    plan = create_plan(code="pro", name="Pro", amount=4990, currency="BRL", interval="month", at=AT)
    version = plan.current_version()
    chunk = 5000
    for offset in range(0, n, chunk):
        size = min(chunk, n - offset)
        with transaction.atomic():
            customers = Customer.objects.bulk_create([
                Customer(email=f"c{offset + i}@example.com", name=f"Cliente {offset + i}", currency="BRL",
                         locale="pt-BR" if (offset + i) % 2 else "en", created_at=AT) for i in range(size)])
            subs = Subscription.objects.bulk_create([
                Subscription(customer=c, plan=plan, status="active", currency="BRL", interval="month", billing_anchor=AT,
                             billing_starts_at=AT, started_at=AT, current_period_start=AT, current_period_end=AT.replace(month=4),
                             next_action_at=AT.replace(month=4), created_at=AT) for c in customers])
            SubscriptionItem.objects.bulk_create([SubscriptionItem(subscription=s, plan_version=version) for s in subs])
            # 1 % unsubscribed: their rows are written as suppressed.
            MarketingConsent.objects.bulk_create([MarketingConsent(customer=c, status="revoked", source="bench", changed_at=AT)
                                                  for c in customers[::100]])
    segment = Segment.objects.create(name="Pro customers", plans=["pro"], created_at=AT)
    return Campaign.objects.create(name="March news", segment=segment, subject_en="{{ customer.first_name }}, what is new this month",
                                   html_en=HTML_EN, subject_pt_br="{{ customer.first_name }}, as novidades do mês",
                                   html_pt_br=HTML_PT, created_at=AT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database", help="sqlite:///path or postgres://... (dropped and recreated)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    os.environ["ASSINA_DATABASE_URL"] = prepare_database(args.database)
    os.environ["ASSINA_MODE"] = "sandbox"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    campaign = setup(args.customers)

    from assina.notifications.campaigns import send_now
    from assina.notifications.models import Message

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    counts = send_now(campaign.pk, AT)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(40)
    sample = Message.objects.filter(campaign=campaign).order_by("id").first()
    print(json.dumps({
        "engine": connection.vendor, "customers": args.customers, "seconds": round(elapsed, 2),
        "cpu_seconds_of_this_process": round(cpu, 2),
        "messages_per_second": round(counts["recipients"] / elapsed), "queued": counts["queued"],
        "suppressed": counts["suppressed"], "html_bytes_per_message": len(sample.html.encode()) if sample else 0,
        "target_seconds": 30, "within_target": elapsed <= 30,
    }))


if __name__ == "__main__":
    main()
