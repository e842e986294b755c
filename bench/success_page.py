"""Benchmark: the owner's customer page (``/workspace/customers/<id>/``) for a customer with five
years of history, against the Django admin's change page of the same customer in the same run;
and the customer list over ``--customers`` customers (issue 20).

    .venv/bin/python bench/success_page.py [--database URL] [--customers 100000] [--years 5] [--repeat 30]

Creates a fresh database (a temporary SQLite file, or the PostgreSQL database in --database,
dropped and recreated). One customer's history is made through the services on the sandbox
clock: a monthly subscription for ``--years`` years (every renewal invoiced, paid and mailed by
the billing and mail jobs; a quantity change each year), about three product events a day, a
note a month, an NPS answer a quarter, so the timeline's sources hold thousands of rows. Then
``--customers`` other customers are written in bulk (each with a subscription and its item, ~90 %
with a health score, ~30 % with an NPS answer, three events each) so the tables the page and the
list read are the size of a real shop's. The jobs that score health, train the churn model and run
playbooks are left out while the clock moves (their own benchmark is bench/success.py); the
health score of the customer is written directly.

Timed in this process through Django's test client as a signed-in superuser (the whole
middleware, the view, the template; no network): each page ``--repeat`` times after one warm-up
request (the first request's time is printed too: it builds the lifetime-value forecast, which
both pages then keep), median and p90 in ms, and the SQL statements one request runs. Pages:
the workspace's customer page; the same customer's Django admin change page (the peer); the
timeline's second page; the customer list (newest first; filtered by health band and sorted by
churn risk; detractors in Brazil; promoters and passives; MRR at least R$ 100, at most R$ 40
(customers without a paying subscription included), from R$ 50 to R$ 100 among those at risk:
each evaluates every candidate's MRR in the database; page 1,000). Target: the customer page in
<= 100 ms. Prints JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

START = datetime(2022, 1, 3, 9, tzinfo=timezone.utc)
LEFT_OUT = ("health_scores", "churn_model_training", "playbooks")


def history(years: int) -> int:
    """The customer with ``years`` of history, made through the services; their id."""
    from assina import jobs
    from assina.clock.services import freeze_clock
    from assina.engagement.services import EventRow, add_note, record_events
    from assina.feedback.services import record_response
    from assina.payments.new_customer import create_customer
    from assina.payments.services import attach_card
    from assina.scheduler import advance_clock
    from assina.subscriptions.changes import change_subscription
    from assina.subscriptions.services import create_subscription
    from assina.catalog.services import create_plan

    for name in LEFT_OUT:
        jobs._JOBS.pop(name, None)
    freeze_clock(START)
    create_plan(code="pro", name="Pro", amount=4990, currency="BRL", interval="month", at=START)
    customer = create_customer(email="helena@example.com", name="Helena Prado", at=START, currency="BRL",
                               locale="pt-BR", country="BR")
    attach_card(customer, "4242424242424242", START, exp_month=12, exp_year=START.year + 10)  # lasts the history
    sub = create_subscription(customer=customer, plan_code="pro")
    months = years * 12
    for m in range(1, months + 1):
        at = START + timedelta(days=round(m * 365.25 / 12))
        advance_clock(at)
        add_note(customer, body=f"Monthly check-in {m}: asked about reports and invoices.", kind="call" if m % 3 else "note")
        if m % 3 == 0:
            record_response(customer=customer, survey="nps", score=(m * 7) % 11, comment=f"Comment {m}: support could be faster",
                            submitted_at=at, source="api", at=at)
        if m % 12 == 6:
            change_subscription(sub.pk, quantity=2 + (m // 12) % 2)
    end = START + timedelta(days=round(months * 365.25 / 12))
    rows = []
    for d in range(0, (end - START).days):
        for k in range(3):
            rows.append(EventRow(f"h{d}-{k}", customer.pk, ("login", "report_exported", "user_invited")[k],
                                 START + timedelta(days=d, hours=8 + k)))
    record_events(rows)
    return customer.pk


def others(n: int, at: datetime) -> None:
    """``n`` more customers in bulk: a subscription and its items each, health scores, NPS answers,
    events. Their MRR varies as a shop's does: one in seven pays yearly, one in four has an
    add-on of 0-4 extra seats, one in six a 20 % discount in force, one in thirteen is in a trial."""
    from assina.catalog.models import PlanVersion
    from assina.catalog.services import create_coupon, create_plan
    from assina.customers.models import Customer
    from assina.db import insert_rows
    from assina.events.models import Event
    from assina.feedback.models import SurveyResponse
    from assina.subscriptions.models import Subscription, SubscriptionItem
    from assina.success.models import HealthScore

    template = Subscription.objects.first()
    item = SubscriptionItem.objects.filter(subscription=template).first()
    annual = create_plan(code="pro-annual", name="Pro (annual)", amount=49900, currency="BRL", interval="year", at=at)
    seats = create_plan(code="extra-seats", name="Extra seats", amount=1500, currency="BRL", interval="month", at=at,
                        pricing_model="per_unit", kind="addon")
    annual_version, seats_version = (PlanVersion.objects.get(plan=plan) for plan in (annual, seats))
    coupon = create_coupon(code="loyal20", duration="forever", percent_off="20", at=at)
    first = Customer.objects.count()
    for start in range(0, n, 20_000):
        chunk = range(start, min(n, start + 20_000))
        Customer.objects.bulk_create([Customer(
            email=f"c{i}@example.com", name=f"Cliente {i}", currency="BRL", country=("BR", "US", "PT")[i % 3],
            locale="pt-BR" if i % 2 else "en", created_at=at - timedelta(days=i % 1800)) for i in chunk])
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[first:])
    fields = {f.attname: getattr(template, f.attname) for f in Subscription._meta.concrete_fields if f.attname != "id"}

    def subscription(pk: int) -> Subscription:
        row = {**fields, "customer_id": pk, "next_action_at": None,
               "status": "trialing" if pk % 13 == 0 else "active" if pk % 10 else "past_due"}
        if pk % 7 == 0:
            row.update(plan_id=annual.pk, interval="year")
        if pk % 6 == 0:
            row.update(coupon_id=coupon.pk, discount_applies_from=at - timedelta(days=30), discount_applies_until=None)
        return Subscription(**row)

    for start in range(0, len(ids), 20_000):
        chunk = ids[start:start + 20_000]
        subs = Subscription.objects.bulk_create([subscription(pk) for pk in chunk])
        SubscriptionItem.objects.bulk_create(
            [SubscriptionItem(subscription_id=s.pk, plan_version_id=annual_version.pk if s.interval == "year"
                              else item.plan_version_id, quantity=1 + s.pk % 3) for s in subs]
            + [SubscriptionItem(subscription_id=s.pk, plan_version_id=seats_version.pk, quantity=s.customer_id % 5)
               for s in subs if s.customer_id % 4 == 0])
        HealthScore.objects.bulk_create([HealthScore(
            customer_id=pk, score=pk % 101, band="healthy" if pk % 101 >= 70 else "watch" if pk % 101 >= 40 else "at_risk",
            churn_probability=(pk % 97) / 100, reasons=[], computed_at=at) for pk in chunk if pk % 10])
        SurveyResponse.objects.bulk_create([SurveyResponse(
            customer_id=pk, survey="nps", score=pk % 11, submitted_at=at - timedelta(days=pk % 300), source="api",
            idempotency_key=f"bench-{pk}", created_at=at, updated_at=at) for pk in chunk if pk % 3 == 0])
        insert_rows(Event, ["type", "occurred_at", "customer_id", "subject_type", "subject_id", "data"],
                    [(t, at - timedelta(days=pk % 900), pk, "customer", pk, {}) for pk in chunk
                     for t in ("customer.created", "invoice.created", "invoice.paid")])


def timed(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    first = client.get(url)
    first_ms = (time.perf_counter() - started) * 1000
    if first.status_code != 200:
        raise SystemExit(f"{url}: {first.status_code}")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    times.sort()
    return {"url": url, "first_ms": round(first_ms, 1), "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(times[int(len(times) * 0.9) - 1], 1), "statements": len(queries), "bytes": len(first.content)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="PostgreSQL URL (dropped and recreated); default: a temporary SQLite file")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    if args.database:
        from fresh_database import recreate_postgres

        url = recreate_postgres(args.database)
    else:
        url = "sqlite:///" + str(Path(tempfile.mkdtemp(prefix="assina-page-bench-")) / "bench.sqlite3")
    os.environ["ASSINA_DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    os.environ.setdefault("ASSINA_EMAIL_URL", "console")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from assina.engagement.models import CustomerNote, EngagementEvent
    from assina.events.models import Event
    from assina.invoices.models import Invoice
    from assina.notifications.models import Message
    from assina.success.models import HealthScore
    from assina.time import now

    settings.ALLOWED_HOSTS = ["*"]
    quiet = contextlib.redirect_stdout(sys.stderr)  # the console mail backend prints every message
    quiet.__enter__()
    try:
        call_command("migrate", verbosity=0)
        made = time.perf_counter()
        customer_id = history(args.years)
        HealthScore.objects.create(customer_id=customer_id, score=38, band="at_risk", churn_probability=0.41,
                                   reasons=[{"code": "usage_down", "value": 45}], computed_at=now())
        history_seconds = time.perf_counter() - made
        made = time.perf_counter()
        others(args.customers, now())
        others_seconds = time.perf_counter() - made
        rows = {"events": Event.objects.filter(customer_id=customer_id).count(),
                "invoices": Invoice.objects.filter(customer_id=customer_id).count(),
                "emails": Message.objects.filter(customer_id=customer_id).count(),
                "engagement_events": EngagementEvent.objects.filter(customer_id=customer_id).count(),
                "notes": CustomerNote.objects.filter(customer_id=customer_id).count()}
        User.objects.create_superuser("owner", password="bench-pass-1")
        client = Client()
        client.force_login(User.objects.get(username="owner"))
        load_before = os.getloadavg()[0]
        page = f"/workspace/customers/{customer_id}/"
        ours = timed(client, page, args.repeat)
        peer = timed(client, f"/admin/customers/customer/{customer_id}/change/", args.repeat)
        older = re.search(r'href="(\?[^"]+)" id="ws-older"', client.get(page).content.decode())
        second = timed(client, page + older.group(1).replace("&amp;", "&"), args.repeat) if older else None
        lists = {
            "newest": timed(client, "/workspace/customers/", args.repeat),
            "at_risk_by_risk": timed(client, "/workspace/customers/?health=at_risk&sort=risk", args.repeat),
            "detractors_in_br": timed(client, "/workspace/customers/?nps=detractor&country=BR", max(3, args.repeat // 5)),
            "promoters_and_passives": timed(client, "/workspace/customers/?nps=promoter&nps=passive", max(3, args.repeat // 5)),
            "mrr_at_least_100": timed(client, "/workspace/customers/?mrr_min=100", max(3, args.repeat // 10)),
            "mrr_at_most_40": timed(client, "/workspace/customers/?mrr_max=40", max(3, args.repeat // 10)),
            "at_risk_mrr_50_to_100_by_risk": timed(
                client, "/workspace/customers/?health=at_risk&mrr_min=50&mrr_max=100&sort=risk", max(3, args.repeat // 10)),
            "page_1000": timed(client, "/workspace/customers/?page=1000", args.repeat),
        }
        load_after = os.getloadavg()[0]
        vendor = connection.vendor
    finally:
        quiet.__exit__(None, None, None)
        if url.startswith("sqlite:///"):
            shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)
    print(json.dumps({
        "benchmark": "success_page", "database": vendor, "python": platform.python_version(),
        "customers": args.customers + 1, "history_years": args.years, "history_rows": rows,
        "made_in_seconds": {"history": round(history_seconds, 1), "other_customers": round(others_seconds, 1)},
        "customer_page": ours, "admin_change_page_peer": peer,
        "customer_page_over_peer": round(ours["median_ms"] / peer["median_ms"], 3),
        "timeline_second_page": second, "customer_list": lists,
        "target_customer_page_ms": 100, "met": ours["median_ms"] <= 100,
        "load_average_1m_before": round(load_before, 2), "load_average_1m_after": round(load_after, 2),
    }, indent=2))


if __name__ == "__main__":
    main()
