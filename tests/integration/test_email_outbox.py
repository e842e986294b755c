"""The outbox: producing is idempotent (also for events that commit out of id order), bad
recipients are reported, SMTP outages delay mail without losing it, 5xx refusals are marked,
and a crashed sender's claim is sent again with the same Message-ID."""

from datetime import timedelta

import pytest
from django.db import transaction
from email_support import free_port, parts, smtp_server
from factories import advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.customers.models import Customer
from assina.events.models import Event
from assina.notifications import sending
from assina.notifications.jobs import run
from assina.notifications.models import EventReceipt, Message
from assina.notifications.producing import produce_from_events
from assina.notifications.rendering import Source, TemplateError, validate
from assina.subscriptions.services import pause, resume

pytestmark = real_transactions

T0 = utc(2026, 11, 21, 9)


@pytest.fixture
def smtp(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def _customer(**kwargs):
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(**kwargs)
    return customer, subscribe(customer, "pro")


def test_producing_twice_writes_each_message_once():
    start_clock(T0)
    customer, _sub = _customer()
    first = produce_from_events(T0, at_due_time=True)
    again = produce_from_events(T0, at_due_time=True)
    assert first["emails_queued"] == 2  # welcome and receipt
    assert again["emails_queued"] == 0 and again["events_processed"] == 0
    assert sorted(Message.objects.values_list("template", flat=True)) == ["receipt", "welcome"]


def test_an_event_committed_after_a_higher_id_was_processed_is_not_skipped():
    """PostgreSQL can commit id 50 after id 100: a "last id seen" cursor would skip it."""
    start_clock(T0)
    customer, sub = _customer()
    produce_from_events(T0, at_due_time=True)
    top = Event.objects.order_by("-id").values_list("id", flat=True).first()
    with transaction.atomic():  # a later transaction commits first, with a higher id
        Event.objects.create(id=top + 100, type="subscription.paused", occurred_at=T0, customer_id=customer.pk,
                             subject_type="subscription", subject_id=sub.pk, data={"resumes_at": None})
    produce_from_events(T0, at_due_time=True)
    with transaction.atomic():  # ... and the transaction holding a lower id commits afterwards
        Event.objects.create(id=top + 50, type="subscription.resumed", occurred_at=T0, customer_id=customer.pk,
                             subject_type="subscription", subject_id=sub.pk, data={})
    produce_from_events(T0, at_due_time=True)
    assert set(Message.objects.values_list("template", flat=True)) >= {"paused", "resumed"}
    assert EventReceipt.objects.filter(event_id=top + 50).exists()


def test_a_customer_with_an_invalid_address_is_reported_not_crashed_on(smtp):
    start_clock(T0)
    customer, _sub = _customer()
    Customer.objects.filter(pk=customer.pk).update(email="not-an-address")
    good, _ = make_customer(email="good@example.com"), None
    subscribe(good, "pro")
    counts = run(T0, at_due_time=True)
    bad = Message.objects.filter(customer=customer)
    assert set(bad.values_list("status", flat=True)) == {"invalid"}
    assert "invalid email address" in bad.first().provider_response
    assert counts["emails_sent"] == 2 and len(smtp.to("good@example.com")) == 2


def test_an_smtp_server_that_is_down_delays_mail_and_never_loses_it(settings):
    start_clock(T0)
    port = free_port()
    settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"  # nobody listens there yet
    customer, sub = _customer(email="ana@example.com")
    counts = run(T0, at_due_time=True)
    assert counts["emails_deferred"] == 2 and not counts.get("emails_sent")
    queued = Message.objects.filter(status="queued")
    assert queued.count() == 2 and {m.attempts for m in queued} == {1}
    assert {m.next_attempt_at for m in queued} == {T0 + timedelta(seconds=60)}
    assert "ConnectionRefused" in queued.first().provider_response
    run(T0 + timedelta(seconds=30), at_due_time=True)  # not yet due again: nothing tried
    assert {m.attempts for m in Message.objects.all()} == {1}

    with smtp_server(port) as (box, _port):
        counts = run(T0 + timedelta(minutes=2), at_due_time=True)
    assert counts["emails_sent"] == 2
    assert sorted(m["Subject"].split()[0] for m in box.to("ana@example.com")) == ["Receipt", "Welcome"]
    assert set(Message.objects.values_list("status", "attempts")) == {("sent", 2)}


def test_a_permanent_refusal_is_marked_failed_and_shown_and_others_still_go(smtp):
    start_clock(T0)
    smtp.reject["gone@example.com"] = "550 5.1.1 mailbox unavailable"
    smtp.reject["busy@example.com"] = "451 4.3.0 try again later"
    make_plan("pro", 4990, name="Pro")
    for email in ("gone@example.com", "busy@example.com", "fine@example.com"):
        subscribe(make_customer(email=email), "pro")
    counts = run(T0, at_due_time=True)
    assert counts["emails_failed"] == 2 and counts["emails_deferred"] == 2 and counts["emails_sent"] == 2
    failed = Message.objects.filter(to_email="gone@example.com")
    assert set(failed.values_list("status", flat=True)) == {"failed"}
    assert failed.first().provider_response.startswith("550 5.1.1")
    busy = Message.objects.filter(to_email="busy@example.com")
    assert set(busy.values_list("status", flat=True)) == {"queued"} and busy.first().provider_response.startswith("451")
    # Failed messages are not retried; temporary ones are, after the backoff.
    smtp.reject.clear()
    run(T0 + timedelta(minutes=5), at_due_time=True)
    assert set(failed.values_list("status", flat=True)) == {"failed"}
    assert set(busy.values_list("status", flat=True)) == {"sent"}


def test_a_sender_that_crashed_after_claiming_sends_again_with_the_same_message_id(smtp, settings):
    start_clock(T0)
    _customer(email="ana@example.com")
    run(T0, at_due_time=True)  # produces and sends both
    assert len(smtp.messages) == 2
    # A new message; a worker claims it and dies before sending (or before marking it sent).
    customer = make_customer(email="bia@example.com")
    subscribe(customer, "pro")
    from assina.notifications.producing import produce_from_events as produce

    produce(T0, at_due_time=True)
    claimed = sending.claim(T0)
    assert {m.to_email for m in claimed} == {"bia@example.com"}
    ids = {m.pk: m.message_id for m in claimed}
    assert sending.send_due(T0, at_due_time=True) == {}  # still claimed by the dead worker
    Message.objects.filter(pk__in=ids).update(claimed_until=T0 - timedelta(days=1))  # its lease ran out
    counts = sending.send_due(T0, at_due_time=True)
    assert counts["emails_sent"] == 2
    received = smtp.to("bia@example.com")
    assert sorted(m["Message-ID"] for m in received) == sorted(ids.values())
    assert sending.send_due(T0 + timedelta(days=1), at_due_time=True) == {}  # nothing is sent twice
    assert len(smtp.to("bia@example.com")) == 2


def test_pause_and_resume_messages_say_when_in_the_customers_language(smtp):
    start_clock(T0)
    customer, sub = _customer(email="ana@example.com", locale="pt-BR")
    pause(sub.pk, resumes_at=utc(2026, 12, 21))
    advance(T0 + timedelta(days=2))
    resume(sub.pk)
    run(T0 + timedelta(days=2), at_due_time=True)
    paused = next(m for m in smtp.messages if m["Subject"].startswith("Sua assinatura Pro está pausada"))
    text, html = parts(paused)
    assert "21 de dezembro de 2026" in text and "21 de dezembro de 2026" in html
    assert any(m["Subject"].startswith("Sua assinatura Pro está ativa novamente") for m in smtp.messages)


@pytest.mark.parametrize(("html", "line", "why"), [
    ("<p>Hi</p>\n<p>{{ customer.nmae }}</p>", 2, "unknown variable 'customer.nmae'"),
    ("<p>Hi</p>\n\n<p>{% if invoice.total %}</p>", 3, "Unclosed tag"),
    ("<p>{{ coupon }}</p>", 1, "unknown variable 'coupon'"),
    ("{% for line in invoice.lines %}\n{{ line.amout }}{% endfor %}", 2, "unknown variable 'line.amout'"),
    ('{% include "x.html" %}', 1, "not allowed"),
])
def test_a_template_that_cannot_render_is_refused_with_its_line(html, line, why):
    with pytest.raises(TemplateError) as refused:
        validate("receipt", Source("Receipt {{ invoice.number }}", html, ""))
    assert refused.value.line == line and why in str(refused.value)


@pytest.mark.postgres_only
def test_two_workers_sending_at_once_deliver_each_message_exactly_once(smtp, monkeypatch):
    import threading

    from django.db import connection

    start_clock(T0)
    make_plan("pro", 4990, name="Pro")
    for _ in range(30):
        subscribe(make_customer(), "pro")
    produce_from_events(T0, at_due_time=True)
    monkeypatch.setattr(sending, "BATCH", 5)
    results = []

    def worker():
        try:
            results.append(sending.send_due(T0, at_due_time=True))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 60 and len(set(ids)) == 60
    assert sum(r.get("emails_sent", 0) for r in results) == 60
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
