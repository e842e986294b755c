"""Under the test clock, a simulated month produces each customer's messages on the right day,
in their language, received by a real SMTP server (aiosmtpd) and parsed with ``email``."""

from collections import Counter
from datetime import date

import pytest
from email_support import links, parts, path_of, sent_on, smtp_server, web_transactions
from factories import FAILING_CARD, GOOD_CARD, advance, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina.notifications.models import Message
from assina.subscriptions.services import cancel_at_period_end

pytestmark = web_transactions()


@pytest.fixture
def inbox(settings):
    settings.ASSINA_BUSINESS_NAME = "Loja da Ana"
    settings.ASSINA_BRAND_COLOR = "#aa3366"
    settings.ASSINA_BUSINESS_LOGO_URL = "https://shop.example/logo.png"
    settings.ASSINA_BASE_URL = "https://shop.example"
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def only(box, address: str, subject_start: str):
    found = [m for m in box.to(address) if m["Subject"].startswith(subject_start)]
    assert len(found) == 1, [m["Subject"] for m in box.to(address)]
    return found[0]


def test_a_simulated_month_sends_each_message_on_its_day_in_the_customers_language(inbox, client):
    start_clock(utc(2025, 12, 20, 10))
    make_plan("anual", 49900, interval="year", name="Anual")
    make_plan("pro", 4990, name="Pro")
    make_plan("pro-trial", 4990, name="Pro", trial_days=14)
    carla = make_customer(email="carla@example.com", name="Carla Lima", locale="pt-BR")
    subscribe(carla, "anual")

    advance(utc(2026, 11, 2, 10))
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="pt-BR")
    subscribe(ana, "pro-trial")
    bob = make_customer(email="bob@example.com", name="Bob Smith", locale="en", card=FAILING_CARD)
    bob_sub = subscribe(bob, "pro")
    dan = make_customer(email="dan@example.com", name="Dan Brown", locale="en")
    dan_sub = subscribe(dan, "pro")

    # Bob's first payment fails: the message links to a signed page that updates the card (an
    # incomplete subscription expires after 23 hours).
    advance(utc(2026, 11, 2, 18))
    failed = only(inbox, "bob@example.com", "We could not charge your card")
    assert sent_on(failed) == date(2026, 11, 2)
    text, html = parts(failed)
    assert "R$49.90" in text and "R$49.90" in html
    card_url = next(url for url in links(html) if "/c/card/" in url)
    assert card_url.startswith("https://shop.example/c/card/") and card_url in text
    page = client.get(path_of(card_url))
    assert page.status_code == 200 and b"Card number" in page.content
    assert client.get(path_of(card_url).replace("/c/card/", "/c/card/x")).status_code == 404  # a forged token
    response = client.post(path_of(card_url), {"number": GOOD_CARD, "exp_month": "12", "exp_year": "2030"})
    assert response.status_code == 200, response.content
    assert reload(bob_sub).status == "active"

    # Dan cancels: the confirmation says when access ends and offers a one-click reactivation.
    advance(utc(2026, 11, 10, 9))
    cancel_at_period_end(dan_sub.pk)
    advance(utc(2026, 11, 11, 9))
    confirmation = only(inbox, "dan@example.com", "Your Pro subscription is canceled")
    assert sent_on(confirmation) == date(2026, 11, 10)
    text, html = parts(confirmation)
    assert "December 2, 2026" in text and "December 2, 2026" in html
    reactivate_url = next(url for url in links(html) if "/c/reactivate/" in url)
    assert client.get(path_of(reactivate_url)).status_code == 200
    assert reload(dan_sub).cancel_at_period_end is True  # a GET (a link scanner) changes nothing
    assert client.post(path_of(reactivate_url)).status_code == 200
    assert reload(dan_sub).cancel_at_period_end is False

    advance(utc(2026, 12, 15, 10))

    # Ana (pt-BR, 14-day trial): welcome, onboarding on days 3 and 7, trial ending 3 days before,
    # the receipt when the trial converts, the renewal reminder 3 days before the next period.
    welcome = only(inbox, "ana@example.com", "Boas-vindas à Loja da Ana")
    assert sent_on(welcome) == date(2026, 11, 2)
    assert sent_on(only(inbox, "ana@example.com", "Aproveite ao máximo")) == date(2026, 11, 5)
    assert sent_on(only(inbox, "ana@example.com", "Precisa de ajuda")) == date(2026, 11, 9)
    trial = only(inbox, "ana@example.com", "Seu período de teste termina em 16 de novembro de 2026")
    assert sent_on(trial) == date(2026, 11, 13)
    text, html = parts(trial)
    assert "R$ 49,90" in text and "R$ 49,90" in html
    receipt = only(inbox, "ana@example.com", "Recibo da fatura")
    assert sent_on(receipt) == date(2026, 11, 16)
    text, html = parts(receipt)
    assert "Recebemos seu pagamento de R$ 49,90 em 16 de novembro de 2026" in text
    assert "16 de dezembro de 2026" in html
    renewal = only(inbox, "ana@example.com", "Sua assinatura Pro será renovada em 16 de dezembro de 2026")
    assert sent_on(renewal) == date(2026, 12, 13)

    # Carla (annual, pt-BR): reminders 30 and 7 days before the renewal on December 20.
    renewals = sorted((m for m in inbox.to("carla@example.com") if "será renovada" in m["Subject"]), key=sent_on)
    assert [sent_on(m) for m in renewals] == [date(2026, 11, 20), date(2026, 12, 13)]
    assert "R$ 499,00" in parts(renewals[0])[0] and "em 30 dias" in parts(renewals[0])[0]

    # Bob: his card update paid the open invoice and he got a receipt the same day.
    assert sent_on(only(inbox, "bob@example.com", "Receipt for invoice 2026-000001")) == date(2026, 11, 2)
    # Dan reactivated: he is reminded of the renewal he kept.
    assert sent_on(only(inbox, "dan@example.com", "Your Pro subscription renews on December 2, 2026")) == date(2026, 11, 29)

    # Branding, headers and both parts on every message; each sent message arrived exactly once.
    by_id = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(by_id.values()) == {1}
    sent = Message.objects.filter(status="sent")
    assert {m.message_id for m in sent} == set(by_id)
    for message in inbox.messages:
        text, html = parts(message)
        assert message["From"].addresses[0].display_name == "Loja da Ana"
        assert "#aa3366" in html and "https://shop.example/logo.png" in html
        assert "Loja da Ana" in text
        assert message["Auto-Submitted"] == "auto-generated" and message["List-Unsubscribe"] is None
    assert not Message.objects.exclude(status="sent").exists()
