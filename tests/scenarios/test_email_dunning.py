"""Dunning under the test clock: one "payment failed" message per attempt, each on its day with
the next retry date, then the receipt when the card recovers (a real SMTP server receives them)."""

from datetime import date

import pytest
from email_support import links, parts, sent_on, smtp_server
from factories import GOOD_CARD, advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc
from payments_support import card_fails, card_recovers

pytestmark = real_transactions


@pytest.fixture
def inbox(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def test_each_failed_attempt_sends_its_message_with_the_next_retry_and_the_card_link(inbox):
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990, name="Pro")
    customer = make_customer(card=GOOD_CARD, email="rui@example.com", locale="pt-BR")
    subscribe(customer, "pro")
    card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    card_recovers(customer, utc(2027, 2, 14))
    advance(utc(2027, 2, 20))

    failed = sorted((m for m in inbox.to("rui@example.com") if m["Subject"].startswith("Não conseguimos cobrar")), key=sent_on)
    assert [sent_on(m) for m in failed] == [date(2027, 2, 10), date(2027, 2, 11), date(2027, 2, 13)]
    texts = [parts(m)[0] for m in failed]
    for text, retry in zip(texts, ("11 de fevereiro de 2027", "13 de fevereiro de 2027", "15 de fevereiro de 2027")):
        assert f"Tentaremos novamente em {retry}" in text and "R$ 49,90" in text
    assert all(any("/c/card/" in url for url in links(parts(m)[1])) for m in failed)
    receipts = [m for m in inbox.to("rui@example.com") if m["Subject"].startswith("Recibo")]
    assert sorted(sent_on(m) for m in receipts) == [date(2027, 1, 10), date(2027, 2, 15)]
