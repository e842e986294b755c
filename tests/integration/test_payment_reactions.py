"""Subscriptions follow what payments and invoices state (``payments.events``,
``invoices.events``) in the same transaction: the status changes, and their events, land where
they land when one function did everything (the same types, in the same order)."""

import pytest
from django.db import transaction
from factories import (
    FAILING_CARD,
    GOOD_CARD,
    advance,
    invoices_of,
    last_event_id,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    start_clock,
    subscribe,
    utc,
)
from payments_support import assert_no_violations, card_fails, policy

from assina.core.payment_results import FIRST_INVOICE_REASON
from assina.core.invoicing import DraftLine, LineKind
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.invoices.services import InvoiceDraft, issue_invoices
from assina.payments.services import attach_card, collect, start_attempts
from assina.time import now

pytestmark = real_transactions


def _types(customer, since: int) -> list[str]:
    return list(Event.objects.filter(customer_id=customer.pk, id__gt=since).order_by("id").values_list("type", flat=True))


def test_the_first_invoice_reason_is_the_invoices_own():
    assert Invoice.Reason.SUBSCRIPTION_CREATE.value == FIRST_INVOICE_REASON


def test_a_batch_paying_two_open_invoices_reactivates_the_subscription_after_the_last_one():
    start_clock(utc(2027, 1, 31, 10))
    with transaction.atomic():
        policy(retry_days="30, 60", grace_days=90)  # retries far apart: both renewals stay open
    make_plan("basic", 4990)
    customer = make_customer()
    sub = subscribe(customer, "basic")
    attach_card(customer, FAILING_CARD, now())
    advance(utc(2027, 3, 31, 12))  # the Feb 28 and Mar 31 renewals are declined
    _, february, march = invoices_of(sub)
    assert (reload(sub).status, february.status, march.status) == ("past_due", "open", "open")

    before = last_event_id()
    attach_card(customer, GOOD_CARD, now())  # both open invoices are retried in one batch

    assert (reload(february).status, reload(march).status, reload(sub).status) == ("paid", "paid", "active")
    assert _types(customer, before) == [
        "payment_method.attached", "invoice.paid", "invoice.recovered", "invoice.paid", "invoice.recovered",
        "subscription.updated",
    ]
    updated = Event.objects.filter(type="subscription.updated", id__gt=before).get()
    assert updated.data == {"status": "active", "previous_status": "past_due", "reason": "payment_succeeded"}
    assert updated.occurred_at == now()
    assert reload(sub).grace_until is None
    assert_no_violations()


@pytest.mark.parametrize("action, types", [
    ("cancel", ["invoice.marked_uncollectible", "subscription.updated", "subscription.canceled",
                "subscription.dunning_exhausted"]),
    ("unpaid", ["subscription.updated", "subscription.dunning_exhausted"]),
    ("pause", ["invoice.marked_uncollectible", "subscription.updated", "subscription.paused",
               "subscription.dunning_exhausted"]),
])
def test_a_final_action_records_the_invoice_part_then_the_subscription_part(action, types):
    start_clock(utc(2027, 1, 10, 9))
    with transaction.atomic():
        policy(retry_days="1", final_action=action)
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    card_fails(customer, utc(2027, 2, 1), "card_declined")
    advance(utc(2027, 2, 10, 12))  # the renewal fails; its one retry is on Feb 11
    assert reload(sub).status == "past_due"

    before = last_event_id()
    advance(utc(2027, 2, 12))
    assert _types(customer, before) == ["payment.failed", *types]
    exhausted = Event.objects.get(type="subscription.dunning_exhausted")
    renewal = invoices_of(sub)[1]
    assert exhausted.data == {
        "invoice": renewal.pk, "number": renewal.number, "amount_due": 4990, "currency": "BRL", "final_action": action,
        "subscription": sub.pk, "previous_status": "past_due", "status": reload(sub).status, "attempts": 2,
        "failed_since": "2027-02-10T09:00:00+00:00",
    }
    assert_no_violations()


def test_an_invoice_without_a_subscription_only_records_that_its_dunning_is_over():
    start_clock(utc(2027, 1, 10, 9))
    with transaction.atomic():
        policy(retry_days="1", final_action="cancel")
    customer = make_customer(card=FAILING_CARD)
    with transaction.atomic():
        [invoice] = issue_invoices([InvoiceDraft(
            customer_id=customer.pk, subscription_id=None, currency="BRL", billing_reason=Invoice.Reason.MANUAL, at=now(),
            lines=[DraftLine(kind=LineKind.SUBSCRIPTION, description="Setup", amount=1500)])])
        charges = start_attempts([invoice], {customer.pk: customer.default_payment_method}, now())
    collect(charges, now())
    assert reload(invoice).dunning_status == "retrying"

    before = last_event_id()
    advance(utc(2027, 1, 12))
    assert _types(customer, before) == ["payment.failed", "invoice.marked_uncollectible", "invoice.dunning_exhausted"]
    exhausted = Event.objects.get(type="invoice.dunning_exhausted")
    assert (exhausted.subject_type, exhausted.subject_id) == ("invoice", invoice.pk)
    assert exhausted.data == {
        "invoice": invoice.pk, "number": invoice.number, "amount_due": 1500, "currency": "BRL", "final_action": "cancel",
        "subscription": None, "previous_status": None, "status": None, "attempts": 2,
        "failed_since": "2027-01-10T09:00:00+00:00",
    }
    assert reload(invoice).status == "uncollectible"
