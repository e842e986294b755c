"""The billing run's fast paths keep the rules: the first attempt is counted on the invoice as
it is written, a charge key seen before is never charged again, declined renewals get the
same next action as the lifecycle rule gives, and a subscription ending at its period end has
its final usage invoice charged in the same run."""

from datetime import timedelta

from factories import (
    advance, assert_all_invoices_sum, invoices_of, make_customer, make_plan, real_transactions, reload, start_clock, subscribe,
    utc,
)
from payments_support import assert_no_violations, attempts_of, card_fails, card_token

from assina.clock.services import set_frozen_time
from assina.invoices.models import Invoice
from assina.payments.gateway import ChargeRequest
from assina.payments.models import PaymentAttempt, SandboxCharge
from assina.payments.sandbox import SandboxGateway
from assina.subscriptions.due_work import process_due_work
from assina.subscriptions.models import Subscription
from assina.subscriptions.store import next_action_at

pytestmark = real_transactions


def test_a_renewal_invoice_is_written_with_its_first_attempt_counted():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    paying, declining = make_customer(), make_customer()
    subs = [subscribe(paying, "pro"), subscribe(declining, "pro")]
    card_fails(declining, utc(2027, 2, 1), "insufficient_funds")
    process_due_work(utc(2027, 2, 10, 10))
    for sub, status in zip(subs, ("paid", "open")):
        renewal = invoices_of(sub)[-1]
        assert (renewal.period_start, renewal.status, renewal.attempt_count) == (utc(2027, 2, 10, 9), status, 1)
        assert [a[:2] for a in attempts_of(renewal)] == [(1, "succeeded" if status == "paid" else "failed")]
    # The declined one is retried as attempt 2, counted on the invoice.
    process_due_work(utc(2027, 2, 10, 10))
    from assina.payments.retries import run as run_retries

    run_retries(utc(2027, 2, 11, 10), at_due_time=True)
    renewal = reload(invoices_of(subs[1])[-1])
    assert renewal.attempt_count == 2 == len(attempts_of(renewal))
    assert_no_violations()


def test_a_renewal_paid_by_credit_balance_has_no_attempt_and_counts_none():
    from assina.customers.models import Customer

    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    Customer.objects.filter(pk=customer.pk).update(credit_balance=10000)
    process_due_work(utc(2027, 2, 10, 10))
    renewal = invoices_of(sub)[-1]
    assert (renewal.status, renewal.credit_applied, renewal.attempt_count, attempts_of(renewal)) == ("paid", 4990, 0, [])


def test_the_sandbox_returns_the_first_result_for_a_key_seen_before_in_a_batch_with_new_keys():
    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer()
    token = card_token(customer)
    gateway = SandboxGateway()
    at = utc(2027, 1, 10, 9)
    first = gateway.charge_many([ChargeRequest("k1", token, 100, "BRL", at)])[0]
    card_fails(customer, at, "insufficient_funds")
    later = at + timedelta(hours=1)
    results = gateway.charge_many([ChargeRequest("k0", token, 50, "BRL", later), ChargeRequest("k1", token, 999, "BRL", later),
                                   ChargeRequest("k2", token, 70, "BRL", later)])
    assert [(r.idempotency_key, r.succeeded) for r in results] == [("k0", False), ("k1", True), ("k2", False)]
    assert results[1] == first
    assert SandboxCharge.objects.count() == 3
    assert SandboxCharge.objects.get(idempotency_key="k1").amount == 100
    charge_ids = list(SandboxCharge.objects.values_list("charge_id", flat=True))
    assert len(set(charge_ids)) == 3 and all(len(c) == len("ch_sandbox_") + 24 for c in charge_ids)


def test_declined_renewals_get_the_next_action_the_lifecycle_rule_gives():
    from assina.subscriptions.changes import change_subscription

    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    make_plan("max", 9990)
    plain, changing = make_customer(), make_customer()
    subs = [subscribe(plain, "pro"), subscribe(changing, "pro")]
    for customer in (plain, changing):
        card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    process_due_work(utc(2027, 2, 10, 10))
    change_subscription(subs[1].pk, plan_code="max", at_period_end=True)
    # Declined again on the first retry: past_due stays, next action recomputed for both.
    from assina.payments.retries import run as run_retries

    run_retries(utc(2027, 2, 11, 10), at_due_time=True)
    for sub in subs:
        sub = reload(sub)
        assert sub.status == "past_due"
        assert sub.next_action_at == next_action_at(sub)
    assert reload(subs[0]).next_action_at == utc(2027, 3, 10, 9)


def test_the_final_usage_invoice_of_a_subscription_ending_at_period_end_is_charged_in_the_same_run():
    from assina.subscriptions.services import cancel_at_period_end
    from assina.usage.services import add_metered_price, create_metric
    from usage_support import send, usage

    start_clock(utc(2027, 1, 1))
    make_plan("api", 1000, name="API plan")
    create_metric(code="calls", name="API calls")
    add_metered_price(plan_code="api", metric_code="calls", unit_amount=5)
    customer = make_customer()
    sub = subscribe(customer, "api")
    advance(utc(2027, 1, 20))  # nothing is due yet
    cancel_at_period_end(sub.pk)
    send(usage("a", customer, "calls", 4, utc(2027, 1, 19)))
    set_frozen_time(utc(2027, 2, 1, 1))
    summary = process_due_work(utc(2027, 2, 1, 1))
    assert summary["canceled_at_period_end"] == 1
    assert reload(sub).status == "canceled"
    final = invoices_of(sub)[-1]
    assert (final.total, final.status) == (20, "paid")  # charged by this run, not left for the next one
    assert [a[:2] for a in attempts_of(final)] == [(1, "succeeded")]
    assert not PaymentAttempt.objects.filter(status="pending").exists()
    assert_all_invoices_sum()
    assert_no_violations()


def test_many_renewals_in_one_batch_are_all_billed_and_paid_once():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customers = [make_customer() for _ in range(30)]
    subs = [subscribe(c, "pro") for c in customers]
    for customer in customers[::5]:
        card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    summary = process_due_work(utc(2027, 2, 10, 10), batch_size=7)
    assert summary["renewals"] == 30
    renewals = Invoice.objects.filter(period_start=utc(2027, 2, 10, 9))
    assert renewals.count() == 30 and set(renewals.values_list("subscription_id", flat=True)) == {s.pk for s in subs}
    assert renewals.filter(status="paid").count() == 24 and renewals.filter(status="open").count() == 6
    assert not renewals.exclude(attempt_count=1).exists()
    assert PaymentAttempt.objects.filter(invoice__in=renewals).count() == SandboxCharge.objects.filter(
        idempotency_key__in=PaymentAttempt.objects.filter(invoice__in=renewals).values("idempotency_key")).count() == 30
    assert Subscription.objects.filter(status="past_due").count() == 6
    assert_no_violations()
