"""Usage events: stored once whatever is re-sent, billed in arrears per period, late events
billed on the next invoice and reported."""

import pytest
from factories import (
    advance, assert_all_invoices_sum, counts, invoices_of, make_customer, make_plan, real_transactions, reload,
    start_clock, subscribe, utc,
)
from usage_support import send, usage

from assina.events.models import Event
from assina.invoices.models import InvoiceLine
from assina.subscriptions.services import cancel_now
from assina.usage.ingest import BatchTooLarge, UsageError
from assina.usage.models import UsageCharge, UsageEvent
from assina.usage.services import add_metered_price, create_metric

# Billing commits before it charges (the payment flow): real transactions, except where noted.
pytestmark = real_transactions
plain_db = pytest.mark.django_db


def _lines(invoice):
    return list(InvoiceLine.objects.filter(invoice=invoice).order_by("id")
                .values_list("item_code", "quantity", "amount", "description"))


def _metered_plan(code="api", aggregation="sum", **price):
    make_plan(code, 1000, name="API plan")
    create_metric(code="calls", name="API calls", aggregation=aggregation,
                  unique_property="user" if aggregation == "unique_count" else "")
    add_metered_price(plan_code=code, metric_code="calls", **(price or {"unit_amount": 5}))


@plain_db
def test_resending_a_batch_stores_each_event_once_and_reports_the_duplicates():
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls")
    alice, bob = make_customer(), make_customer()
    batch = [usage("e1", alice, "calls", 3, utc(2027, 1, 1)), usage("e2", alice, "calls", 4, utc(2027, 1, 1)),
             usage("e1", bob, "calls", 5, utc(2027, 1, 1))]  # same id, another customer: a different event
    first = send(*batch)
    assert (first.received, first.stored, first.duplicates) == (3, 3, [])
    again = send(*batch, usage("e3", alice, "calls", 1, utc(2027, 1, 1)))
    assert (again.received, again.stored, again.duplicates) == (4, 1, ["e1", "e2", "e1"])
    assert UsageEvent.objects.count() == 4
    inside = send(usage("e9", alice, "calls", 1, utc(2027, 1, 1)), usage("e9", alice, "calls", 1, utc(2027, 1, 1)))
    assert (inside.stored, inside.duplicates) == (1, ["e9"])


@plain_db
def test_a_batch_with_one_bad_event_or_too_many_events_stores_nothing():
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls")
    alice = make_customer()
    before = (UsageEvent.objects.count(), counts())
    with pytest.raises(UsageError) as refused:
        send(usage("ok", alice, "calls", 1, utc(2027, 1, 1)), usage("bad", alice, "nope", 1, utc(2027, 1, 1)),
             usage("future", alice, "calls", 1, utc(2027, 3, 1)))
    assert [e["loc"] for e in refused.value.errors] == [["events", 2, "timestamp"], ["events", 1, "metric"]]
    with pytest.raises(BatchTooLarge):
        send(*[usage(f"e{i}", alice, "calls", 1, utc(2027, 1, 1)) for i in range(1001)])
    assert (UsageEvent.objects.count(), counts()) == before


@plain_db
def test_text_with_a_nul_character_is_refused_by_the_service_too():
    # The API refuses it earlier; record_usage has other callers, and PostgreSQL cannot store it.
    start_clock(utc(2027, 1, 1))
    create_metric(code="calls", name="API calls")
    alice = make_customer()
    with pytest.raises(UsageError) as refused:
        send(usage("ok", alice, "calls", 1, utc(2027, 1, 1)), usage("a\x00", alice, "calls", 1, utc(2027, 1, 1)),
             usage("p", alice, "calls", 1, utc(2027, 1, 1), k="v\x00"))
    assert [e["loc"] for e in refused.value.errors] == [["events", 1], ["events", 2]]
    assert not UsageEvent.objects.exists()

def test_metered_usage_is_billed_in_arrears_on_the_renewal_invoice():
    start_clock(utc(2027, 1, 1))
    _metered_plan(unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 31, 23))
    send(usage("a", customer, "calls", 100, utc(2027, 1, 5)), usage("b", customer, "calls", 20, utc(2027, 1, 31, 23)),
         usage("c", customer, "calls", 7, utc(2027, 2, 1)))  # within the clock's tolerance; next period
    advance(utc(2027, 2, 1))
    feb = invoices_of(sub)[-1]
    assert _lines(feb)[1] == ("calls", 120, 600, "API calls usage")
    assert feb.total == 1000 + 600
    advance(utc(2027, 3, 1))
    assert _lines(invoices_of(sub)[-1])[1][:3] == ("calls", 7, 35)
    assert UsageEvent.objects.filter(billed_subscription_id=sub.pk, late=False).count() == 3
    assert_all_invoices_sum()


def test_a_late_event_is_billed_on_the_next_invoice_and_reported():
    start_clock(utc(2027, 1, 1))
    _metered_plan(pricing_model="graduated", tiers=[{"up_to": 100, "unit_amount": 10}, {"up_to": None, "unit_amount": 5}])
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 10))
    send(usage("a", customer, "calls", 90, utc(2027, 1, 10)))
    advance(utc(2027, 2, 1))
    assert _lines(invoices_of(sub)[-1])[1][:3] == ("calls", 90, 900)
    # January is billed; 30 more January calls arrive: 10 at 10 (up to 100) and 20 at 5.
    send(usage("late", customer, "calls", 30, utc(2027, 1, 31, 23, 59)))
    advance(utc(2027, 2, 2))
    send(usage("feb", customer, "calls", 1, utc(2027, 2, 2)))
    advance(utc(2027, 3, 1))
    march = invoices_of(sub)[-1]
    assert _lines(march)[1:] == [
        ("calls", 1, 10, "API calls usage"),
        ("calls", 30, 10 * 10 + 20 * 5, "Late API calls usage for 2027-01-01 to 2027-02-01"),
    ]
    late = Event.objects.get(type="usage.late")
    assert (late.customer_id, late.subject_id, late.data["events"], late.data["amount"]) == (customer.pk, sub.pk, 1, 200)
    assert UsageEvent.objects.get(event_id="late").late is True
    charge = UsageCharge.objects.get(subscription=sub, period_start=utc(2027, 1, 1))
    assert (charge.quantity, charge.amount, charge.late_quantity, charge.late_amount) == (90, 900, 30, 200)
    assert_all_invoices_sum()


@pytest.mark.parametrize(("aggregation", "expected"), [("max", 40), ("count", 3), ("unique_count", 2)])
def test_aggregations(aggregation, expected):
    start_clock(utc(2027, 1, 1))
    _metered_plan(aggregation=aggregation, unit_amount=1)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 4))
    send(usage("a", customer, "calls", 10, utc(2027, 1, 2), user="u1"), usage("b", customer, "calls", 40, utc(2027, 1, 3), user="u2"),
         usage("c", customer, "calls", 5, utc(2027, 1, 4), user="u1"))
    advance(utc(2027, 2, 1))
    assert _lines(invoices_of(sub)[-1])[1][:3] == ("calls", expected, expected)


def test_canceling_now_bills_the_usage_so_far_on_a_final_invoice():
    start_clock(utc(2027, 1, 1))
    _metered_plan(unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 10))
    send(usage("a", customer, "calls", 10, utc(2027, 1, 5)))
    cancel_now(sub.pk)
    final = invoices_of(sub)[-1]
    assert (final.billing_reason, _lines(final)) == ("subscription_update", [("calls", 10, 50, "API calls usage")])
    assert reload(final).status == "paid"
    assert_all_invoices_sum()


def test_trial_usage_is_counted_but_free():
    start_clock(utc(2027, 1, 1))
    _metered_plan(unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api", trial_days=14)
    advance(utc(2027, 1, 5))
    send(usage("a", customer, "calls", 10, utc(2027, 1, 5)))
    advance(utc(2027, 1, 15))
    first = invoices_of(sub)[0]
    assert _lines(first)[1][:3] == ("calls", 10, 0)


def test_billing_a_batch_costs_the_same_few_statements_whatever_its_size():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from assina.usage.billing import metered_lines

    start_clock(utc(2027, 1, 1))
    _metered_plan(unit_amount=5)
    subs = []
    for i in range(12):
        customer = make_customer()
        subs.append(subscribe(customer, "api"))
    advance(utc(2027, 1, 20))
    send(*[usage(f"e{i}-{j}", s.customer, "calls", 1, utc(2027, 1, 10)) for i, s in enumerate(subs) for j in range(3)])

    def statements(batch):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            lines = metered_lines([(s.pk, utc(2027, 1, 1), utc(2027, 2, 1)) for s in batch])
            transaction.set_rollback(True)
        assert all(l[0].quantity == 3 for l in lines.values()) and len(lines) == len(batch)
        return len(queries)

    assert statements(subs[:2]) == statements(subs) <= 8  # items, prices, billed, settle, mark, sum, charges, late


def test_a_subscription_canceled_at_period_end_bills_its_last_periods_usage():
    from assina.subscriptions.services import cancel_at_period_end

    start_clock(utc(2027, 1, 1))
    _metered_plan(unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 20))
    cancel_at_period_end(sub.pk)
    send(usage("a", customer, "calls", 4, utc(2027, 1, 19)))
    advance(utc(2027, 2, 2))
    assert reload(sub).status == "canceled"
    final = invoices_of(sub)[-1]
    assert (final.billing_reason, _lines(final)) == ("subscription_cycle", [("calls", 4, 20, "API calls usage")])
    assert reload(final).status == "paid"  # charged after the commit, or by the next run's reconciliation
    assert_all_invoices_sum()


def test_pausing_bills_the_usage_so_far_and_usage_during_the_pause_comes_later_as_late_usage():
    from assina.subscriptions.services import pause, resume

    start_clock(utc(2027, 1, 1))
    _metered_plan(unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 10))
    send(usage("a", customer, "calls", 2, utc(2027, 1, 5)))
    pause(sub.pk)
    assert [l[:3] for l in _lines(invoices_of(sub)[-1])] == [("calls", 2, 10)]
    advance(utc(2027, 1, 15))
    send(usage("b", customer, "calls", 3, utc(2027, 1, 12)))  # during the pause
    resume(sub.pk)
    advance(utc(2027, 2, 16))
    renewal = invoices_of(sub)[-1]
    assert [l[:3] for l in _lines(renewal)[1:]] == [("calls", 0, 0), ("calls", 3, 15)]
    assert Event.objects.filter(type="usage.late", subject_id=sub.pk).count() == 1
    assert_all_invoices_sum()
