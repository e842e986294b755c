"""The job runner skips jobs whose cheap check says they have nothing to do, and every check
says yes whenever its job has work (a wrong "no" would delay money or mail)."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina import jobs, scheduler
from assina.notifications import reminders, smtp
from assina.notifications.context import interval_word
from assina.notifications.jobs import message_due, run as run_mail
from assina.notifications.models import Message
from assina.notifications.producing import has_unprocessed
from assina.subscriptions.due_times import has_work as billing_has_work
from assina.subscriptions.jobs import expiring_cards_have_work
from assina.webhooks.delivery import has_work as webhooks_have_work

pytestmark = pytest.mark.django_db

T0 = utc(2027, 3, 10, 12)


def test_a_job_whose_check_says_no_is_not_run_and_one_that_says_yes_is(monkeypatch):
    ran = []
    monkeypatch.setattr(jobs, "_JOBS", {})
    jobs.register_job("idle", lambda until, *, at_due_time: ran.append("idle") or {}, has_work=lambda until: False)
    jobs.register_job("busy", lambda until, *, at_due_time: ran.append("busy") or {"done": 1}, has_work=lambda until: True)
    jobs.register_job("unchecked", lambda until, *, at_due_time: ran.append("unchecked") or {})
    assert scheduler.run_jobs(T0, at_due_time=True) == {"done": 1}
    assert sorted(ran) == ["busy", "unchecked"]


def test_billing_has_work_exactly_when_a_subscription_is_due():
    start_clock(T0)
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro")
    assert not billing_has_work(T0)
    assert not billing_has_work(sub.current_period_end - timedelta(seconds=1))
    assert billing_has_work(sub.current_period_end)
    advance(sub.current_period_end)
    assert not billing_has_work(sub.current_period_end)


def test_mail_checks_follow_events_and_queued_messages(settings):
    settings.ASSINA_SMTP_URL = "file:" + str(settings.BASE_DIR / "never-written")
    start_clock(T0)
    make_plan("pro", 4990)
    subscribe(make_customer(), "pro")
    assert has_unprocessed(T0)  # welcome and receipt wait for their events to be read
    assert not message_due(T0)
    from assina.notifications.jobs import produce_events

    produce_events(T0, at_due_time=True)
    assert not has_unprocessed(T0)
    assert message_due(T0) and not message_due(T0 - timedelta(days=1))


def test_reminders_are_looked_for_on_a_new_day_or_after_a_change_to_a_subscription():
    start_clock(T0)
    make_plan("pro", 4990)
    customer = make_customer()
    reminders.produce_reminders(T0, at_due_time=True)
    assert not reminders.has_work(T0 + timedelta(hours=1))  # same day, nothing changed
    assert reminders.has_work(reminders.day_end(T0))  # a new day begins
    subscribe(customer, "pro", trial_days=2)  # a 2-day trial: its 3-day reminder is due at once
    assert reminders.has_work(T0 + timedelta(hours=1))
    counts = reminders.produce_reminders(T0 + timedelta(hours=1), at_due_time=True)
    assert counts["emails_queued"] == 1
    assert Message.objects.filter(template="trial_ending").count() == 1
    assert not reminders.has_work(T0 + timedelta(hours=2))


def test_an_expiring_card_is_seen_by_its_check_when_its_notice_begins():
    start_clock(T0)
    make_plan("pro", 4990)
    customer = make_customer()
    subscribe(customer, "pro")
    method = customer.default_payment_method
    method.exp_month, method.exp_year = 5, 2027
    method.save(update_fields=["exp_month", "exp_year"])
    notice = utc(2027, 5, 31, 23, 59, 59) - timedelta(days=30)
    assert not expiring_cards_have_work(notice - timedelta(seconds=1))
    assert expiring_cards_have_work(notice)


def test_webhooks_check_is_false_without_endpoints_or_deliveries():
    start_clock(T0)
    make_plan("pro", 4990)
    subscribe(make_customer(), "pro")
    assert not webhooks_have_work(T0)


def test_the_file_transport_writes_one_eml_per_message_even_when_sent_twice(tmp_path, settings):
    settings.ASSINA_SMTP_URL = f"file:{tmp_path / 'mail'}"
    start_clock(T0)
    make_plan("pro", 4990)
    subscribe(make_customer(locale="pt-BR"), "pro")
    counts = run_mail(T0, at_due_time=True)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert counts["emails_sent"] == 2 and len(files) == 2
    subjects = {message_from_bytes(f.read_bytes())["Subject"] for f in files}
    assert any("Recibo" in str(s) or "=?utf-8?" in str(s) for s in subjects)
    transport = smtp.open_transport()
    message = message_from_bytes(files[0].read_bytes())
    transport.send(message, "a@example.com", "b@example.com")
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 2


def test_a_file_transport_without_a_directory_is_refused_clearly():
    with pytest.raises(smtp.ServerUnavailable, match="needs a directory"):
        smtp.open_transport("file:")


def test_interval_words_are_in_the_customers_language_whatever_the_callers():
    from django.utils import translation

    with translation.override("en"):
        assert interval_word("month", 1, "pt-BR") == "mês"
        assert interval_word("month", 3, "pt-BR") == "3 meses"
    with translation.override("pt-br"):
        assert interval_word("year", 1, "en") == "year"


def test_an_advance_without_followers_leaves_mail_for_the_next_dated_when_it_fell_due(settings, tmp_path):
    from assina.scheduler import advance_clock

    settings.ASSINA_SMTP_URL = f"file:{tmp_path / 'mail'}"
    start_clock(T0)
    make_plan("pro", 4990)
    subscribe(make_customer(), "pro")
    advance_clock(T0 + timedelta(hours=2), followers=False)
    assert not Message.objects.exists()  # the welcome and receipt wait for a follower pass
    advance_clock(T0 + timedelta(hours=5))
    sent = Message.objects.filter(status=Message.Status.SENT)
    assert sorted(sent.values_list("template", flat=True)) == ["receipt", "welcome"]
    assert set(sent.values_list("sent_at", flat=True)) == {T0}  # dated when they fell due


def test_the_next_reminder_is_found_with_the_time_it_may_wait_until():
    start_clock(T0)
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro", trial_days=14)
    reminders.produce_reminders(T0, at_due_time=True)
    due = reminders.next_due()
    # The onboarding step of day 3 comes first only once the welcome exists; here the trial's
    # 3-day reminder and the monthly usage report compete: the earliest wins.
    trial_reminder = reminders.day_start(sub.trial_end - timedelta(days=3))
    assert due.at == min(trial_reminder, utc(2027, 4, 1))
    assert due.latest == min(due.at + timedelta(days=1), sub.trial_end)


def test_a_days_first_reminders_pass_runs_only_the_finders_with_something_due():
    start_clock(T0)
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro")  # monthly, renews on 2027-04-10 12:00
    reminders.produce_reminders(T0, at_due_time=True)
    renewal_day = reminders.day_start(sub.current_period_end - timedelta(days=3))
    # Days before the 3-day renewal reminder: nothing due (the welcome's onboarding steps aside).
    quiet = reminders._due_by(T0, renewal_day - timedelta(hours=1))
    assert reminders.renewal_upcoming not in quiet and reminders.trial_ending not in quiet
    due = reminders._due_by(T0, renewal_day)
    assert due[reminders.renewal_upcoming] == {("month", 3)}
    assert reminders.trial_ending not in due and reminders.winback not in due
    counts = reminders.produce_reminders(renewal_day, at_due_time=True)
    assert counts["emails_queued"] == 1
    assert Message.objects.filter(template="renewal_upcoming").count() == 1
