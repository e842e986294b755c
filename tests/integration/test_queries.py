"""Every hand-written statement (an app's ``queries.py``) gives what its ORM twin gives.

A statement that reads is run beside its twin on the same rows and the answers compared. A
statement that writes is run on a state, the rows it leaves are read back through the ORM and
the state is rolled back; then its twin is run on the same state, and both answers and both sets
of rows must be equal. Datetime columns are also compared as the database stores them (cast to
text): a fast path that stored ``12:00:00`` where the ORM stores ``12:00:00.000000``
would sort and compare differently in SQLite. The PostgreSQL pass of ``make test`` runs this
module too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from datetime import timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from django.db import models, transaction
from django.db.models.functions import Cast
from factories import (FAILING_CARD, GOOD_CARD, advance, make_addon, make_customer, make_plan, start_clock, subscribe,
                       utc)

from assina.api import queries as api_queries
from assina.api.keys import create_key, hash_secret, revoke_key
from assina.catalog import queries as catalog_queries
from assina.catalog.services import change_plan_price, create_coupon, create_promotion_code
from assina.catalog.models import Coupon, Plan, PromotionCode
from assina.clock import queries as clock_queries
from assina.customers import queries as customer_queries
from assina.customers.models import Customer
from assina.clock.models import ClockState, Installation
from assina.events import queries as event_queries
from assina.events.models import Event
from assina.feedback import queries as feedback_queries
from assina.playbooks import queries as playbook_queries
from assina.invoices import queries as invoice_queries
from assina.invoices.models import Invoice, NumberSequence
from assina.invoices.numbering import take_numbers
from assina.notifications import campaigns
from assina.notifications import queries as notification_queries
from assina.engagement import queries as engagement_queries
from assina.notifications import reminders
from assina.notifications.jobs import produce_events
from assina.notifications.models import Campaign, Message, MessageTemplate, Segment
from assina.notifications.template_store import sync_templates
from assina.payments import queries as payment_queries
from assina.portal import queries as portal_queries
from assina.repricing import queries as repricing_queries
from assina.selling import queries as selling_queries
from assina.selling.models import CheckoutRequest, CheckoutSession, CheckoutSuggestion
from assina.payments.models import Refund
from assina.payments.refunds import refund_invoice
from assina.payments.services import attach_card
from assina.subscriptions import queries as subscription_queries
from assina.subscriptions.changes import change_subscription
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import cancel_at_period_end, cancel_now, pause
from assina.time import FROZEN_AT_SQL, frozen_at
from assina.usage import queries as usage_queries
from assina.usage.models import UsageEvent
from assina.usage.services import create_metric, record_usage
from assina.usage.wire import UsageEventStruct
from assina.upgrades import queries as upgrade_queries
from assina.upgrades.models import AnnualOffer, TemporaryUpgrade, TrialPlan
from assina.webhooks import queries as webhook_queries
from assina.webhooks.fanout import fan_out
from assina.webhooks.models import FannedOutEvent, WebhookDelivery
from assina.webhooks.services import create_endpoint, update_endpoint

SRC = Path(__file__).resolve().parents[2] / "src" / "assina"
T0 = utc(2027, 1, 10, 9)

# The ORM twins a test below compares with their statements (filled by ``compares``).
COMPARED: set[str] = set()


def compares(*twins):
    def mark(test):
        COMPARED.update(f"{twin.__module__}.{twin.__name__}" for twin in twins)
        return test
    return mark


def _rows(model: type[models.Model]) -> list[tuple]:
    """Every row of ``model`` read through the ORM, ids aside, datetimes also as the database
    stores them, in a stable order. (JSON is compared as values: SQLite's JSON functions write
    ``{"a":1}`` where ``json.dumps`` writes ``{"a": 1}``, which reads back the same.)"""
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    stored = {f"_stored_{f.name}": Cast(f.name, output_field=models.TextField()) for f in fields
              if isinstance(f, models.DateTimeField)}
    names = [f.attname for f in fields] + list(stored)
    return sorted(model.objects.annotate(**stored).values_list(*names), key=repr)


def _written(write, *tables: type[models.Model]):
    """What ``write()`` answers and the rows it leaves in ``tables``; then the state is undone."""
    savepoint = transaction.savepoint()
    try:
        answer = write()
        return answer, [_rows(model) for model in tables]
    finally:
        transaction.savepoint_rollback(savepoint)


def assert_same_writes(statement, twin, *tables: type[models.Model], same_answer: bool = True):
    """The statement and its twin, each run on the same state, leave the same rows."""
    fast_answer, fast_rows = _written(statement, *tables)
    orm_answer, orm_rows = _written(twin, *tables)
    assert fast_rows == orm_rows
    if same_answer:
        assert fast_answer == orm_answer
    return fast_answer, fast_rows


# --- the clock ------------------------------------------------------------------------------------

def test_frozen_at_names_the_clock_state_table_and_columns():
    """The time leaf imports no app, so its statement is a literal: checked here against the model."""
    meta = ClockState._meta
    assert clock_queries.FROZEN_AT == FROZEN_AT_SQL == (
        f"SELECT {meta.get_field('frozen_at').column} FROM {meta.db_table} WHERE {meta.pk.column} = 1")


@pytest.mark.django_db
@compares(clock_queries.frozen_at_orm)
def test_frozen_at_reads_what_the_orm_reads():
    row = clock_queries.frozen_at_orm().first()
    assert frozen_at() is None is (row[0] if row else None)
    for at in (utc(2027, 3, 1, 12), utc(2027, 3, 1, 12, 0, 5) + timedelta(microseconds=250)):
        start_clock(at)
        (orm,) = clock_queries.frozen_at_orm().get()
        assert frozen_at() == orm == at


@pytest.mark.django_db
@compares(clock_queries.recorded_mode_orm)
def test_recorded_mode_reads_what_the_orm_reads():
    assert clock_queries.recorded_mode() == clock_queries.recorded_mode_orm() == "sandbox"  # recorded by migrate
    Installation.objects.filter(pk=1).update(mode="live")
    assert clock_queries.recorded_mode() == clock_queries.recorded_mode_orm() == "live"
    Installation.objects.all().delete()
    assert clock_queries.recorded_mode() is clock_queries.recorded_mode_orm() is None


# --- events -----------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(event_queries.insert_event_orm)
def test_event_insert_stores_what_the_orm_stores():
    customer = make_customer(card=None)
    sao_paulo = utc(2027, 3, 1, 12, 0, 5).astimezone(ZoneInfo("America/Sao_Paulo"))
    cases = [
        ("invoice.paid", utc(2027, 3, 1, 12), customer.pk, "invoice", 7, {"total": 4990, "currency": "BRL"}),
        ("customer.updated", sao_paulo + timedelta(microseconds=5), None, "customer", customer.pk,
         {"name": "Zoë \"Z\" Ñandú", "tags": ["a", 1, None], "nested": {"x": 1.5, "ok": True}}),
        ("plan.created", utc(2027, 3, 1), None, "plan", 1, {}),
    ]
    for args in cases:
        def fast(args=args):
            pk = event_queries.insert_event(*args)
            assert Event.objects.filter(pk=pk, type=args[0]).exists()  # the id returned is the row's
            return pk
        assert_same_writes(fast, lambda args=args: event_queries.insert_event_orm(*args), Event, same_answer=False)


# --- invoices ---------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(invoice_queries.advance_sequence_orm)
def test_advancing_a_number_sequence_matches_the_orm():
    start_clock(T0)
    take_numbers("invoice", 2027, 3)  # the sequence of 2027 exists, next value 4
    for key, count in (("invoice-2027", 1), ("invoice-2027", 5), ("invoice-2031", 2)):
        answer, _rows = assert_same_writes(lambda: invoice_queries.advance_sequence(key, count),
                                           lambda: invoice_queries.advance_sequence_orm(key, count), NumberSequence)
        assert answer == (None if key == "invoice-2031" else 4 + count)


# --- payments ---------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(payment_queries.first_retry_and_final_orm, payment_queries.retry_final_and_pending_refund_orm)
def test_the_retry_checks_read_what_the_orm_reads():
    def both():
        fast = (payment_queries.first_retry_and_final(), payment_queries.retry_final_and_pending_refund())
        assert fast == (payment_queries.first_retry_and_final_orm(), payment_queries.retry_final_and_pending_refund_orm())
        return fast

    assert both() == ((None, None), (None, None, False))
    start_clock(T0)
    make_plan("pro", 4990)
    paying = make_customer()
    subscribe(paying, "pro")
    refund_invoice(Invoice.objects.get(customer=paying).pk, T0)
    failing = make_customer()
    sub = subscribe(failing, "pro")
    attach_card(failing, FAILING_CARD, T0)
    advance(sub.current_period_end)  # the renewal's payment is declined: a retry is set
    cardless = subscribe(make_customer(card=None), "pro", trial_days=1)
    advance(cardless.current_period_end)  # no card when the trial ends: the final action waits for one
    (retry, final), (_, _, pending) = both()
    assert retry is not None and final is not None and not pending
    Refund.objects.update(status=Refund.Status.PENDING)  # what a crash during a refund leaves
    assert both()[1][2] is True


# --- subscriptions ----------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(subscription_queries.first_expiring_card_orm)
def test_the_first_expiring_card_is_what_the_orm_finds():
    start_clock(T0)
    make_plan("pro", 4990)
    in_use, spare, subscribed = make_customer(card=None), make_customer(card=None), make_customer(card=None)
    attach_card(in_use, GOOD_CARD, T0, exp_month=5, exp_year=2027)  # a customer's default card
    attach_card(spare, GOOD_CARD, T0, exp_month=2, exp_year=2027, make_default=False)  # used by nothing
    attach_card(subscribed, GOOD_CARD, T0, exp_month=12, exp_year=2027)
    subscribe(subscribed, "pro")
    found = []
    for until, days in ((T0, 30), (utc(2027, 4, 20), 30), (utc(2027, 11, 15), 30), (utc(2030, 1, 1), 0),
                        (utc(2026, 1, 1), 0)):
        fast = subscription_queries.first_expiring_card(until, days)
        assert fast == subscription_queries.first_expiring_card_orm(until, days)
        found.append(fast)
    assert found == [None, (5, 2027), (5, 2027), (5, 2027), None]


@pytest.mark.django_db
@compares(subscription_queries.item_rows_orm, subscription_queries.version_rows_orm)
def test_what_terms_are_built_from_is_what_the_orm_reads():
    start_clock(T0)
    make_plan("basic", 4990)
    make_plan("tiered", 0, pricing_model="graduated",
              tiers=[{"up_to": 3, "unit_amount": 1000}, {"up_to": None, "unit_amount": 700, "flat_amount": 150}])
    make_addon("storage", 999, pricing_model="per_unit")
    subs = [subscribe(make_customer(card=None), "basic", addons=[("storage", 3)], trial_days=7),
            subscribe(make_customer(card=None), "tiered", quantity=5, trial_days=7),
            subscribe(make_customer(card=None), "basic", trial_days=7)]
    for ids in ([s.pk for s in subs], [subs[0].pk], [subs[-1].pk + 1000], []):
        assert subscription_queries.item_rows(ids) == subscription_queries.item_rows_orm(ids)
    versions = {version for _sub, version, _q in subscription_queries.item_rows([s.pk for s in subs])}
    assert len(versions) == 3
    for ids in (versions, {min(versions)}, {max(versions) + 1000}):
        assert sorted(subscription_queries.version_rows(ids)) == sorted(subscription_queries.version_rows_orm(ids))
    tiers = [row[7] for row in subscription_queries.version_rows(versions) if row[1] == "tiered"]
    assert tiers == [[{"up_to": 3, "unit_amount": 1000}, {"up_to": None, "unit_amount": 700, "flat_amount": 150}]]


def _subscriptions_of_every_kind() -> dict[str, Subscription]:
    """Renewals (one with add-ons and a coupon, one whose next period is billed already), a trial,
    a pending change at period end, an immediate change that leaves carried-over items, a paused
    subscription due to resume, one canceling at period end and one canceled; several customers,
    one without a card."""
    start_clock(T0)
    make_plan("pro", 4990)
    make_addon("storage", 999, pricing_model="per_unit")
    create_coupon(code="ten", duration="repeating", duration_periods=2, percent_off="10", at=T0)
    twice = make_customer()
    subs = {
        "addons_and_coupon": subscribe(twice, "pro", coupon_code="ten", addons=[("storage", 3)]),
        "plain": subscribe(twice, "pro"),
        "billed": subscribe(make_customer(), "pro"),
        "trial": subscribe(make_customer(card=None), "pro", trial_days=7),
        "scheduled": subscribe(make_customer(), "pro"),
        "changed_now": subscribe(make_customer(), "pro"),
        "paused": subscribe(make_customer(), "pro"),
        "canceling": subscribe(make_customer(), "pro"),
        "canceled": subscribe(make_customer(), "pro"),
    }
    billed = subs["billed"]
    Invoice.objects.filter(subscription=billed).update(period_start=billed.current_period_end)
    change_subscription(subs["scheduled"].pk, quantity=3, at_period_end=True)
    change_subscription(subs["changed_now"].pk, quantity=2)
    pause(subs["paused"].pk, resumes_at=T0 + timedelta(days=10))
    cancel_at_period_end(subs["canceling"].pk)
    cancel_now(subs["canceled"].pk)
    return {name: Subscription.objects.get(pk=sub.pk) for name, sub in subs.items()}


@pytest.mark.django_db
@compares(subscription_queries.due_rows_orm)
def test_the_due_rows_of_a_billing_batch_are_what_the_orm_reads():
    subs = _subscriptions_of_every_kind()
    month = max(s.next_action_at for s in subs.values() if s.next_action_at)
    seen = set()
    for until in (T0 - timedelta(days=1), T0 + timedelta(days=7), T0 + timedelta(days=10), month,
                  month + timedelta(days=40)):
        for limit in (1000, 3, 1):
            rows, flags = subscription_queries.due_rows(until, limit)
            assert (rows, flags) == subscription_queries.due_rows_orm(until, limit)
            assert len(rows) <= limit and all(r.next_action_at <= until for r in rows)
            seen.update((r.pk, tuple(map(bool, flags[r.pk]))) for r in rows)
    flagged = dict(seen)
    assert flagged[subs["scheduled"].pk] == (True, False, False)
    assert flagged[subs["billed"].pk] == (False, True, False)
    assert flagged[subs["changed_now"].pk] == (False, False, True)
    assert {subs["trial"].pk, subs["paused"].pk, subs["addons_and_coupon"].pk} <= flagged.keys()
    assert subs["canceled"].pk not in flagged


@pytest.mark.django_db
@compares(subscription_queries.customers_with_cards_orm)
def test_the_customers_of_a_billing_batch_are_what_the_orm_reads():
    subs = _subscriptions_of_every_kind()
    customers = {s.customer_id for s in subs.values()}
    for ids in (customers, {subs["trial"].customer_id}, {subs["plain"].customer_id, max(customers) + 1000}, set()):
        fast = subscription_queries.customers_with_cards(ids)
        assert fast == subscription_queries.customers_with_cards_orm(ids)
        assert [row[0] for row in fast] == sorted(ids & customers)
    rows = {row[0]: row for row in subscription_queries.customers_with_cards(customers)}
    assert rows[subs["trial"].customer_id][4:] == (None, None)  # no card
    assert rows[subs["plain"].customer_id][4] == "sandbox"


@pytest.mark.django_db
@compares(subscription_queries.subscription_dict_orm, subscription_queries.subscription_dicts_orm)
def test_a_subscription_as_the_api_shows_it_is_what_the_orm_builds():
    subs = _subscriptions_of_every_kind()
    missing = max(s.pk for s in subs.values()) + 1000
    assert subscription_queries.subscription_dict(missing) is None is subscription_queries.subscription_dict_orm(missing)
    fast = {name: subscription_queries.subscription_dict(s.pk) for name, s in subs.items()}
    for name, sub in subs.items():
        assert fast[name] == subscription_queries.subscription_dict_orm(sub.pk), name
    page = list(subscription_queries.SUBSCRIPTIONS.filter(pk__in=[s.pk for s in subs.values()]).order_by("pk"))
    assert subscription_queries.subscription_dicts_orm(page) == [subscription_queries.subscription_dict(s.pk) for s in page]
    assert fast["addons_and_coupon"]["coupon"] == "ten" and len(fast["addons_and_coupon"]["items"]) == 2
    assert fast["scheduled"]["scheduled_change"]["quantity"] == 3
    assert fast["paused"]["status"] == "paused" and fast["paused"]["resumes_at"] == T0 + timedelta(days=10)
    assert fast["canceled"]["status"] == "canceled" and fast["canceled"]["ended_at"] is not None
    assert fast["canceling"]["cancel_at_period_end"] is True


# --- notifications ----------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(notification_queries.template_source_orm)
def test_template_source_reads_what_the_orm_reads():
    keys = [("welcome", "en"), ("welcome", "pt-BR"), ("payment_failed", "pt-BR"), ("no_such_message", "en")]
    for key, locale in keys:
        assert notification_queries.template_source(key, locale) is None
    sync_templates()
    MessageTemplate.objects.filter(key="welcome", locale="en").update(subject="Hi {{ customer.first_name }}", text="")
    found = 0
    for key, locale in keys:
        fast = notification_queries.template_source(key, locale)
        assert fast == notification_queries.template_source_orm(key, locale)
        found += fast is not None
    assert found == 3


@pytest.mark.django_db
@compares(notification_queries.next_campaign_orm)
def test_next_campaign_reads_what_the_orm_reads():
    start_clock(T0)
    assert notification_queries.next_campaign() is None is notification_queries.next_campaign_orm()
    segment = Segment.objects.create(name="All", created_at=T0)
    made = [Campaign.objects.create(name=f"News {n}", segment=segment, subject_en="News", html_en="<p>News</p>",
                                    created_at=T0) for n in range(3)]
    campaigns.schedule(made[0].pk, T0 + timedelta(days=9))
    campaigns.schedule(made[1].pk, T0 + timedelta(days=2, microseconds=7))
    assert notification_queries.next_campaign() == notification_queries.next_campaign_orm() \
        == T0 + timedelta(days=2, microseconds=7)
    assert notification_queries.next_campaign().tzinfo is not None


@pytest.mark.django_db
@compares(notification_queries.queued_keys_orm)
def test_queued_keys_reads_what_the_orm_reads():
    start_clock(T0)
    make_plan("pro", 4990)
    for _ in range(3):
        subscribe(make_customer(card=None), "pro", trial_days=7)
    produce_events(T0, at_due_time=True)
    queued = list(Message.objects.values_list("key", flat=True))
    assert len(queued) >= 3
    for keys in ({queued[0]}, set(queued) | {"missing:1", "missing:2"}, {"missing"}, set()):
        assert notification_queries.queued_keys(keys) == notification_queries.queued_keys_orm(keys)
    assert notification_queries.queued_keys(set(queued) | {"missing"}) == set(queued)


@pytest.mark.django_db
@compares(notification_queries.subscriptions_changed_orm, notification_queries.last_reminders_pass_orm,
          notification_queries.first_subscription_times_orm, notification_queries.first_messages_due_orm)
def test_the_reminder_checks_read_what_the_orm_reads():
    def times(trials, renewals, ended):
        fast = notification_queries.first_subscription_times(trials, renewals, ended)
        assert fast == notification_queries.first_subscription_times_orm(trials, renewals, ended)
        return fast

    def passes():
        for with_top in (False, True):
            fast = notification_queries.last_reminders_pass(with_top)
            assert fast == notification_queries.last_reminders_pass_orm(with_top)
        return fast

    paying = ("active", "past_due")
    assert times([T0], [(paying, "month", T0)], T0) == [None, None, None]
    assert passes() == (None, 0, 0)
    start_clock(T0)
    make_plan("pro", 4990)
    make_plan("yearly", 49900, interval="year")
    trialing = subscribe(make_customer(card=None), "pro", trial_days=9)
    monthly = subscribe(make_customer(), "pro")
    yearly = subscribe(make_customer(), "yearly")
    subscribe(make_customer(), "yearly")
    cancel_at_period_end(yearly.pk)  # not renewing: no renewal reminder
    cancel_now(subscribe(make_customer(), "pro").pk)
    produce_events(T0, at_due_time=True)  # the welcome messages
    reminders.produce_reminders(T0, at_due_time=True)
    found = times([T0, T0 + timedelta(days=9, seconds=1)],
                  [(paying, "month", T0), (paying, "year", T0), (("past_due",), "month", T0)], T0 - timedelta(days=1))
    assert found[0] == trialing.trial_end and found[1] is None
    assert found[2] == monthly.current_period_end and found[3] is not None and found[4] is None
    assert found[5] == T0

    until, seen, top = passes()
    assert until == T0 and seen > 0 and top >= seen
    ids = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    for after, up_to in ((0, None), (ids[2], ids[-3]), (ids[-1], None)):
        assert sorted(notification_queries.subscriptions_changed(after, up_to)) \
            == sorted(notification_queries.subscriptions_changed_orm(after, up_to))
    one = notification_queries.subscriptions_changed(0, limit=1)
    assert len(one) == len(notification_queries.subscriptions_changed_orm(0, limit=1)) == 1
    assert set(one) <= set(notification_queries.subscriptions_changed(0))

    welcome = list(Message.objects.filter(template="welcome").order_by("due_at").values_list("due_at", flat=True))
    assert welcome
    moments = [T0 - timedelta(days=3), welcome[0], welcome[-1] + timedelta(microseconds=1)]
    fast = notification_queries.first_messages_due("welcome", moments)
    assert fast == notification_queries.first_messages_due_orm("welcome", moments) == [welcome[0], welcome[0], None]
    assert notification_queries.first_messages_due("receipt", moments[:1]) \
        == notification_queries.first_messages_due_orm("receipt", moments[:1])


# --- webhooks ---------------------------------------------------------------------------------------

def _deliveries():
    """Two endpoints with a few deliveries each (their ids, oldest first); then the second
    endpoint is disabled."""
    start_clock(T0)
    first = create_endpoint(url="https://hooks.example/first")
    second = create_endpoint(url="https://hooks.example/second")
    make_customer(card=None)
    make_customer(card=None)
    fan_out(T0, at_due_time=True)
    update_endpoint(second.pk, enabled=False)
    return [list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk").values_list("pk", flat=True))
            for endpoint in (first, second)]


@pytest.mark.django_db
@compares(webhook_queries.mark_fanned_out_orm)
def test_marking_events_fanned_out_matches_the_orm():
    start_clock(T0)
    make_customer(card=None)
    ids = list(Event.objects.order_by("pk").values_list("pk", flat=True))
    FannedOutEvent.objects.create(event_id=ids[0])  # another worker marked this one
    for event_ids in (ids, ids[:1], [ids[-1], ids[-1] + 1000]):
        assert_same_writes(lambda: webhook_queries.mark_fanned_out(event_ids),
                           lambda: webhook_queries.mark_fanned_out_orm(event_ids), FannedOutEvent)
    answer, _rows = _written(lambda: webhook_queries.mark_fanned_out(ids), FannedOutEvent)
    assert answer == set(ids[1:])


@pytest.mark.django_db
@compares(webhook_queries.claim_delivery_orm)
def test_claiming_a_delivery_matches_the_orm():
    first, disabled = _deliveries()
    (head, second), disabled_head = first[:2], disabled[0]
    at = T0 + timedelta(seconds=1, microseconds=3)
    cases = {
        "the oldest delivery of an enabled endpoint": ([head], [True]),
        "a newer one while the oldest waits": ([second], [False]),
        "twice, then the next one while the first is being sent": ([head, head, second], [True, False, False]),
        "the oldest of a disabled endpoint": ([disabled_head], [False]),
        "no such delivery": ([second + 1000], [False]),
    }
    for name, (ids, expected) in cases.items():
        answer, _rows = assert_same_writes(lambda: [webhook_queries.claim_delivery(i, at) for i in ids],
                                           lambda: [webhook_queries.claim_delivery_orm(i, at) for i in ids],
                                           WebhookDelivery)
        assert answer == expected, name


# --- usage ------------------------------------------------------------------------------------------

_encode = msgspec.json.Encoder().encode


def _usage_business():
    start_clock(T0)
    create_metric(code="calls", name="API calls")
    create_metric(code="seats", name="Seats", aggregation="max")
    create_metric(code="users", name="Users", aggregation="unique_count", unique_property="user")
    alice, bob = make_customer(card=None), make_customer(card=None)
    record_usage([UsageEventStruct(id="e1", metric="calls", timestamp=utc(2027, 1, 9), customer=f"cus_{alice.pk}",
                                   value=3)], T0)
    return alice, bob


@pytest.mark.django_db
@compares(usage_queries.known_customers_orm, usage_queries.metrics_orm)
def test_customers_and_metrics_of_a_batch_read_what_the_orm_reads():
    alice, bob = _usage_business()
    for pks in ({alice.pk}, {alice.pk, bob.pk, bob.pk + 1000}, {bob.pk + 1000}, set()):
        assert usage_queries.known_customers(pks) == usage_queries.known_customers_orm(pks)
    assert usage_queries.known_customers({alice.pk, bob.pk + 1000}) == {alice.pk}
    for codes in ({"calls"}, {"calls", "seats", "users", "nope"}, {"nope"}):
        assert usage_queries.metrics(codes) == usage_queries.metrics_orm(codes)
    assert usage_queries.metrics({"users"}) == {"users": ("unique_count", "user")}


@pytest.mark.django_db
@compares(usage_queries.insert_exact_orm)
def test_storing_a_batch_by_customer_id_matches_the_orm():
    alice, bob = _usage_business()
    received = T0 + timedelta(microseconds=42)
    rows = _encode([
        [alice.pk, "calls", "e1", 5, utc(2027, 1, 9), {}],  # stored already
        [bob.pk, "calls", "e1", 2, utc(2027, 1, 9, 8, 30, 1) + timedelta(microseconds=123), {"region": "br"}],
        [bob.pk, "users", "e2", 1, utc(2027, 1, 9, 8).astimezone(timezone.utc), {"user": 42, "n": [1, "ü"]}],
        [bob.pk, "users", "e2", 1, utc(2027, 1, 9, 8), {"user": 43}],  # the same id twice in one batch
    ]).decode()
    answer, _rows = assert_same_writes(lambda: usage_queries.insert_exact(rows, received),
                                       lambda: usage_queries.insert_exact_orm(rows, received), UsageEvent)
    assert answer == {(bob.pk, "e1"), (bob.pk, "e2")}


@pytest.mark.django_db
@compares(usage_queries.insert_fast_orm)
def test_storing_a_batch_on_the_fast_path_matches_the_orm():
    alice, bob = _usage_business()
    received = T0 + timedelta(seconds=2)
    events = [
        UsageEventStruct(id="e1", metric="calls", timestamp=utc(2027, 1, 9), customer=f"cus_{alice.pk}"),  # stored
        UsageEventStruct(id="e2", metric="calls", timestamp=utc(2027, 1, 9, 7, 0, 0) + timedelta(microseconds=500),
                         customer=str(alice.pk), value=9),
        UsageEventStruct(id="e1", metric="seats", timestamp=utc(2027, 1, 9, 7), customer=f"cus_{bob.pk}", value=4,
                         properties={"plan": "pro", "deep": {"a": [1, 2]}}),
        UsageEventStruct(id="e3", metric="calls", timestamp=utc(2027, 1, 9), customer=f"cus_{bob.pk + 1000}"),
    ]
    text = _encode(events).decode()
    answer, _rows = assert_same_writes(lambda: usage_queries.insert_fast(text, received),
                                       lambda: usage_queries.insert_fast_orm(text, received), UsageEvent)
    assert answer == 2


@pytest.mark.django_db
@compares(usage_queries.settle_pending_orm, usage_queries.pending_span_orm)
def test_settling_pending_events_matches_the_orm():
    assert usage_queries.pending_span() is None is usage_queries.pending_span_orm()  # no event at all
    alice, bob = _usage_business()
    record_usage([UsageEventStruct(id=f"p{n}", metric="calls", timestamp=utc(2027, 1, 9), customer=f"cus_{bob.pk}")
                  for n in range(5)], T0)
    # Pending on SQLite after a batch; on PostgreSQL never, so the same rows are marked by hand.
    UsageEvent.objects.filter(event_id__in=["p1", "p3"]).update(pending=True)
    UsageEvent.objects.filter(event_id__in=["p0", "p2", "p4"]).update(pending=False)
    assert usage_queries.pending_span() == usage_queries.pending_span_orm() > 0
    answer, _rows = assert_same_writes(usage_queries.settle_pending, usage_queries.settle_pending_orm, UsageEvent)
    assert answer == UsageEvent.objects.filter(pending=True).count() > 0
    usage_queries.settle_pending()
    assert usage_queries.pending_span() is None is usage_queries.pending_span_orm()  # none pending


@pytest.mark.django_db
@compares(usage_queries.mark_billed_orm, usage_queries.billed_totals_orm)
def test_marking_and_totalling_the_events_of_closing_periods_match_the_orm():
    alice, bob = _usage_business()
    start, end = utc(2027, 1, 5), utc(2027, 1, 9, 12)

    def event(n, who, metric, at, value=1, **properties):
        return UsageEventStruct(id=f"b{n}", metric=metric, timestamp=at, customer=f"cus_{who.pk}", value=value,
                                properties=properties)
    record_usage([
        event(1, alice, "calls", utc(2027, 1, 4, 23, 59, 59), 7),  # before the period: late
        event(2, alice, "calls", start, 2), event(3, alice, "calls", utc(2027, 1, 9, 11, 59, 59) + timedelta(microseconds=1), 5),
        event(4, alice, "calls", end, 100),  # at the end: the next period's
        event(5, bob, "users", utc(2027, 1, 6), user=42), event(6, bob, "users", utc(2027, 1, 7), user="42"),
        event(7, bob, "users", utc(2027, 1, 8), user=43), event(8, bob, "users", utc(2027, 1, 8), user=None),
        event(9, bob, "calls", utc(2027, 1, 6), 3), event(10, bob, "calls", utc(2027, 1, 7), 4),
        event(11, bob, "seats", utc(2027, 1, 7), 9),  # a metric no period bills
    ], T0)
    usage_queries.settle_pending()
    UsageEvent.objects.filter(event_id="b10").update(pending=True)  # not settled yet: not marked
    rows = [(alice.pk, "calls", 501, start, end), (bob.pk, "users", 502, start, end), (bob.pk, "calls", 502, start, end)]
    answer, _rows = assert_same_writes(lambda: usage_queries.mark_billed(rows), lambda: usage_queries.mark_billed_orm(rows),
                                       UsageEvent)
    assert answer == 9  # alice's e1, b1 (late), b2, b3; bob's b5 to b8 and b9
    usage_queries.mark_billed(rows)
    periods, distinct = [(501, start), (502, start), (503, start)], [("users", "user")]
    fast = sorted(usage_queries.billed_totals(periods, distinct))
    assert fast == sorted(usage_queries.billed_totals_orm(periods, distinct))
    assert [tuple(int(v) for v in row[2:]) for row in fast] == [(3, 10, 5, 0), (1, 3, 3, 0), (4, 4, 1, 2)]


# --- the API ----------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(api_queries.key_by_hash_orm)
def test_key_by_hash_reads_what_the_orm_reads():
    live, revoked = create_key(scope="write", name="site"), create_key(scope="read", name="old")
    revoke_key(str(revoked.key.pk))
    for secret in (live.secret, revoked.secret, "sk_test_unknown"):
        digest = hash_secret(secret)
        assert api_queries.key_by_hash(digest) == api_queries.key_by_hash_orm(digest)
    assert api_queries.key_by_hash(hash_secret(revoked.secret))[2] is not None
    assert api_queries.key_by_hash(hash_secret("sk_test_unknown")) is None


# --- upgrades ---------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(upgrade_queries.anything_to_offer_orm)
def test_whether_the_portal_has_an_upgrade_to_offer_is_what_the_orm_finds():
    start_clock(T0)
    basic, pro = make_plan("basic", 3000), make_plan("pro", 6000)
    yearly = make_plan("basic-year", 30000, interval="year")
    sub, other = subscribe(make_customer(), "basic"), subscribe(make_customer(email="o@example.com"), "pro")

    def both():
        answers = {(s.pk, s.plan_id): upgrade_queries.anything_to_offer(s.pk, s.plan_id) for s in (sub, other)}
        assert answers == {(s.pk, s.plan_id): upgrade_queries.anything_to_offer_orm(s.pk, s.plan_id) for s in (sub, other)}
        return answers

    assert set(both().values()) == {False}
    offer = AnnualOffer.objects.create(monthly_plan=basic, annual_plan=yearly, percent_off=15, active=False, created_at=T0)
    assert set(both().values()) == {False}  # an inactive offer offers nothing
    offer.active = True
    offer.save()
    assert both() == {(sub.pk, basic.pk): True, (other.pk, pro.pk): False}
    offer.delete()
    trial = TemporaryUpgrade.objects.create(customer=sub.customer, subscription=sub, from_plan=basic, to_plan=pro,
                                            started_at=T0, ends_at=T0 + timedelta(days=14))
    assert both() == {(sub.pk, basic.pk): True, (other.pk, pro.pk): False}
    trial.reverted_at = T0 + timedelta(days=14)
    trial.save()
    assert set(both().values()) == {False}
    TrialPlan.objects.create(plan=pro, days=14, created_at=T0)
    assert set(both().values()) == {True}


# --- engagement -------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(engagement_queries.insert_events_orm, engagement_queries.count_inserted_orm)
def test_storing_engagement_events_matches_the_orm():
    from assina.engagement.models import EngagementEvent

    alice, bob = make_customer(), make_customer(email="b@example.com")
    EngagementEvent.objects.create(customer=alice, event_id="e1", name="login", occurred_at=T0, received_at=T0)
    received = T0 + timedelta(microseconds=42)
    rows = _encode([
        {"c": alice.pk, "i": "e1", "n": "login", "t": utc(2027, 1, 9), "v": None, "p": {}},  # stored already
        {"c": bob.pk, "i": "e2", "n": "report_exported", "t": utc(2027, 1, 9, 8, 30, 1) + timedelta(microseconds=123),
         "v": 2.5, "p": {"format": "pdf", "n": [1, "ü"]}},
        {"c": bob.pk, "i": "e3", "n": "login", "t": utc(2027, 1, 9, 8), "v": 3, "p": {}},
        {"c": bob.pk, "i": "e3", "n": "login", "t": utc(2027, 1, 9, 9), "v": None, "p": {}},  # the same id twice
        {"c": bob.pk + 1000, "i": "e4", "n": "login", "t": utc(2027, 1, 9, 9), "v": None, "p": {}},  # no such customer
    ]).decode()
    for imported in (False, True):
        answer, _rows = assert_same_writes(lambda: engagement_queries.insert_events(rows, imported, received),
                                           lambda: engagement_queries.insert_events_orm(rows, imported, received),
                                           EngagementEvent)
        assert answer == {"e2", "e3"}
        assert assert_same_writes(lambda: engagement_queries.count_inserted(rows, imported, received),
                                  lambda: engagement_queries.count_inserted_orm(rows, imported, received),
                                  EngagementEvent)[0] == 2


# --- feedback ---------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(feedback_queries.due_survey_orm)
def test_the_survey_due_in_the_portal_is_what_the_orm_finds():
    from assina.feedback.models import Survey, SurveyRequest, Trigger
    from assina.feedback.sending import due_survey_for, send
    from assina.feedback.services import answer

    start_clock(T0)
    ana, bea = make_customer(), make_customer(card=None)

    def both(customer, at):
        fast = feedback_queries.due_survey(customer.pk, at)
        assert fast == feedback_queries.due_survey_orm(customer.pk, at)
        found = due_survey_for(customer.pk, at)
        assert fast == ((found.token, found.survey) if found else None)
        return fast

    assert both(ana, T0) is None
    send([(ana, "first"), (bea, "for-bea")], Survey.NPS, Trigger.MANUAL, T0)
    send([(ana, "newer")], Survey.CSAT, Trigger.MANUAL, T0 + timedelta(hours=1))
    newer, first = SurveyRequest.objects.get(trigger_key="newer"), SurveyRequest.objects.get(trigger_key="first")
    assert both(ana, T0 + timedelta(hours=2)) == (newer.token, "csat")
    answer(newer, 4, T0 + timedelta(hours=2))
    assert both(ana, T0 + timedelta(hours=2)) == (first.token, "nps")  # the newest unanswered
    assert both(ana, first.expires_at) is None  # expired
    assert both(bea, T0)[1] == "nps"


# --- repricing --------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(repricing_queries.coming_price_change_orm)
def test_the_price_change_on_the_portal_home_is_what_the_orm_finds():
    from assina.repricing.services import create_migration

    start_clock(T0)
    make_plan("pro", 5000)
    ana, bea, cai = make_customer(), make_customer(), make_customer()
    ana_sub, bea_sub, _cai_sub = subscribe(ana, "pro"), subscribe(bea, "pro"), subscribe(cai, "pro")

    def both(customer, at):
        fast = repricing_queries.coming_price_change(customer.pk, at)
        assert fast == repricing_queries.coming_price_change_orm(customer.pk, at)
        return fast

    assert both(ana, T0) is None
    create_migration(plan_code="pro", new_amount=6000, effective_at=T0 + timedelta(days=45))
    target, zone = both(ana, T0)
    assert target > T0 + timedelta(days=44) and zone == ana.time_zone
    cancel_at_period_end(bea_sub.pk)
    cancel_now(ana_sub.pk)
    assert both(bea, T0) is None and both(ana, T0) is None  # cancelling: nothing left to choose
    assert both(cai, target) is None  # its date reached


# --- playbooks -------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(playbook_queries.open_offer_orm)
def test_the_offer_on_the_portal_home_is_what_the_orm_finds():
    from assina.playbooks import services as playbooks
    from assina.playbooks.models import PlaybookRun
    from assina.subscriptions.discounts import apply_discount

    start_clock(T0)
    make_plan("pro", 5000)
    ana, bea, cai = make_customer(), make_customer(), make_customer()
    subscribe(ana, "pro")
    bea_sub, cai_sub = subscribe(bea, "pro"), subscribe(cai, "pro")
    percent = create_coupon(code="p12", duration="repeating", duration_periods=2, percent_off="12.5", at=T0)
    amount = create_coupon(code="a10", duration="forever", amount_off=1000, currency="BRL", at=T0)
    playbook = playbooks.create_playbook(name="Detractors", trigger="detractor", at=T0, coupon=percent, offer_days=14)

    def offer(customer, coupon, at):
        playbook.coupon = coupon
        return playbooks.make_offer(playbook, PlaybookRun.objects.create(playbook=playbook, customer=customer, fired_at=at), at)

    def both(customer, at):
        fast = playbook_queries.open_offer(customer.pk, at)
        assert fast == playbook_queries.open_offer_orm(customer.pk, at)
        return fast

    assert both(ana, T0) is None
    first, newer = offer(ana, percent, T0), offer(ana, amount, T0 + timedelta(hours=1))
    found = both(ana, T0 + timedelta(hours=2))
    assert (found.id, found.terms.amount_off, found.terms.duration, found.expires_at) == (newer.pk, 1000, "forever",
                                                                                       newer.expires_at)
    playbooks.decline_offer(ana.pk, newer.pk)
    found = both(ana, T0 + timedelta(hours=2))  # the older one, still open
    assert (found.id, found.terms.percent_off, found.terms.periods) == (first.pk, Decimal("12.50"), 2)
    assert both(ana, first.expires_at) is None  # expired
    offer(bea, percent, T0)
    offer(cai, amount, T0)
    assert both(bea, T0).id and both(cai, T0).id
    cancel_at_period_end(bea_sub.pk)
    assert both(bea, T0) is None  # no next invoice to discount
    apply_discount(cai_sub.pk, percent_off="10", periods=1)
    assert both(cai, T0) is None  # a discount runs: accepting would replace it


# --- portal -----------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(portal_queries.cookie_session_orm, portal_queries.home_session_orm)
def test_the_portal_homes_session_and_stamps_are_what_the_orm_reads():
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from assina.portal import services as portal_services
    from assina.portal.models import PortalSettings

    start_clock(T0)
    make_plan("pro", 4990)
    ana, bea = make_customer(name="Ana Lima", locale="pt-BR"), make_customer(card=None)
    subscribe(ana, "pro")
    keys = {}
    for customer in (ana, bea):
        _link, url = portal_services.create_link(customer, return_url="https://shop.example.com/")
        keys[customer.pk] = portal_services.open_link(url.rstrip("/").rsplit("/", 1)[1]).key
    wall = portal_services.wall()

    def both(key, seen_after=wall - timedelta(hours=1)):
        fast = portal_queries.home_session(key, seen_after)
        assert fast == portal_queries.home_session_orm(key, seen_after)
        return fast

    found = both(keys[ana.pk])
    assert (found.customer_id, found.name, found.locale, found.return_url) == (ana.pk, "Ana Lima", "pt-BR",
                                                                              "https://shop.example.com/")
    assert found.customer_events > 0 and found.customer_event and found.global_event and found.admin_change is None
    assert found.settings == (None, None, None, None)  # no settings row: the defaults
    assert both("no-such-key") is None
    assert both(keys[ana.pk], seen_after=wall + timedelta(seconds=1)) is None  # idle
    owner = get_user_model().objects.create_user("owner")
    LogEntry.objects.create(user=owner, action_flag=ADDITION, object_repr="Portal settings", change_message="[]")
    assert both(keys[bea.pk]).admin_change == LogEntry.objects.get().pk
    PortalSettings(pause_2=False, allow_addon_changes=False).save()
    assert both(keys[ana.pk]).settings == (True, False, True, False)
    portal_services.end_session(keys[bea.pk])
    assert both(keys[bea.pk]) is None

    store = SessionStore()
    store["assina_portal"] = keys[ana.pk]
    store.create()
    for key, at in ((store.session_key, wall), (store.session_key, store.get_expiry_date() + timedelta(seconds=1)),
                    ("nosuchsessionkey", wall)):
        assert portal_queries.cookie_session(key, at) == portal_queries.cookie_session_orm(key, at)
    assert store.decode(portal_queries.cookie_session(store.session_key, wall)) == {"assina_portal": keys[ana.pk]}
    assert portal_queries.cookie_session(store.session_key, store.get_expiry_date()) is None



@pytest.mark.django_db
@compares(engagement_queries.first_times_orm)
def test_the_first_events_of_onboarding_are_what_the_orm_reads():
    from assina.engagement.services import record_events

    alice, bob = make_customer(), make_customer(email="b@example.com")
    record_events([("f1", alice.pk, "login", T0 - timedelta(days=2), None, {}),
                   ("f2", alice.pk, "login", T0 - timedelta(days=3, microseconds=-250), None, {}),
                   ("f3", alice.pk, "report_exported", T0 - timedelta(hours=1), None, {}),
                   ("f4", bob.pk, "login", T0 - timedelta(seconds=1), None, {}),
                   ("f5", bob.pk, "page_viewed", T0, None, {})], at=T0)

    def rows(answer):
        ids, names, micros = answer
        return sorted(zip(ids.tolist(), names, micros.tolist()))

    for names, customers in ((["login", "report_exported"], None), (["login"], [bob.pk]), (["nothing"], None),
                             (["login", "page_viewed"], [alice.pk, bob.pk + 1000])):
        assert rows(engagement_queries.first_times(names, customers)) == rows(
            engagement_queries.first_times_orm(names, customers))
    first = dict(((pk, name), us) for pk, name, us in rows(engagement_queries.first_times(["login"])))
    assert first[(alice.pk, "login")] == int((T0 - timedelta(days=3)).timestamp()) * 1_000_000 + 250
    # Later batches: an earlier login wins, a later one and a re-sent id change nothing (kept by a trigger).
    record_events([("f6", bob.pk, "login", T0 - timedelta(days=9), None, {}), ("f7", alice.pk, "login", T0, None, {}),
                   ("f4", bob.pk, "login", T0 - timedelta(days=30), None, {})], at=T0)
    assert rows(engagement_queries.first_times(["login"])) == rows(engagement_queries.first_times_orm(["login"]))
    first = dict(((pk, name), us) for pk, name, us in rows(engagement_queries.first_times(["login"])))
    assert first[(bob.pk, "login")] == int((T0 - timedelta(days=9)).timestamp()) * 1_000_000

# --- selling ----------------------------------------------------------------------------------------

@pytest.mark.django_db
@compares(selling_queries.count_request_orm)
def test_counting_a_checkout_post_matches_the_orm():
    since = utc(2027, 1, 10, 8)
    for at in (since - timedelta(seconds=1), since, since + timedelta(microseconds=1), T0):
        CheckoutRequest.objects.create(key="ip:a", at=at)  # two forgotten (up to since), two counted
    CheckoutRequest.objects.create(key="ip:b", at=T0)
    for key, limit, counted in (("ip:a", 2, False), ("ip:a", 3, True), ("ip:b", 1, False), ("ip:c", 1, True)):
        answer, (rows,) = assert_same_writes(lambda: selling_queries.count_request(key, T0, since, limit),
                                             lambda: selling_queries.count_request_orm(key, T0, since, limit),
                                             CheckoutRequest)
        assert answer is counted and len(rows) == 3 + counted


@pytest.mark.django_db
@compares(selling_queries.catalog_stamp_orm)
def test_the_catalog_stamp_is_what_the_orm_counts_and_moves_with_each_change_the_pages_show():
    assert selling_queries.catalog_stamp() == selling_queries.catalog_stamp_orm() == (0, None, 0, 0, None, 0, None, 0, None)
    start_clock(T0)
    pro = make_plan("pro", 4990)
    seats = make_addon("seats", 1000)
    seen = [selling_queries.catalog_stamp()]
    assert seen[0] == selling_queries.catalog_stamp_orm() and seen[0][0] == 2
    for change in (lambda: Plan.objects.filter(pk=pro.pk).update(public=True),
                   lambda: Plan.objects.filter(pk=seats.pk).update(active=False),
                   lambda: CheckoutSuggestion.objects.create(plan=pro, addon=seats),
                   lambda: CheckoutSuggestion.objects.update(position=1),
                   lambda: change_plan_price("seats", amount=1200, at=T0)):
        change()
        stamp = selling_queries.catalog_stamp()
        assert stamp == selling_queries.catalog_stamp_orm() and stamp not in seen
        seen.append(stamp)


@pytest.mark.django_db
@compares(selling_queries.claim_session_orm)
def test_claiming_a_checkout_session_is_what_the_orm_claims_and_reads_back():
    start_clock(T0)
    pro = make_plan("pro", 4990)
    customer = make_customer(email="ana@example.com")
    wall = utc(2027, 1, 10, 12)
    Status = CheckoutSession.Status
    rows = {"open": dict(status=Status.OPEN), "mine": dict(status=Status.OPEN, customer=customer, gateway_customer="cus_1"),
            "held": dict(status=Status.PROCESSING, claimed_at=wall - timedelta(minutes=1)),
            "crashed": dict(status=Status.PROCESSING, claimed_at=wall - timedelta(minutes=10), gateway_customer="cus_2"),
            "done": dict(status=Status.COMPLETE)}
    for key, fields in rows.items():
        CheckoutSession.objects.create(key=f"cs_{key}", plan=pro, created_at=T0, expires_at=T0 + timedelta(days=1), **fields)
    answers = {}
    for key in [*rows, "absent"]:
        answers[key], _rows_left = assert_same_writes(
            lambda key=key: selling_queries.claim_session(f"cs_{key}", wall, wall - timedelta(minutes=5)),
            lambda key=key: selling_queries.claim_session_orm(f"cs_{key}", wall, wall - timedelta(minutes=5)),
            CheckoutSession)
    assert answers == {"open": (None, ""), "mine": (customer.pk, "cus_1"), "held": None, "crashed": (None, "cus_2"),
                       "done": None, "absent": None}


@pytest.mark.django_db
@compares(invoice_queries.credit_balances_orm)
def test_credit_balances_are_what_the_orm_reads():
    start_clock(T0)
    ana, bia, caio = (make_customer(email=f"{name}@example.com") for name in ("ana", "bia", "caio"))
    Customer.objects.filter(pk=ana.pk).update(credit_balance=1500)
    Customer.objects.filter(pk=caio.pk).update(credit_balance=1)
    for ids in ([ana.pk, bia.pk, caio.pk], [bia.pk], [], [caio.pk + 99, ana.pk]):
        assert invoice_queries.credit_balances(ids) == invoice_queries.credit_balances_orm(ids)
    assert invoice_queries.credit_balances([caio.pk, ana.pk, bia.pk]) == {ana.pk: 1500, caio.pk: 1}


@pytest.mark.django_db
@compares(customer_queries.email_taken_orm)
def test_a_taken_email_is_what_the_orm_finds_in_any_case():
    start_clock(T0)
    make_customer(email="Ana_Souza@Example.com")  # addresses are ASCII (validate_email)
    for typed in ("ana_souza@example.com", "ANA_SOUZA@EXAMPLE.COM", "anaXsouza@example.com", "ana%@example.com",
                  "joão@example.com", "JOÃO@example.com", "bia@example.com", ""):
        assert customer_queries.email_taken(typed) == customer_queries.email_taken_orm(typed), typed
    assert customer_queries.email_taken("ana_souza@EXAMPLE.com") is True


@pytest.mark.django_db(transaction=True)
def test_a_taken_address_is_found_through_an_index_not_by_reading_every_customer():
    """Asked under the write lock of every checkout: a scan would grow with the customers."""
    from django.db import connection, transaction

    from assina.customers.queries import _email_taken_sql

    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: the planner would scan anyway
        cursor.execute("EXPLAIN " + ("QUERY PLAN " if connection.vendor == "sqlite" else "")
                       + _email_taken_sql(connection.vendor), ["ana@example.com"])
        plan = " ".join(str(part) for row in cursor.fetchall() for part in row)
    assert "customer_email_upper" in plan, plan


@pytest.mark.django_db
@compares(payment_queries.token_attached_orm)
def test_an_attached_token_is_what_the_orm_finds():
    start_clock(T0)
    customer = make_customer(email="ana@example.com", card=GOOD_CARD)
    token = customer.default_payment_method.token
    for typed in (token, token.upper(), token[:-1], "", "pm_unknown"):
        assert payment_queries.token_attached(typed) == payment_queries.token_attached_orm(typed), typed
    assert payment_queries.token_attached(token) is True


@pytest.mark.django_db
@compares(payment_queries.sandbox_cards_orm)
def test_the_sandbox_cards_are_what_the_orm_reads_with_their_schedules():
    from assina.payments.sandbox import schedule_card

    start_clock(T0)
    plain = make_customer(email="ana@example.com", card=GOOD_CARD).default_payment_method.token
    dated = make_customer(email="bia@example.com", card=GOOD_CARD).default_payment_method.token
    schedule_card(dated, T0 + timedelta(days=3), "insufficient_funds")
    schedule_card(dated, T0 + timedelta(days=9))
    for tokens in ({plain}, {plain, dated}, {dated, "pm_unknown"}, set()):
        assert payment_queries.sandbox_cards(tokens) == payment_queries.sandbox_cards_orm(tokens), tokens
    assert payment_queries.sandbox_cards({dated})[dated][3] == [[(T0 + timedelta(days=3)).isoformat(), "insufficient_funds"],
                                                               [(T0 + timedelta(days=9)).isoformat(), ""]]


# --- the catalog ---------------------------------------------------------------------------------

def _promotion(found):
    if found is None:
        return None
    promo, coupon = found
    return promo, [getattr(coupon, f.attname) for f in Coupon._meta.concrete_fields], coupon.plan_codes, coupon.to_core()


@pytest.mark.django_db
@compares(catalog_queries.promotion_code_orm)
def test_a_promotion_code_with_its_coupon_is_what_the_orm_reads_in_any_case_of_its_letters():
    start_clock(T0)
    make_plan("pro", 4990)
    make_plan("team", 9990)
    create_coupon(code="half", duration="repeating", duration_periods=3, percent_off="12.5", at=T0,
                  plans=["pro", "team"], redeem_by=T0 + timedelta(days=30), max_redemptions=9, name="Half")
    create_coupon(code="tenoff", duration="once", amount_off=1000, currency="BRL", at=T0)
    create_promotion_code(code="HALF2027", coupon_code="half", at=T0, expires_at=T0 + timedelta(days=3),
                          max_redemptions=2)
    create_promotion_code(code="Ten_Off", coupon_code="tenoff", at=T0)
    for typed in ("HALF2027", "half2027", "Ten_Off", "ten_off", "tenXoff", "ten%", "nothing", "half"):
        fast, orm = _promotion(catalog_queries.promotion_code(typed)), _promotion(catalog_queries.promotion_code_orm(typed))
        assert fast == orm, typed
    assert _promotion(catalog_queries.promotion_code("half2027"))[2] == {"pro", "team"}
    percent = catalog_queries.promotion_code("HALF2027")[1].percent_off
    assert percent == Decimal("12.50") and str(percent) == "12.50"
    assert catalog_queries.promotion_code("nothing") is None


@pytest.mark.django_db
@compares(catalog_queries.count_redemption_orm)
def test_counting_a_redemption_is_what_the_orm_counts_up_to_the_limit():
    start_clock(T0)
    coupon = create_coupon(code="welcome", duration="once", percent_off="20", at=T0, max_redemptions=1)
    promo = create_promotion_code(code="WELCOME", coupon_code="welcome", at=T0)
    for model, pk, limit in ((Coupon, coupon.pk, 1), (Coupon, coupon.pk, None), (PromotionCode, promo.pk, None),
                             (PromotionCode, promo.pk, 5), (Coupon, coupon.pk + 99, None)):
        assert_same_writes(lambda: catalog_queries.count_redemption(model, pk, limit),
                           lambda: catalog_queries.count_redemption_orm(model, pk, limit), Coupon, PromotionCode)
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=1)
    assert_same_writes(lambda: catalog_queries.count_redemption(Coupon, coupon.pk, 1),
                       lambda: catalog_queries.count_redemption_orm(Coupon, coupon.pk, 1), Coupon)
    assert catalog_queries.count_redemption(Coupon, coupon.pk, 1) is False


@pytest.mark.django_db
@compares(catalog_queries.active_plan_orm, catalog_queries.active_addons_orm, catalog_queries.current_version_ids_orm)
def test_plans_and_their_current_versions_are_what_the_orm_reads():
    start_clock(T0)
    pro = make_plan("pro", 4990, trial_days=7)
    Plan.objects.filter(pk=pro.pk).update(public=True, ships_goods=True, shipping_amount=900, free_shipping_from=10000)
    make_plan("old", 1990)
    Plan.objects.filter(code="old").update(active=False)
    for code in ("seats", "extra_1", "yearly"):
        make_addon(code, 1000, interval="year" if code == "yearly" else "month")
    make_addon("dollars", 1000, currency="USD")
    change_plan_price("seats", amount=1200, at=T0)

    def fields(plan):
        return None if plan is None else [getattr(plan, f.attname) for f in Plan._meta.concrete_fields]

    for code, kind in (("pro", "base"), ("old", "base"), ("seats", "addon"), ("seats", "base"), ("none", "base")):
        assert fields(catalog_queries.active_plan(code, kind)) == fields(catalog_queries.active_plan_orm(code, kind))
    assert catalog_queries.active_plan("pro", "base").ships_goods is True
    for codes in (["seats", "extra_1", "yearly", "dollars", "pro", "none"], ["extra%"], ["extra_1"], []):
        fast = catalog_queries.active_addons(codes, "BRL", "month", 1)
        assert [fields(p) for p in fast] == [fields(p) for p in catalog_queries.active_addons_orm(codes, "BRL", "month", 1)]
    assert [p.code for p in catalog_queries.active_addons(["seats", "extra_1", "yearly"], "BRL", "month", 1)] == [
        "extra_1", "seats"]
    ids = list(Plan.objects.values_list("pk", flat=True)) + [999]
    assert catalog_queries.current_version_ids(ids) == catalog_queries.current_version_ids_orm(ids)
    seats = Plan.objects.get(code="seats")
    assert catalog_queries.current_version_ids([seats.pk]) == {seats.pk: seats.current_version().pk}


# --- the rule itself --------------------------------------------------------------------------------

def _queries_modules():
    return sorted(f"assina.{path.parent.name}.queries" for path in SRC.glob("*/queries.py"))


@pytest.mark.parametrize("module_name", _queries_modules())
def test_every_statement_has_an_orm_twin_that_a_test_compares(module_name):
    module = importlib.import_module(module_name)
    functions = {name for name, f in inspect.getmembers(module, inspect.isfunction)
                 if f.__module__ == module_name and not name.startswith("_")}
    twins = {name for name in functions if name.endswith("_orm")}
    assert twins, f"{module_name} has no ORM twin"
    missing = {name for name in functions - twins if f"{name}_orm" not in twins}
    assert not missing, f"statements of {module_name} without an ORM twin: {sorted(missing)}"
    untested = {name for name in twins if f"{module_name}.{name}" not in COMPARED}
    assert not untested, f"ORM twins no test compares: {sorted(untested)}"


# The time leaf imports no app, so its one statement is a literal beside it (checked above).
RUNS_ITS_OWN_STATEMENT = {"time.py"}
RUNNERS = {"select_row", "select_rows", "execute", "execute_prepared", "fetch_prepared"}


def _modules():
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        if relative != "db.py" and "/migrations/" not in relative:
            yield relative, ast.parse(path.read_text(encoding="utf-8"))


def test_only_assina_db_opens_a_cursor():
    """Statements run through ``assina.db``'s helpers: no other module reaches for a cursor or the
    driver's connection."""
    opening = {relative for relative, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "connection"
               and node.attr in ("cursor", "connection")}
    assert not opening, sorted(opening)


def test_hand_written_statements_run_from_queries_modules_only():
    running = {relative for relative, tree in _modules() for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module == "assina.db"
               and RUNNERS & {alias.name for alias in node.names}}
    elsewhere = {m for m in running if not m.endswith("/queries.py")} - RUNS_ITS_OWN_STATEMENT
    assert not elsewhere, sorted(elsewhere)


# The workspace's and the portal suggestions' comparisons live in their own modules; imported here so that they count when this one runs alone.
import test_portal_suggestion_queries  # noqa: E402,F401
import test_workspace_queries  # noqa: E402,F401


# --- applying payment results (issue 19: a checkout's write lock) -----------------------------------

@pytest.mark.django_db
@compares(payment_queries.pending_attempt_ids_orm)
def test_the_pending_attempts_locked_to_apply_results_are_what_the_orm_locks():
    from assina.payments.models import PaymentAttempt

    start_clock(T0)
    make_plan("pro", 4990)
    invoices = [Invoice.objects.get(subscription=subscribe(make_customer(), "pro")) for _ in range(3)]
    for invoice in invoices:  # each invoice's first attempt succeeded; later ones pending, failed or succeeded
        for number, status in ((2, "pending"), (3, "failed"), (4, "pending"), (5, "succeeded")):
            PaymentAttempt.objects.create(invoice=invoice, number=number, idempotency_key=f"k_{invoice.pk}_{number}",
                                          amount=4990, currency="BRL", status=status, created_at=T0)
    first, second, third = (invoice.pk for invoice in invoices)
    cases = [[f"k_{first}_2"], [f"k_{first}_3"], ["nope"], [f"k_{third}_4", f"k_{first}_2", f"k_{first}_3", "nope"],
             [f"k_{i}_{n}" for i in (first, second, third) for n in (5, 4, 3, 2)],
             [PaymentAttempt.objects.filter(number=1).values_list("idempotency_key", flat=True).first()], []]
    found = []
    for keys in cases:
        with transaction.atomic():
            fast = payment_queries.pending_attempt_ids(keys)
            assert fast == payment_queries.pending_attempt_ids_orm(keys)
        found.append([key for _, key in fast])
    assert found == [[f"k_{first}_2"], [], [], [f"k_{first}_2", f"k_{third}_4"],
                     [f"k_{i}_{n}" for i in (first, second, third) for n in (2, 4)], [], []]


@pytest.mark.django_db
@compares(subscription_queries.subscriptions_to_follow_orm, subscription_queries.open_invoice_ids_orm)
def test_what_following_payment_results_reads_is_what_the_orm_reads():
    start_clock(T0)
    make_plan("pro", 4990)
    active = subscribe(make_customer(), "pro")
    past_due = subscribe(make_customer(), "pro")
    attach_card(past_due.customer, FAILING_CARD, T0)
    advance(past_due.current_period_end)  # the renewal is declined: past due, with a grace period
    incomplete = subscribe(make_customer(card=FAILING_CARD), "pro")  # its first invoice stays open
    trialing = subscribe(make_customer(card=None), "pro", trial_days=30)
    Subscription.objects.filter(pk=trialing.pk).update(  # times with and without microseconds
        resumes_at=utc(2027, 5, 1) + timedelta(microseconds=7), catch_up_held_at=utc(2027, 2, 1))
    Subscription.objects.filter(pk=incomplete.pk).update(imported_at=utc(2026, 12, 1, 3, 4, 5))
    statuses = dict(Subscription.objects.values_list("pk", "status"))
    assert statuses == {active.pk: "active", incomplete.pk: "incomplete", past_due.pk: "past_due",
                        trialing.pk: "trialing"}
    every = set(statuses)
    for failed, paid in ((set(), set()), ({active.pk}, set()), (set(), {active.pk}), (set(), {incomplete.pk}),
                         ({past_due.pk}, {incomplete.pk, active.pk, trialing.pk}), (every, set()), (set(), every),
                         ({999999}, {999998})):
        with transaction.atomic():
            fast = subscription_queries.subscriptions_to_follow(failed, paid)
            assert fast == subscription_queries.subscriptions_to_follow_orm(failed, paid)
        assert [row[0] for row in fast] == sorted(failed & every | {pk for pk in paid & every if statuses[pk] != "active"})
        fields = subscription_queries.FOLLOWED_FIELDS
        for row in fast:  # every value as the ORM's instance holds it
            sub = Subscription.objects.get(pk=row[0])
            assert row == tuple(getattr(sub, name) for name in fields)
    open_ids = {sub.pk: list(Invoice.objects.filter(subscription=sub, status="open").order_by("pk")
                             .values_list("pk", flat=True)) for sub in (incomplete, past_due)}
    assert all(open_ids.values())
    for sub_id in (*every, 999999):
        for besides in {0, *open_ids.get(sub_id, [])}:
            fast = subscription_queries.open_invoice_ids(sub_id, besides)
            assert fast == subscription_queries.open_invoice_ids_orm(sub_id, besides)
            assert fast == [pk for pk in open_ids.get(sub_id, []) if pk != besides]


@pytest.mark.django_db
@compares(subscription_queries.first_pending_changes_orm)
def test_the_first_pending_changes_are_what_the_orm_finds():
    from assina.subscriptions.models import ScheduledChange

    start_clock(T0)
    make_plan("pro", 4990)
    subs = [subscribe(make_customer(card=None), "pro", trial_days=30).pk for _ in range(4)]
    first, second, third, _none = subs
    micro = timedelta(microseconds=3)
    for sub_id, at, status in ((first, utc(2027, 3, 1), "pending"), (first, utc(2027, 2, 1) + micro, "pending"),
                               (first, utc(2027, 1, 20), "canceled"), (second, utc(2027, 2, 15), "applied"),
                               (third, utc(2027, 4, 1, 12), "pending"), (third, utc(2027, 4, 1, 12), "pending")):
        ScheduledChange.objects.create(subscription_id=sub_id, effective_at=at, change={"quantity": 2}, status=status,
                                       created_at=T0)
    for ids in ([], [first], [second], subs, [third, first, 999999]):
        fast = subscription_queries.first_pending_changes(ids)
        assert fast == subscription_queries.first_pending_changes_orm(ids)
        assert fast == {k: v for k, v in {first: utc(2027, 2, 1) + micro, third: utc(2027, 4, 1, 12)}.items() if k in ids}


@pytest.mark.django_db
@compares(payment_queries.pending_attempt_rows_orm, payment_queries.locked_invoice_rows_orm)
def test_the_attempts_and_invoices_locked_to_apply_results_read_what_the_orm_reads():
    from assina.payments.models import PaymentAttempt
    from assina.payments.services import INVOICE_FIELDS

    start_clock(T0)
    make_plan("pro", 4990)
    failing = subscribe(make_customer(), "pro")
    attach_card(failing.customer, FAILING_CARD, T0)
    advance(failing.current_period_end)  # a declined renewal: in dunning, a retry scheduled
    paid = subscribe(make_customer(), "pro")
    invoices = list(Invoice.objects.order_by("pk"))
    created = utc(2027, 2, 10, 9, 30) + timedelta(microseconds=11)
    for invoice in invoices:
        for number, status in ((7, "pending"), (8, "failed"), (9, "pending")):
            PaymentAttempt.objects.create(invoice=invoice, number=number, idempotency_key=f"k_{invoice.pk}_{number}",
                                          amount=invoice.total, currency="BRL", status=status, created_at=created)
    keys = [f"k_{invoice.pk}_{n}" for invoice in invoices for n in (9, 8, 7)]
    for chosen in ([], keys[:1], keys[1:2], keys, ["nope", *keys[::-1]]):
        with transaction.atomic():
            fast = payment_queries.pending_attempt_rows(chosen)
            assert fast == payment_queries.pending_attempt_rows_orm(chosen)
        assert [row[1] for row in fast] == sorted({k for k in chosen if k in keys and not k.endswith("_8")},
                                                  key=lambda k: PaymentAttempt.objects.get(idempotency_key=k).pk)
        assert all(row[6] == created for row in fast)
    ids = [invoice.pk for invoice in invoices]
    for chosen in ([], ids[:1], ids, [ids[-1], 999999, ids[0]]):
        with transaction.atomic():
            fast = payment_queries.locked_invoice_rows(chosen, INVOICE_FIELDS)
            assert fast == payment_queries.locked_invoice_rows_orm(chosen, INVOICE_FIELDS)
        assert [row[0] for row in fast] == sorted(set(chosen) & set(ids))
    rows = payment_queries.locked_invoice_rows(ids, INVOICE_FIELDS)
    assert {row[1] for row in rows} == {"open", "paid"} and any(row[-2] and row[-1] for row in rows)  # in dunning
    assert paid.pk in {row[2] for row in rows}


@pytest.mark.django_db
@compares(payment_queries.record_attempt_result_orm, payment_queries.mark_invoice_paid_orm)
def test_writing_one_charges_result_matches_the_orm():
    from assina.payments.models import PaymentAttempt

    start_clock(T0)
    make_plan("pro", 4990)
    invoice = Invoice.objects.get(subscription=subscribe(make_customer(card=FAILING_CARD), "pro"))  # open
    attempt = PaymentAttempt.objects.get(invoice=invoice)
    later = (T0 + timedelta(hours=5, microseconds=42)).astimezone(ZoneInfo("America/Sao_Paulo"))
    for args in (("succeeded", "", "", "ch_1", T0, None), ("failed", "card_declined", "Zoë's bank said no", "", later,
                                                           utc(2027, 1, 13, 9)),
                 ("failed", None, None, None, T0 + timedelta(seconds=1), None)):
        answer, _ = assert_same_writes(lambda args=args: payment_queries.record_attempt_result(attempt.pk, *args),
                                       lambda args=args: payment_queries.record_attempt_result_orm(attempt.pk, *args),
                                       PaymentAttempt)
        assert answer == 1
    for invoice_id, amount, at in ((invoice.pk, invoice.amount_due, T0), (invoice.pk, 1, later), (999999, 5, T0)):
        answer, _ = assert_same_writes(lambda: payment_queries.mark_invoice_paid(invoice_id, amount, at),
                                       lambda: payment_queries.mark_invoice_paid_orm(invoice_id, amount, at), Invoice)
        assert answer == (invoice_id == invoice.pk)
