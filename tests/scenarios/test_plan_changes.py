"""Plan changes: now with Stripe-style proration (carried to the next invoice or invoiced at
once), or scheduled for the period end without proration."""

from factories import (
    advance,
    assert_all_invoices_sum,
    event_types,
    fraction_9,
    invoices_of,
    lines_of,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    round_half_up,
    start_clock,
    subscribe,
    utc,
)

from assina.customers.models import BalanceTransaction
from assina.events.models import Event
from assina.invoices.models import PendingItem
from assina.payments.models import PaymentAttempt
from assina.subscriptions.changes import change_subscription, preview_change
from assina.subscriptions.models import ScheduledChange

pytestmark = real_transactions

ANCHOR = utc(2027, 1, 31, 10)
FEB_28 = utc(2027, 2, 28, 10)
MAR_31 = utc(2027, 3, 31, 10)
CHANGE_AT = utc(2027, 2, 10, 15, 30, 20)
# By hand: the period Jan 31 10:00 -> Feb 28 10:00 lasts 28 days = 2,419,200 s; from
# Feb 10 15:30:20 to Feb 28 10:00 there are 17 d 18 h 29 min 40 s = 1,535,380 s.
TOTAL_SECONDS = 28 * 86400
REMAINING_SECONDS = 17 * 86400 + 18 * 3600 + 29 * 60 + 40
BASIC, PRO = 4990, 14990


def _hand_proration(old_total: int, new_total: int) -> tuple[int, int]:
    fraction = fraction_9(REMAINING_SECONDS, TOTAL_SECONDS)
    assert str(fraction) == "0.634664352"
    return -round_half_up(old_total * fraction), round_half_up(new_total * fraction)


def _subscribed_to(plan_code: str):
    start_clock(ANCHOR)
    make_plan("basic", BASIC, name="Basic")
    make_plan("pro", PRO, name="Pro")
    customer = make_customer()
    sub = subscribe(customer, plan_code)
    advance(CHANGE_AT)
    return customer, sub


def test_upgrade_now_carries_credit_and_charge_to_the_next_invoice():
    credit, charge = _hand_proration(BASIC, PRO)
    assert (credit, charge) == (-3167, 9514)  # 4990 x 0.634664352 = 3166.975; 14990 x ... = 9513.619
    customer, sub = _subscribed_to("basic")

    preview = preview_change(sub.pk, plan_code="pro")
    assert [l.amount for l in preview.lines] == [credit, charge] and preview.net == 6347
    change_subscription(sub.pk, plan_code="pro")

    sub = reload(sub)
    assert (sub.plan.code, sub.status, sub.current_period_end) == ("pro", "active", FEB_28)
    assert len(invoices_of(sub)) == 1  # nothing billed now
    pending = list(PendingItem.objects.filter(subscription=sub).values_list("amount", "period_start", "period_end", "invoice"))
    assert pending == [(credit, CHANGE_AT, FEB_28, None), (charge, CHANGE_AT, FEB_28, None)]
    updated = Event.objects.filter(type="subscription.updated", subject_id=sub.pk).last()
    assert updated.data == {"previous": {"plan": "basic", "quantity": 1}, "plan": "pro", "quantity": 1,
                            "proration": 6347, "invoiced_now": False}

    advance(MAR_31)
    first, renewal, third = invoices_of(sub)
    assert (renewal.period_start, renewal.period_end) == (FEB_28, MAR_31)
    assert lines_of(renewal) == [("subscription", PRO), ("proration", credit), ("proration", charge)]
    assert (renewal.total, renewal.amount_paid, renewal.status) == (PRO + credit + charge, 21337, "paid")
    assert set(PendingItem.objects.values_list("invoice", flat=True)) == {renewal.pk}
    assert lines_of(third) == [("subscription", PRO)]
    assert_all_invoices_sum()


def test_upgrade_now_with_invoice_now_bills_the_proration_at_once():
    credit, charge = _hand_proration(BASIC, PRO)
    customer, sub = _subscribed_to("basic")

    change_subscription(sub.pk, plan_code="pro", invoice_now=True)

    first, change = invoices_of(sub)
    assert (change.billing_reason, change.period_start, change.period_end) == ("subscription_update", None, None)
    assert change.created_at == CHANGE_AT
    assert lines_of(change) == [("proration", credit), ("proration", charge)]
    assert (change.total, change.amount_due, change.amount_paid, change.status) == (6347, 6347, 6347, "paid")
    [attempt] = PaymentAttempt.objects.filter(invoice=change)
    assert (attempt.status, attempt.amount) == ("succeeded", 6347)
    assert change.number == "2027-000002"
    assert not PendingItem.objects.filter(invoice__isnull=True).exists()

    advance(FEB_28)
    renewal = invoices_of(sub)[-1]
    assert (renewal.period_start, lines_of(renewal), renewal.total) == (FEB_28, [("subscription", PRO)], PRO)
    assert_all_invoices_sum()


def test_downgrade_at_period_end_applies_at_the_boundary_without_proration():
    customer, sub = _subscribed_to("pro")

    change_subscription(sub.pk, plan_code="basic", at_period_end=True)

    sub = reload(sub)
    assert sub.plan.code == "pro"  # nothing changes before the boundary
    [scheduled] = ScheduledChange.objects.filter(subscription=sub)
    assert (scheduled.status, scheduled.effective_at, scheduled.change) == ("pending", FEB_28, {"plan": "basic", "quantity": 1})
    assert event_types(sub)[-1] == "subscription.change_scheduled"

    advance(utc(2027, 4, 1))

    sub = reload(sub)
    assert sub.plan.code == "basic"
    assert reload(scheduled).status == "applied"
    invoices = invoices_of(sub)
    assert [(i.period_start, lines_of(i)) for i in invoices] == [
        (ANCHOR, [("subscription", PRO)]),
        (FEB_28, [("subscription", BASIC)]),
        (MAR_31, [("subscription", BASIC)]),
    ]
    assert not PendingItem.objects.exists()
    applied = Event.objects.filter(type="subscription.updated", subject_id=sub.pk, data__scheduled_change=scheduled.pk)
    assert applied.count() == 1
    assert_all_invoices_sum()


def test_downgrade_now_with_invoice_now_turns_the_negative_net_into_credit_used_by_the_next_invoices():
    credit, charge = _hand_proration(PRO, BASIC)
    assert (credit, charge) == (-9514, 3167)
    customer, sub = _subscribed_to("pro")

    change_subscription(sub.pk, plan_code="basic", invoice_now=True)

    first, change = invoices_of(sub)
    assert lines_of(change) == [("proration", credit), ("proration", charge)]
    assert (change.total, change.credit_applied, change.amount_due, change.status) == (-6347, 0, 0, "paid")
    assert not PaymentAttempt.objects.filter(invoice=change).exists()
    assert reload(customer).credit_balance == 6347
    assert list(BalanceTransaction.objects.values_list("kind", "amount", "invoice")) == [
        ("proration_credit", 6347, change.pk)]

    advance(MAR_31)
    _, _, feb, mar = invoices_of(sub)
    # Feb 28: the credit pays the whole renewal, no card charge.
    assert (feb.total, feb.credit_applied, feb.amount_due, feb.status) == (BASIC, BASIC, 0, "paid")
    assert not PaymentAttempt.objects.filter(invoice=feb).exists()
    # Mar 31: the rest of the credit (6347 - 4990 = 1357) is used, the card pays the remainder.
    assert (mar.total, mar.credit_applied, mar.amount_due, mar.amount_paid) == (BASIC, 1357, 3633, 3633)
    assert PaymentAttempt.objects.get(invoice=mar).amount == 3633
    assert reload(customer).credit_balance == 0
    assert list(BalanceTransaction.objects.values_list("kind", "amount")) == [
        ("proration_credit", 6347), ("applied_to_invoice", -4990), ("applied_to_invoice", -1357)]
    assert_all_invoices_sum()


def test_downgrade_now_carried_to_a_renewal_that_goes_negative_becomes_credit_for_the_one_after():
    credit, charge = _hand_proration(PRO, BASIC)
    customer, sub = _subscribed_to("pro")

    change_subscription(sub.pk, plan_code="basic")
    advance(MAR_31)

    _, feb, mar = invoices_of(sub)
    assert lines_of(feb) == [("subscription", BASIC), ("proration", credit), ("proration", charge)]
    assert (feb.total, feb.amount_due, feb.status) == (BASIC + credit + charge, 0, "paid")  # -1357
    assert (mar.total, mar.credit_applied, mar.amount_due) == (BASIC, 1357, BASIC - 1357)
    assert reload(customer).credit_balance == 0
    assert_all_invoices_sum()


def test_a_second_interval_change_at_the_same_frozen_moment_is_refused_clearly_and_changes_nothing():
    """On a frozen test clock, a change of billing interval at the very moment a period started
    would bill a second period starting then (one per start): a clear error, nothing changed."""
    import pytest
    from django.utils import translation

    from assina.invoices.models import Invoice
    from assina.subscriptions.services import SubscriptionError

    start_clock(ANCHOR)
    make_plan("basic", BASIC, name="Basic")
    make_plan("basic-annual", 49900, name="Basic annual", interval="year")
    sub = subscribe(make_customer(), "basic")

    def state():
        return list(Invoice.objects.order_by("pk").values_list("pk", "total", "status")), event_types()

    before = state()
    with pytest.raises(SubscriptionError, match="already started a billing period at 2027-01-31T10:00:00Z"):
        change_subscription(sub.pk, plan_code="basic-annual")  # the first period started this very moment
    assert state() == before
    later = ANCHOR + (FEB_28 - ANCHOR) / 28  # a day on
    advance(later)
    change_subscription(sub.pk, plan_code="basic-annual")  # an ordinary change: a new annual period starts now
    before = state()
    with translation.override("pt-br"), pytest.raises(SubscriptionError, match="avance o relógio de teste"):
        change_subscription(sub.pk, plan_code="basic")
    assert state() == before
    assert reload(sub).plan.code == "basic-annual" and reload(sub).interval == "year"
    advance(later + (FEB_28 - ANCHOR) / 28)
    assert change_subscription(sub.pk, plan_code="basic").interval == "month"
