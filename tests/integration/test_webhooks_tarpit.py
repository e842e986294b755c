"""A slow endpoint cannot stall billing (issue 14). A tarpit on 127.0.0.1 accepts the delivery
and then answers one byte at a time for a minute, far longer than these tests run. The worker's
pass still bills the renewal and sends its mail, the other endpoints still get their deliveries
while the tarpit holds its own, and the tarpit's delivery is retried later. No timing is
asserted: the tarpit records whether the sender hung up on it or it held the sender to the end."""

import pytest
from factories import make_customer, make_plan, real_transactions, start_clock, subscribe, utc
from webhooks_support import Receiver, Tarpit

from assina.clock.services import set_frozen_time
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.webhooks import delivery as sender
from assina.webhooks.fanout import fan_out
from assina.webhooks.models import WebhookAttempt, WebhookDelivery
from assina.webhooks.services import create_endpoint
from assina.worker import run_once

pytestmark = real_transactions


@pytest.fixture
def tarpit(settings):
    # Each attempt may take a second in all: the tarpit would hold it for a minute.
    settings.ASSINA_WEBHOOK_TIMEOUT = 1
    settings.ASSINA_WEBHOOK_PASS_SECONDS = 1
    pit = Tarpit(hold=60)
    yield pit
    pit.stop()


def test_a_worker_pass_bills_and_mails_while_a_tarpit_holds_its_delivery(tarpit):
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 1000)
    customer = make_customer(email="ana@example.com")
    subscription = subscribe(customer, "basic")
    run_once()  # the first invoice's mail goes out; nothing else is due
    endpoint = create_endpoint(url=tarpit.url, event_types=["invoice.*"])
    mail_before = Message.objects.filter(status=Message.Status.SENT).count()

    set_frozen_time(utc(2027, 2, 1, 1))  # the renewal is due
    run_once()

    renewal = Invoice.objects.filter(subscription=subscription).order_by("-id").first()
    assert Invoice.objects.filter(subscription=subscription).count() == 2 and renewal.status == "paid"
    assert Message.objects.filter(status=Message.Status.SENT).count() > mail_before  # the receipt went out
    assert tarpit.accepted == 1  # the tarpit was reached in this very pass
    first = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").first()
    assert first.status == "pending" and first.attempts == 1 and first.next_attempt_at is not None
    assert WebhookAttempt.objects.get(delivery=first).error == sender.NO_ANSWER
    # The worker hung up on the tarpit; the tarpit did not hold it to the end.
    assert tarpit.wait_for_endings(1) == ["client_gone"]


def test_other_endpoints_are_served_while_a_tarpit_holds_its_delivery(tarpit):
    receiver = Receiver()
    try:
        start_clock(utc(2027, 1, 1))
        slow = create_endpoint(url=tarpit.url, event_types=["customer.*"])  # first in line
        fast = create_endpoint(url=receiver.url, event_types=["customer.*"])
        receiver.secrets = [fast.secret]
        receiver.witness = tarpit.held_now  # is the tarpit holding the other delivery right now?
        make_customer()
        fan_out(utc(2027, 1, 1), at_due_time=True)
        counts = sender.send_due(utc(2027, 1, 1), at_due_time=True)
        assert counts["webhooks_delivered"] == 1 and counts["webhook_failures"] == 1
        assert len(receiver.received) == 1
        assert receiver.witnessed == [1]  # delivered while the tarpit was holding the other one
        assert WebhookDelivery.objects.get(endpoint=slow).status == "pending"
        assert tarpit.wait_for_endings(1) == ["client_gone"]
    finally:
        receiver.stop()
