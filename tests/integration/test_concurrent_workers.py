"""Several workers on PostgreSQL share the due work through row claims (SKIP LOCKED): every
renewal is billed and charged exactly once, and invoice numbers stay gapless."""

import pytest
from factories import make_customer, make_plan, real_transactions, run_together, start_clock, subscribe, utc

from assina.invoices.models import Invoice
from assina.payments.models import PaymentAttempt, SandboxCharge
from assina.subscriptions.due_work import process_due_work
from assina.subscriptions.models import Subscription

pytestmark = [real_transactions, pytest.mark.postgres_only]


def test_four_workers_renew_every_subscription_exactly_once():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    subs = [subscribe(make_customer(), "pro") for _ in range(120)]
    until = utc(2027, 2, 10, 9)
    Subscription.objects.update(next_action_at=until)  # all due at the same moment
    from assina.clock.services import set_frozen_time

    set_frozen_time(until)
    errors = run_together(lambda: process_due_work(until, batch_size=15))

    assert errors == []
    renewals = Invoice.objects.filter(billing_reason="subscription_cycle")
    assert renewals.count() == len(subs)
    assert set(renewals.values_list("subscription_id", flat=True)) == {s.pk for s in subs}
    numbers = sorted(int(n.split("-")[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 2 * len(subs) + 1))
    assert PaymentAttempt.objects.count() == SandboxCharge.objects.count() == 2 * len(subs)
    assert not Invoice.objects.exclude(status="paid").exists()
    assert not Subscription.objects.filter(next_action_at__lte=until).exists()


def test_four_workers_share_renewals_and_payment_retries_without_doubling_any():
    """The same due set holds renewals and retries of failed payments: four workers running
    every job (billing, then retries) claim rows with SKIP LOCKED; each renewal is billed once
    and each retry attempted once."""
    from assina.scheduler import run_jobs
    from assina.checks import run_checks
    from payments_support import card_fails

    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customers = [make_customer() for _ in range(80)]
    for customer in customers:
        subscribe(customer, "pro")
    failing = customers[::4]
    for customer in failing:
        card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    from assina.scheduler import advance_clock

    advance_clock(utc(2027, 2, 10, 9, 30))  # renewals: 20 failed, retries due Feb 11 09:00
    assert Invoice.objects.filter(status="open", next_payment_attempt=utc(2027, 2, 11, 9)).count() == len(failing)
    until = utc(2027, 3, 10, 9)  # the retries of Feb 11-24, the final actions and the Mar 10 renewals are due
    from assina.clock.services import set_frozen_time

    set_frozen_time(until)
    deadlocks: list[str] = []

    def worker():
        from django.db import OperationalError

        for _ in range(5):
            try:
                run_jobs(until, at_due_time=True)
                break
            except OperationalError as exc:
                # PostgreSQL aborts one of two deadlocked transactions (nothing of it is kept);
                # `assina worker` runs again at its next poll, as here. Anything else fails.
                if "deadlock detected" not in str(exc):
                    raise
                deadlocks.append(str(exc))

    errors = run_together(worker)

    assert errors == []
    renewals = Invoice.objects.filter(period_start=utc(2027, 2, 10, 9))
    for day in (11, 13, 15, 17, 20, 24):  # each failed invoice retried exactly once on each day
        assert PaymentAttempt.objects.filter(invoice__in=renewals, created_at=utc(2027, 2, day, 9)).count() == len(failing)
    assert PaymentAttempt.objects.count() == SandboxCharge.objects.count()
    march = Invoice.objects.filter(period_start=utc(2027, 3, 10, 9))
    assert march.count() == len(set(march.values_list("subscription_id", flat=True))) >= len(customers) - len(failing)
    result = run_checks()
    assert result["ok"], result["details"]
