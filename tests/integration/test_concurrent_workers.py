"""Several workers on PostgreSQL share the due work through row claims (SKIP LOCKED): every
renewal is billed and charged exactly once, and invoice numbers stay gapless."""

import threading

import pytest
from django.db import connection
from factories import make_customer, make_plan, real_transactions, start_clock, subscribe, utc

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
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker():
        try:
            start.wait()
            process_due_work(until, batch_size=15)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    renewals = Invoice.objects.filter(billing_reason="subscription_cycle")
    assert renewals.count() == len(subs)
    assert set(renewals.values_list("subscription_id", flat=True)) == {s.pk for s in subs}
    numbers = sorted(int(n.split("-")[1]) for n in Invoice.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 2 * len(subs) + 1))
    assert PaymentAttempt.objects.count() == SandboxCharge.objects.count() == 2 * len(subs)
    assert not Invoice.objects.exclude(status="paid").exists()
    assert not Subscription.objects.filter(next_action_at__lte=until).exists()
