"""Dunning under the test clock: the "done when" of the payments issue.

A subscription started Jan 10, 09:00 renews Feb 10, 09:00; the default schedule retries on
days 1, 3, 5, 7, 10 and 14 after the first failure (Feb 11, 13, 15, 17, 20 and 24, 09:00).
"""

import pytest
from django.db import transaction
from factories import GOOD_CARD, advance, invoices_of, make_customer, make_plan, real_transactions, reload, start_clock, subscribe, utc
from payments_support import assert_no_violations, attempts_of, card_fails, card_recovers, policy

from assina.time import now
from assina.events.models import Event
from assina.payments.reports import recovery_report
from assina.payments.services import attach_card
from assina.subscriptions.lifecycle import has_access

pytestmark = real_transactions

RENEWAL = utc(2027, 2, 10, 9)


def _subscribed(card: str = GOOD_CARD):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=card)
    return customer, subscribe(customer, "pro")


def _types(customer, since=0):
    return list(Event.objects.filter(customer_id=customer.pk, id__gt=since).order_by("id").values_list("type", flat=True))


def test_a_soft_decline_is_recovered_on_the_third_retry():
    customer, sub = _subscribed()
    card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    card_recovers(customer, utc(2027, 2, 14))  # topped up before the third retry (Feb 15)

    advance(utc(2027, 2, 14, 12))
    renewal = invoices_of(sub)[-1]
    assert (renewal.status, renewal.dunning_status, renewal.next_payment_attempt) == ("open", "retrying", utc(2027, 2, 15, 9))
    assert reload(sub).status == "past_due"
    advance(utc(2027, 2, 20))

    renewal.refresh_from_db()
    assert attempts_of(renewal) == [
        (1, "failed", "insufficient_funds", RENEWAL),
        (2, "failed", "insufficient_funds", utc(2027, 2, 11, 9)),
        (3, "failed", "insufficient_funds", utc(2027, 2, 13, 9)),
        (4, "succeeded", "", utc(2027, 2, 15, 9)),  # the third retry
    ]
    assert (renewal.status, renewal.paid_at, renewal.dunning_status, renewal.next_payment_attempt) == (
        "paid", utc(2027, 2, 15, 9), "recovered", None)
    sub = reload(sub)
    assert sub.status == "active" and sub.grace_until is None
    failed = list(Event.objects.filter(type="payment.failed", customer_id=customer.pk).order_by("id").values_list("data", flat=True))
    assert [(d["attempt"], d["decline_code"], d["next_retry_at"], d["final"]) for d in failed] == [
        (1, "insufficient_funds", "2027-02-11T09:00:00+00:00", False),
        (2, "insufficient_funds", "2027-02-13T09:00:00+00:00", False),
        (3, "insufficient_funds", "2027-02-15T09:00:00+00:00", False),
    ]
    assert failed[0]["invoice"] == renewal.pk and failed[0]["number"] == renewal.number and failed[0]["amount"] == 4990
    assert Event.objects.filter(type="payment.retry_scheduled", subject_id=renewal.pk).count() == 3
    assert Event.objects.filter(type="invoice.recovered", subject_id=renewal.pk).count() == 1
    report = recovery_report()
    assert report["months"] == [{**report["months"][0], "month": "2027-02", "currency": "BRL", "failed_invoices": 1,
                                 "failed_amount": 4990, "recovered_amount": 4990, "recovery_rate": 1.0}]
    advance(utc(2027, 3, 10, 10))  # billing goes on normally
    assert invoices_of(sub)[-1].status == "paid"
    assert_no_violations()


def test_a_hard_decline_waits_for_a_new_card_and_is_paid_as_soon_as_it_is_added():
    customer, sub = _subscribed()
    card_fails(customer, utc(2027, 2, 1), "lost_card")

    advance(utc(2027, 2, 18))
    renewal = invoices_of(sub)[-1]
    assert attempts_of(renewal) == [(1, "failed", "lost_card", RENEWAL)]  # never retried with a lost card
    assert (renewal.status, renewal.dunning_status, renewal.next_payment_attempt, renewal.dunning_final_at) == (
        "open", "awaiting_method", None, utc(2027, 2, 24, 9))
    failed = Event.objects.get(type="payment.failed", customer_id=customer.pk).data
    assert (failed["hard_decline"], failed["next_retry_at"], failed["final"]) == (True, None, False)

    attach_card(customer, GOOD_CARD, now())

    renewal.refresh_from_db()
    assert attempts_of(renewal)[-1] == (2, "succeeded", "", utc(2027, 2, 18))
    assert (renewal.status, renewal.dunning_status, renewal.dunning_final_at) == ("paid", "recovered", None)
    assert reload(sub).status == "active"
    advance(utc(2027, 3, 1))  # the final action that was due on Feb 24 does not happen
    assert reload(sub).status == "active"
    assert not Event.objects.filter(type="subscription.dunning_exhausted").exists()
    assert_no_violations()


@pytest.mark.parametrize("action, status, invoice_status", [
    ("cancel", "canceled", "uncollectible"),
    ("unpaid", "unpaid", "open"),
    ("pause", "paused", "uncollectible"),
])
def test_an_exhausted_schedule_ends_in_the_configured_final_action(action, status, invoice_status):
    customer, sub = _subscribed()
    with transaction.atomic():
        policy(final_action=action)
    card_fails(customer, utc(2027, 2, 1), "card_declined")

    advance(utc(2027, 2, 24, 8))
    assert reload(sub).status == "past_due"
    advance(utc(2027, 3, 31))

    renewal = invoices_of(sub)[1]
    assert [a[3] for a in attempts_of(renewal)] == [RENEWAL] + [utc(2027, 2, d, 9) for d in (11, 13, 15, 17, 20, 24)]
    assert (renewal.status, renewal.dunning_status, renewal.next_payment_attempt) == (invoice_status, "exhausted", None)
    sub = reload(sub)
    assert sub.status == status and not has_access(sub, now())
    exhausted = Event.objects.get(type="subscription.dunning_exhausted", subject_id=sub.pk)
    assert exhausted.occurred_at == utc(2027, 2, 24, 9)
    assert (exhausted.data["final_action"], exhausted.data["attempts"], exhausted.data["invoice"]) == (action, 7, renewal.pk)
    last = Event.objects.filter(type="payment.failed", customer_id=customer.pk).order_by("-id").first().data
    assert (last["attempt"], last["final"], last["next_retry_at"]) == (7, True, None)
    assert len(invoices_of(sub)) == 2  # nothing billed after the final action
    assert_no_violations()
    if action == "unpaid":
        # Paying the open invoice gives access back, and billing goes on from the unpaid period.
        attach_card(customer, "5555555555554444", now())
        sub = reload(sub)
        assert sub.status == "active" and has_access(sub, now())
        assert reload(renewal).status == "paid"
        advance(utc(2027, 4, 1))
        assert [i.period_start for i in invoices_of(sub)] == [utc(2027, 1, 10, 9), RENEWAL, utc(2027, 3, 10, 9)]
        assert_no_violations()


def test_access_is_kept_during_the_grace_period_then_suspended_until_paid():
    customer, sub = _subscribed()
    card_fails(customer, utc(2027, 2, 1), "insufficient_funds")

    advance(utc(2027, 2, 17, 8, 59))
    sub = reload(sub)
    assert sub.status == "past_due" and sub.grace_until == utc(2027, 2, 17, 9)
    assert has_access(sub, now())  # 7 days of grace after the first failure
    advance(utc(2027, 2, 17, 9, 30))
    sub = reload(sub)
    assert sub.status == "past_due" and not has_access(sub, now())  # still retried, but no access

    card_recovers(customer, now())
    attach_card(customer, GOOD_CARD, now())  # an updated card retries at once
    sub = reload(sub)
    assert sub.status == "active" and has_access(sub, now())
    assert_no_violations()
