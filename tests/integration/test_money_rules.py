"""Rules that protect money, checked on a real database: one invoice per subscription period
(enforced by the database itself), gapless numbers, invoices that add up, and a credit
ledger that always matches the customers' balances."""

from collections import defaultdict

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from factories import (
    FAILING_CARD,
    advance,
    assert_invoice_sums,
    counts,
    invoices_of,
    lines_of,
    make_addon,
    make_customer,
    make_plan,
    real_transactions,
    reload,
    start_clock,
    subscribe,
    utc,
)

from assina.catalog import services as catalog
from assina.time import now
from assina.core.invoicing import DraftLine, LineKind
from assina.customers.models import BalanceTransaction, Customer
from assina.invoices.models import CreditNote, Invoice, NumberSequence
from assina.invoices.services import InvoiceDraft, InvoiceError, create_credit_note, issue_invoices
from assina.payments.models import PaymentAttempt
from assina.payments.services import attach_card
from assina.subscriptions import services
from assina.subscriptions.changes import change_subscription

START = utc(2027, 1, 31, 10)


def _draft_like(invoice: Invoice) -> InvoiceDraft:
    return InvoiceDraft(
        customer_id=invoice.customer_id, subscription_id=invoice.subscription_id, currency=invoice.currency,
        billing_reason=Invoice.Reason.SUBSCRIPTION_CYCLE, at=invoice.created_at,
        lines=[DraftLine(kind=LineKind.SUBSCRIPTION, description="again", amount=invoice.total)],
        period_start=invoice.period_start, period_end=invoice.period_end,
    )


@real_transactions
def test_the_database_refuses_a_second_invoice_for_the_same_subscription_period_and_no_number_is_lost():
    start_clock(START)
    make_plan("basic", 4990)
    sub = subscribe(make_customer(), "basic")
    [first] = invoices_of(sub)
    before = counts()

    with pytest.raises(IntegrityError):
        with transaction.atomic():
            issue_invoices([_draft_like(first)])
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Invoice.objects.create(customer_id=first.customer_id, subscription=sub, status="draft",
                                   billing_reason="manual", currency="BRL", period_start=first.period_start,
                                   created_at=now())

    assert counts() == before
    assert NumberSequence.objects.get(key="invoice-2027").next_value == 2
    advance(utc(2027, 2, 28, 10))
    assert [i.number for i in invoices_of(sub)] == ["2027-000001", "2027-000002"]


@real_transactions
def test_a_failed_subscribe_gives_its_invoice_number_back(monkeypatch):
    start_clock(START)
    make_plan("basic", 4990)
    subscribe(make_customer(), "basic")

    def explode(*args, **kwargs):
        raise RuntimeError("gateway adapter crashed while writing the attempt")

    monkeypatch.setattr("assina.subscriptions.lifecycle.start_attempts", explode)
    with pytest.raises(RuntimeError):
        subscribe(make_customer(), "basic")
    monkeypatch.undo()

    later = subscribe(make_customer(), "basic")
    assert sorted(Invoice.objects.values_list("number", flat=True)) == ["2027-000001", "2027-000002"]
    assert invoices_of(later)[0].number == "2027-000002"


@pytest.mark.django_db
def test_invoice_changes_without_a_period_may_be_many_but_each_period_is_billed_once():
    start_clock(START)
    make_plan("basic", 4990)
    make_plan("pro", 14990)
    make_plan("max", 29990)
    sub = subscribe(make_customer(), "basic")
    advance(utc(2027, 2, 5))
    change_subscription(sub.pk, plan_code="pro", invoice_now=True)
    advance(utc(2027, 2, 10))
    change_subscription(sub.pk, plan_code="max", invoice_now=True)
    advance(utc(2027, 5, 1))
    invoices = invoices_of(sub)
    assert [i.period_start for i in invoices if i.period_start is None] == [None, None]
    starts = [i.period_start for i in invoices if i.period_start is not None]
    assert len(starts) == len(set(starts)) == 4


@pytest.mark.django_db
def test_a_discount_bigger_than_the_price_makes_a_free_invoice_not_a_negative_one():
    start_clock(START)
    make_plan("basic", 4990)
    catalog.create_coupon(code="big", duration="once", amount_off=10000, currency="BRL", at=now())
    sub = subscribe(make_customer(card=None), "basic", coupon_code="big")
    [invoice] = invoices_of(sub)
    assert lines_of(invoice) == [("subscription", 4990), ("discount", -4990)]
    assert (invoice.total, invoice.amount_due, invoice.status) == (0, 0, "paid")
    assert not PaymentAttempt.objects.exists()
    assert reload(sub).status == "active"


@pytest.mark.django_db
def test_a_credit_note_cannot_exceed_what_is_left_to_credit():
    start_clock(START)
    make_plan("basic", 4990)
    customer = make_customer()
    sub = subscribe(customer, "basic")
    invoice = invoices_of(sub)[0]
    create_credit_note(invoice.pk, 4000, "goodwill", now())
    before = counts()
    with pytest.raises(InvoiceError, match=r"the credit \(991\) exceeds what is left to credit on invoice 2027-000001 \(990\)"):
        create_credit_note(invoice.pk, 991, "too much", now())
    with pytest.raises(InvoiceError, match="a credit note amount must be a positive amount"):
        create_credit_note(invoice.pk, 0, "nothing", now())
    assert counts() == before
    assert reload(customer).credit_balance == 4000


@real_transactions
def test_voiding_an_expired_incomplete_invoice_gives_the_credit_it_used_back():
    start_clock(START)
    make_plan("pro", 14990)
    make_plan("basic", 4990)
    customer = make_customer()
    first = subscribe(customer, "pro")
    advance(utc(2027, 2, 14, 10))  # half of the 28-day period left
    change_subscription(first.pk, plan_code="basic", invoice_now=True)
    credit = reload(customer).credit_balance
    assert credit == 14990 // 2 - 4990 // 2  # -7495 + 2495
    services.cancel_now(first.pk)
    attach_card(customer, FAILING_CARD, now())

    second = subscribe(customer, "pro")
    assert second.status == "incomplete"
    [invoice] = invoices_of(second)
    assert (invoice.credit_applied, invoice.amount_due) == (credit, 14990 - credit)
    assert reload(customer).credit_balance == 0

    advance(utc(2027, 2, 15, 9))
    assert reload(second).status == "canceled"
    assert reload(invoice).status == "void"
    assert reload(customer).credit_balance == credit
    assert BalanceTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] == credit


@real_transactions
def test_every_invoice_of_a_busy_year_adds_up_and_the_books_balance():
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 4990)
    make_plan("pro", 14990, trial_days=14)
    make_plan("seats", 1990, pricing_model="per_unit")
    make_plan("tiered", 0, pricing_model="graduated",
              tiers=[{"up_to": 3, "unit_amount": 1000}, {"up_to": None, "unit_amount": 700, "flat_amount": 150}])
    make_addon("storage", 999, pricing_model="per_unit")
    catalog.create_coupon(code="third", duration="repeating", duration_periods=3, percent_off="33.33", at=now())
    catalog.create_coupon(code="ten", duration="forever", amount_off=1000, currency="BRL", plans=["seats"], at=now())

    subs = [
        subscribe(make_customer(), "basic", coupon_code="third", addons=[("storage", 3)]),
        subscribe(make_customer(), "pro"),
        subscribe(make_customer(card=None), "pro"),
        subscribe(make_customer(), "seats", quantity=7, coupon_code="ten"),
        subscribe(make_customer(), "tiered", quantity=5),
        subscribe(make_customer(card=FAILING_CARD), "basic"),
        subscribe(make_customer(), "seats", quantity=2),
    ]
    advance(utc(2027, 2, 17, 13, 7, 9))
    change_subscription(subs[0].pk, plan_code="seats", quantity=4, invoice_now=True)
    change_subscription(subs[3].pk, quantity=3)
    services.pause(subs[4].pk, resumes_at=utc(2027, 4, 2, 8))
    catalog.change_plan_price("basic", amount=5490, at=now())
    advance(utc(2027, 5, 9, 22, 30))
    change_subscription(subs[1].pk, plan_code="basic", invoice_now=True)
    services.cancel_at_period_end(subs[6].pk)
    attach_card(Customer.objects.get(pk=subs[5].customer_id), "4242424242424242", now())
    subscribe(Customer.objects.get(pk=subs[5].customer_id), "tiered", quantity=9, coupon_code="third")
    advance(utc(2028, 1, 15))

    invoices = list(Invoice.objects.all())
    assert len(invoices) > 60
    for invoice in invoices:
        assert_invoice_sums(invoice)
        paid_by_card = PaymentAttempt.objects.filter(invoice=invoice, status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
        assert invoice.amount_paid == paid_by_card, invoice
        if invoice.status == "paid" and not CreditNote.objects.filter(invoice=invoice).exists():
            assert invoice.amount_paid == invoice.amount_due, invoice
    # One invoice per subscription period.
    periods = [(i.subscription_id, i.period_start) for i in invoices if i.period_start is not None]
    assert len(periods) == len(set(periods))
    # Gapless numbers in each year.
    by_year = defaultdict(list)
    for number in Invoice.objects.values_list("number", flat=True):
        year, sequence = number.split("-")
        by_year[year].append(int(sequence))
    assert {y: sorted(n) for y, n in by_year.items()} == {y: list(range(1, len(n) + 1)) for y, n in by_year.items()}
    # The balance on each customer is the sum of its ledger.
    for customer in Customer.objects.all():
        ledger = BalanceTransaction.objects.filter(customer=customer).aggregate(s=Sum("amount"))["s"] or 0
        assert customer.credit_balance == ledger >= 0, customer
