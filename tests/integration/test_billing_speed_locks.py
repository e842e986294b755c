"""Lock order between the billing run and the payment jobs on PostgreSQL: four workers running
every job over renewals and retries never deadlock (each transaction takes customers first,
in id order, or leaves them to FOREIGN KEY checks that do not wait on the billing run)."""

import threading

import pytest
from django.db import connection
from factories import make_customer, make_plan, real_transactions, run_together, start_clock, subscribe, utc

pytestmark = [real_transactions, pytest.mark.postgres_only]


def test_four_workers_running_every_job_never_deadlock():
    from assina.clock.services import set_frozen_time
    from assina.scheduler import advance_clock
    from assina.scheduler import run_jobs
    from assina.checks import run_checks
    from payments_support import card_fails

    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customers = [make_customer() for _ in range(80)]
    for customer in customers:
        subscribe(customer, "pro")
        if customer.pk % 2:
            subscribe(customer, "pro")  # customers with two subscriptions share their customer lock
    for customer in customers[::4]:
        card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    advance_clock(utc(2027, 2, 10, 9, 30))
    until = utc(2027, 3, 10, 9)
    set_frozen_time(until)
    errors = run_together(lambda: run_jobs(until, at_due_time=True))

    assert [str(e) for e in errors] == []
    result = run_checks()
    assert result["ok"], result["details"]


def _in_thread(target) -> tuple[threading.Thread, list]:
    errors: list[BaseException] = []

    def run():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_transaction_holding_a_customer_can_take_its_subscription_while_a_batch_waits():
    """A retry paid by credit holds the customer, then reactivates (locks) the subscription. A
    billing batch due at that moment waits for the customer *before* claiming the
    subscription, so the retry gets it: no circle of waits."""
    import time

    from django.db import transaction

    from assina.customers.models import Customer
    from assina.subscriptions.due_work import process_due_work
    from assina.subscriptions.models import Subscription

    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer()
    sub = subscribe(customer, "pro")
    until = utc(2027, 2, 10, 10)
    holding, got_subscription = threading.Event(), []

    def credit_spender():
        with transaction.atomic():
            Customer.objects.select_for_update().get(pk=customer.pk)
            holding.set()
            time.sleep(1.5)  # the batch is waiting by now
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '10s'")
            got_subscription.append(Subscription.objects.select_for_update().get(pk=sub.pk).pk)

    def batch():
        holding.wait()
        process_due_work(until)

    spender, spender_errors = _in_thread(credit_spender)
    billing, billing_errors = _in_thread(batch)
    spender.join()
    billing.join()
    assert (spender_errors, billing_errors, got_subscription) == ([], [], [sub.pk])
    from assina.invoices.models import Invoice

    assert Invoice.objects.filter(subscription=sub, period_start=utc(2027, 2, 10, 9), status="paid").count() == 1


def test_the_batch_customer_lock_does_not_hold_up_foreign_key_checks_of_other_transactions():
    """Rows pointing at a customer (an email, a ledger line, an invoice) are checked at commit
    with FOR KEY SHARE on the customer: the billing batch's lock must not make them wait."""
    from django.db import transaction

    from assina.customers.models import BalanceTransaction, Customer
    from assina.subscriptions.due_work import _lock_customers

    start_clock(utc(2027, 1, 10, 9))
    customer = make_customer()
    locked, done = threading.Event(), threading.Event()

    def batch():
        with transaction.atomic():
            _lock_customers(Customer.objects.filter(pk=customer.pk))
            locked.set()
            done.wait(20)

    billing, billing_errors = _in_thread(batch)
    locked.wait(10)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            BalanceTransaction.objects.create(customer_id=customer.pk, kind=BalanceTransaction.Kind.ADJUSTMENT, amount=0,
                                              currency="BRL", description="fk check", created_at=utc(2027, 1, 10, 9))
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the check a commit makes, now
    finally:
        done.set()
        billing.join()
    assert billing_errors == []
    assert BalanceTransaction.objects.filter(description="fk check").count() == 1
