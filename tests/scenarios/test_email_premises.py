"""A message made from an event tells a fact that can be undone before the mail goes out (a
cancellation reactivated, a pause resumed). Its premise is checked against the subscription
when the message is produced and again when it is sent: a message whose premise no longer
holds is recorded as skipped (with the reason) and not sent. A scheduled end is told in the
future tense, a past end in the past tense."""

import pytest
from email_support import links, parts, smtp_server
from factories import FAILING_CARD, GOOD_CARD, advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.notifications.jobs import run
from assina.notifications.models import Message
from assina.notifications.producing import produce_from_events
from assina.notifications.sending import send_due
from assina.payments.services import attach_card
from assina.subscriptions.services import cancel_at_period_end, cancel_now, pause, reactivate, resume
from assina.time import now

pytestmark = real_transactions


@pytest.fixture
def inbox(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def _subjects(inbox, address):
    return [m["Subject"] for m in inbox.to(address)]


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen-clock", "real-clock"])
def test_a_cancellation_undone_before_the_worker_ran_is_skipped_not_sent(inbox, frozen):
    """The issue's case: cancel at period end, reactivate, pause, resume, then one worker pass
    (``assina worker --once`` works at the events' time when the sandbox clock is frozen)."""
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(email="ines@example.com", locale="pt-BR")
    sub = subscribe(customer, "pro")
    run(now(), at_due_time=False)  # welcome and first receipt go out
    sent_before = len(inbox.messages)
    cancel_at_period_end(sub.pk)
    reactivate(sub.pk)
    pause(sub.pk)
    resume(sub.pk)
    run(now(), at_due_time=frozen)

    subjects = _subjects(inbox, "ines@example.com")[sent_before:]
    assert not [s for s in subjects if "cancelada" in s], subjects
    assert all("terminou" not in parts(m)[0] for m in inbox.messages)
    # Paused and resumed in the same breath: the subscription is as it was, nothing to tell
    # except the new period's receipt.
    assert not [s for s in subjects if "pausada" in s or "retomada" in s.lower()], subjects
    skipped = Message.objects.filter(status=Message.Status.SKIPPED).order_by("id")
    assert {m.template for m in skipped} == {"cancellation", "paused", "resumed"}
    assert all(m.provider_response for m in skipped)


def test_a_scheduled_cancellation_is_told_in_the_future_tense_with_the_reactivate_link(inbox):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    ana = make_customer(email="ana@example.com", locale="pt-BR")
    bob = make_customer(email="bob@example.com", locale="en")
    for customer in (ana, bob):
        cancel_at_period_end(subscribe(customer, "pro").pk)
    run(now(), at_due_time=False)
    [pt] = [m for m in inbox.to("ana@example.com") if "cancelada" in m["Subject"] or "cancelamento" in m["Subject"]]
    [en] = [m for m in inbox.to("bob@example.com") if "cancel" in m["Subject"].lower()]
    assert "termina em 30 de junho de 2027" in parts(pt)[0]
    assert "ends on June 30, 2027" in parts(en)[0]
    assert "terminou" not in parts(pt)[0] and "ended" not in parts(en)[0]
    assert any("/c/reactivate/" in url for url in links(parts(pt)[1]))


def test_a_cancellation_undone_after_it_was_produced_is_skipped_when_sending(inbox):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(email="caio@example.com", locale="pt-BR")
    sub = subscribe(customer, "pro")
    cancel_at_period_end(sub.pk)
    produce_from_events(now(), at_due_time=False)
    queued = Message.objects.get(template="cancellation")
    assert queued.status == Message.Status.QUEUED
    reactivate(sub.pk)
    send_due(now(), at_due_time=False)
    queued.refresh_from_db()
    assert queued.status == Message.Status.SKIPPED and queued.provider_response
    assert not [s for s in _subjects(inbox, "caio@example.com") if "cancel" in s.lower()]
    assert [s for s in _subjects(inbox, "caio@example.com") if s.startswith("Recibo")]  # the rest still goes


def test_a_scheduled_cancellation_whose_date_passed_before_it_was_sent_is_told_in_the_past_tense(inbox):
    """Mail was down until after the end: the message goes out as what it now is, an end."""
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(email="duda@example.com", locale="pt-BR")
    sub = subscribe(customer, "pro")
    cancel_at_period_end(sub.pk)
    produce_from_events(now(), at_due_time=False)
    assert "termina em 30 de junho de 2027" in Message.objects.get(template="cancellation").text
    send_due(utc(2027, 7, 2), at_due_time=False)
    [ended] = [m for m in inbox.to("duda@example.com") if "cancelada" in m["Subject"]]
    text = parts(ended)[0]
    assert "terminou em 30 de junho de 2027" in text and "termina em" not in text
    assert not any("/c/reactivate/" in url for url in links(parts(ended)[1]))
    assert "terminou em" in Message.objects.get(template="cancellation").text  # the outbox keeps what was sent


def test_a_scheduled_cancellation_cut_short_is_told_once_with_the_real_end(inbox):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(email="gil@example.com", locale="pt-BR")
    sub = subscribe(customer, "pro")
    cancel_at_period_end(sub.pk)
    produce_from_events(now(), at_due_time=False)
    cancel_now(sub.pk)  # ends before the message about the scheduled end went out
    run(now(), at_due_time=False)
    told = [m for m in inbox.to("gil@example.com") if "cancelada" in m["Subject"]]
    assert len(told) == 1
    text = parts(told[0])[0]
    assert "terminou em 31 de maio de 2027" in text and "30 de junho" not in text
    assert Message.objects.filter(template="cancellation", status=Message.Status.SKIPPED).count() == 1


def test_a_cancellation_that_stands_ends_with_one_message_under_the_clock(inbox):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(email="eli@example.com", locale="en")
    sub = subscribe(customer, "pro")
    advance(utc(2027, 6, 2))
    cancel_at_period_end(sub.pk)
    advance(utc(2027, 7, 5))
    told = [m for m in inbox.to("eli@example.com") if "cancel" in m["Subject"].lower()]
    assert len(told) == 1 and "ends on June 30, 2027" in parts(told[0])[0]


def test_a_failed_charge_paid_before_its_message_went_out_is_not_told(inbox):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(card=FAILING_CARD, email="rita@example.com", locale="pt-BR")
    subscribe(customer, "pro")  # the first charge fails
    produce_from_events(now(), at_due_time=False)
    failed = Message.objects.get(template="payment_failed")
    assert failed.status == Message.Status.QUEUED
    attach_card(customer, GOOD_CARD, now())  # a new card pays the open invoice
    run(now(), at_due_time=False)
    failed.refresh_from_db()
    assert failed.status == Message.Status.SKIPPED and failed.provider_response
    subjects = _subjects(inbox, "rita@example.com")
    assert not [s for s in subjects if s.startswith("Não conseguimos cobrar")], subjects
    assert [s for s in subjects if s.startswith("Recibo")], subjects
