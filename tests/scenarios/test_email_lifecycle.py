"""The rest of the lifecycle under the test clock: card expiring, win-back after churn (a
marketing message with the configured offer), and the price change notice."""

from datetime import date

import pytest
from django.db import transaction
from email_support import links, parts, sent_on, smtp_server
from factories import advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.catalog.models import Plan
from assina.events.services import record
from assina.notifications.jobs import run
from assina.payments.services import attach_card
from assina.subscriptions.services import cancel_now

pytestmark = real_transactions


@pytest.fixture
def inbox(settings):
    settings.ASSINA_EMAIL_WINBACK_OFFER = "VOLTA20"
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def test_an_expiring_card_gets_a_notice_with_the_update_link(inbox):
    start_clock(utc(2027, 5, 3, 9))
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(email="eva@example.com")
    subscribe(customer, "pro")
    attach_card(customer, "4242424242424242", utc(2027, 5, 3, 9), exp_month=6, exp_year=2027)
    advance(utc(2027, 6, 5))
    notice = [m for m in inbox.to("eva@example.com") if m["Subject"] == "Your card ending in 4242 expires soon"]
    assert len(notice) == 1 and sent_on(notice[0]) == date(2027, 5, 31)  # 30 days before it expires
    text, html = parts(notice[0])
    assert "06/2027" in text and any("/c/card/" in url for url in links(html))


def test_win_back_after_churn_offers_the_code_and_can_be_unsubscribed(inbox):
    start_clock(utc(2027, 5, 3, 9))
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(email="leo@example.com", locale="pt-BR")
    sub = subscribe(customer, "pro")
    advance(utc(2027, 5, 10, 9))
    cancel_now(sub.pk)
    advance(utc(2027, 6, 15))
    winback = [m for m in inbox.to("leo@example.com") if m["Subject"].startswith("Sentimos sua falta")]
    assert len(winback) == 1 and sent_on(winback[0]) == date(2027, 6, 9)  # 30 days after May 10
    assert "VOLTA20" in parts(winback[0])[0]
    assert winback[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ended = [m for m in inbox.to("leo@example.com") if m["Subject"].startswith("Sua assinatura Pro foi cancelada")]
    assert len(ended) == 1 and "terminou em 10 de maio de 2027" in parts(ended[0])[0]


def test_a_price_change_for_existing_subscribers_is_announced_with_old_and_new_price_and_date(inbox):
    """The core grandfathers today; a price change that applies to existing subscribers at a date
    (an event carrying ``applies_to_existing`` and ``effective_at``) is announced to each."""
    start_clock(utc(2027, 5, 3, 9))
    make_plan("pro", 4990, name="Pro")
    subscribe(make_customer(email="ana@example.com", locale="pt-BR"), "pro")
    subscribe(make_customer(email="bob@example.com", locale="en"), "pro")
    run(utc(2027, 5, 3, 9), at_due_time=True)
    with transaction.atomic():
        record("plan.price_changed", Plan.objects.get(code="pro"), utc(2027, 5, 3, 9), {
            "code": "pro", "version": 2, "previous_amount": 4990, "amount": 5990,
            "applies_to_existing": True, "effective_at": "2027-06-10T00:00:00+00:00"})
    run(utc(2027, 5, 3, 9), at_due_time=True)
    ana = [m for m in inbox.to("ana@example.com") if m["Subject"].startswith("O preço do Pro muda")]
    bob = [m for m in inbox.to("bob@example.com") if m["Subject"].startswith("The price of Pro changes")]
    assert len(ana) == len(bob) == 1
    text = parts(ana[0])[0]
    assert "de R$ 49,90 para R$ 59,90" in text and "10 de junho de 2027" in text
    assert "from R$49.90 to R$59.90" in parts(bob[0])[0]
