"""Webhooks: every event becomes a signed delivery per matching endpoint, sent in order by the
worker, retried with backoff while the receiver is down, never sent twice once delivered."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from factories import advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc
from standardwebhooks.webhooks import Webhook
from webhooks_support import Receiver

from assina.events.models import Event
from assina.events.services import record
from assina.webhooks import delivery as sender
from assina.webhooks.fanout import fan_out
from assina.webhooks.models import WebhookAttempt, WebhookDelivery
from assina.webhooks.services import create_endpoint, redeliver, rotate_secret, update_endpoint

pytestmark = real_transactions


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def _endpoint(receiver, **kwargs):
    endpoint = create_endpoint(url=receiver.url, **kwargs)
    receiver.secrets = [endpoint.secret]
    return endpoint


def test_every_event_is_delivered_once_in_order_after_the_receiver_recovers(receiver):
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver, event_types=["invoice.*", "subscription.*"])
    make_plan("basic", 1000)
    customer = make_customer()
    receiver.mode = "503"
    sub = subscribe(customer, "basic")  # subscription.created, invoice.created, invoice.paid...
    advance(utc(2027, 1, 1, 0, 40))  # attempts at 0 s, 5 s, 5 min, 35 min: all 503
    first = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").first()
    assert first.attempts == 4 and first.status == "pending"
    assert first.next_attempt_at == utc(2027, 1, 1) + timedelta(seconds=5 + 300 + 1800 + 7200)
    assert receiver.received == [] and receiver.hits == 4  # the others wait behind the first (order)

    receiver.stop()  # now not even listening: connection refused
    advance(utc(2027, 1, 1, 3))
    assert WebhookAttempt.objects.filter(delivery=first, response_status=None).exclude(error="").count() == 1

    receiver.start()
    receiver.mode = "up"
    advance(utc(2027, 2, 1, 1))  # the renewal adds more events; everything goes out
    expected = list(Event.objects.filter(type__regex=r"^(invoice|subscription)\.").order_by("id").values_list("id", flat=True))
    assert len(expected) >= 5
    assert receiver.ids() == [f"evt_{i}" for i in expected]  # each once, in event order
    assert receiver.rejected == []
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id"))
    assert [d.status for d in deliveries] == ["succeeded"] * len(expected)
    assert [d.delivered_sequence for d in deliveries] == list(range(1, len(expected) + 1))
    assert receiver.received[0]["body"]["type"] == "subscription.created"
    assert receiver.received[0]["body"]["data"]["object_id"] == f"sub_{sub.pk}"  # the API's id
    # Nothing more to send: moving on sends nothing again.
    advance(utc(2027, 2, 1, 2))
    assert len(receiver.received) == len(expected)


def test_retries_keep_the_webhook_id_and_a_redelivery_sends_it_again(receiver):
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver, event_types=["customer.created"])
    receiver.mode = "503"
    make_customer()
    advance(utc(2027, 1, 1, 0, 1))
    receiver.mode = "up"
    advance(utc(2027, 1, 1, 1))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__type="customer.created")
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert receiver.ids() == [delivery.webhook_id]
    redeliver(endpoint.pk, delivery.pk)
    advance(utc(2027, 1, 1, 1, 1))
    assert receiver.ids()[-1] == delivery.webhook_id
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("id").values_list("response_status", flat=True))
    assert attempts == [503, 503, 200, 200]  # at 0 s and 5 s down; at 5 min up; then the redelivery


def test_a_rotated_secret_signs_with_both_secrets_for_24_hours(receiver):
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver, event_types=["customer.created"])
    old = endpoint.secret
    new = rotate_secret(endpoint.pk).secret
    assert new != old and new.startswith("whsec_")
    receiver.secrets = [old]  # a receiver that has not switched yet
    make_customer()
    advance(utc(2027, 1, 1, 0, 1))
    assert len(receiver.received) == 1
    headers = receiver.received[0]["headers"]
    assert len(headers["webhook-signature"].split(" ")) == 2
    body = str(receiver.received[0]["body"]).encode()  # noqa: F841 - the receiver verified the raw body
    Webhook(new)  # the new secret is a valid Standard Webhooks secret
    advance(utc(2027, 1, 2, 0, 1))
    receiver.secrets = [old]
    make_customer()
    advance(utc(2027, 1, 2, 0, 2))
    assert receiver.rejected  # 24 h later only the new secret signs
    receiver.secrets = [new]
    advance(utc(2027, 1, 2, 1))
    assert len(receiver.received) == 2


def test_an_endpoint_failing_for_five_days_is_disabled_and_the_owner_told(receiver):
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver)
    receiver.stop()
    for day in range(0, 7):
        make_customer()
        advance(utc(2027, 1, 1 + day, 23))
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_at is not None
    assert endpoint.disabled_at - endpoint.failing_since >= timedelta(days=5)
    disabled = Event.objects.get(type="webhook_endpoint.disabled")
    assert disabled.subject_id == endpoint.pk
    first = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id").first()
    assert first.status == "failed" and first.attempts == sender.MAX_ATTEMPTS
    # Re-enabled and back up: what was waiting goes out.
    receiver.start()
    update_endpoint(endpoint.pk, enabled=True)
    advance(utc(2027, 1, 8, 1))
    assert len(receiver.received) >= 5


def test_an_event_committed_after_a_later_one_is_still_fanned_out(receiver):
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver, event_types=["test.*"])
    at = utc(2027, 1, 1)
    gap = (Event.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 100
    with transaction.atomic():
        Event.objects.create(id=gap, type="test.high", occurred_at=at, subject_type="webhookendpoint", subject_id=endpoint.pk)
    fan_out(at, at_due_time=True)
    # An event with a lower id shows up only now (its transaction committed late).
    with transaction.atomic():
        Event.objects.create(id=gap - 50, type="test.low", occurred_at=at, subject_type="webhookendpoint", subject_id=endpoint.pk)
    fan_out(at, at_due_time=True)
    assert sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True)) == [gap - 50, gap]


@pytest.mark.postgres_only
def test_a_lower_event_id_committing_late_on_postgresql_is_not_skipped(receiver):
    """Two real transactions: the one holding the lower id commits after the higher one was fanned out."""
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver, event_types=["test.*"])
    at = utc(2027, 1, 1)
    inserted, release = threading.Event(), threading.Event()
    low_id = []

    def slow_writer():
        try:
            with transaction.atomic():
                low_id.append(record("test.slow", endpoint, at).pk)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    with transaction.atomic():
        high = record("test.fast", endpoint, at)
    assert high.pk > low_id[0]
    fan_out(at, at_due_time=True)
    assert list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True)) == [high.pk]
    release.set()
    thread.join(10)
    fan_out(at, at_due_time=True)
    assert sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event_id", flat=True)) == [low_id[0], high.pk]


def test_two_senders_never_send_the_same_delivery(receiver):
    start_clock(utc(2027, 1, 1))
    endpoint = _endpoint(receiver, event_types=["customer.created"])
    make_customer()
    fan_out(utc(2027, 1, 1), at_due_time=True)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__type="customer.created")
    assert sender.claim(delivery.pk) is True
    assert sender.claim(delivery.pk) is False  # a second worker loses
    assert sender.send_due(utc(2027, 1, 1), at_due_time=True)["webhook_attempts"] == 0


@pytest.mark.postgres_only
def test_two_workers_sending_at_once_send_each_delivery_once_and_in_order(receiver):
    start_clock(utc(2027, 1, 1))
    _endpoint(receiver, event_types=["test.*"])
    second = Receiver()
    try:
        other = create_endpoint(url=second.url, event_types=["test.*"])
        second.secrets = [other.secret]
        at = utc(2027, 1, 1)
        with transaction.atomic():
            for i in range(30):
                record(f"test.n{i}", other, at)
        fan_out(at, at_due_time=False)
        errors = []

        def worker():
            try:
                sender.send_due(at, at_due_time=False)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        sender.send_due(at, at_due_time=False)  # whatever a loser of a race left for later
        assert errors == []
        for r in (receiver, second):
            assert len(r.ids()) == 30 and len(set(r.ids())) == 30  # each once
            assert r.ids() == sorted(r.ids(), key=lambda i: int(i.removeprefix("evt_")))  # in event order
    finally:
        second.stop()
