"""The welcome promises a reply only when replies can arrive: ``ASSINA_EMAIL_REPLY_TO`` (default:
none, and then no message says "reply to this e-mail"); when set, every message carries it as
its Reply-To header."""

import pytest
from email_support import parts, smtp_server
from factories import make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.notifications.jobs import run

pytestmark = real_transactions


@pytest.fixture
def inbox(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def _welcome_everyone():
    start_clock(utc(2027, 4, 1, 9))
    make_plan("pro", 4990, name="Pro")
    for email, locale in (("en@example.com", "en"), ("pt@example.com", "pt-BR")):
        subscribe(make_customer(email=email, locale=locale), "pro")
    run(utc(2027, 4, 1, 9), at_due_time=True)


def test_without_a_reply_address_no_message_invites_a_reply(inbox, settings):
    settings.ASSINA_EMAIL_REPLY_TO = ""
    _welcome_everyone()
    assert len(inbox.messages) == 4  # a welcome and a receipt each
    for message in inbox.messages:
        text, html = parts(message)
        for words in ("reply", "Reply", "responder", "responda"):
            assert words not in text and words not in html, (message["Subject"], words)
        assert message["Reply-To"] is None


def test_with_a_reply_address_the_welcome_invites_a_reply_and_replies_go_there(inbox, settings):
    settings.ASSINA_EMAIL_REPLY_TO = "Café Aroma <ajuda@cafearoma.com.br>"
    _welcome_everyone()
    [en] = [m for m in inbox.to("en@example.com") if m["Subject"].startswith("Welcome")]
    [pt] = [m for m in inbox.to("pt@example.com") if m["Subject"].startswith("Boas-vindas")]
    assert "Reply to this email if you need anything." in parts(en)[0]
    assert "é só responder a este e-mail" in parts(pt)[0]
    for message in inbox.messages:
        assert message["Reply-To"].addresses[0].addr_spec == "ajuda@cafearoma.com.br"
        assert message["Reply-To"].addresses[0].display_name == "Café Aroma"
