"""The receipt shows what the invoice PDF shows: the lines, the total, the credit balance applied
and the amount paid, and links to the invoice's PDF through a signed customer link."""

import re

import pytest
from email_support import links, parts, path_of, smtp_server, web_transactions
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.invoices.models import Invoice
from assina.notifications.jobs import run
from assina.subscriptions.services import pause, resume
from assina.time import now

pytestmark = web_transactions()


@pytest.fixture
def inbox(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_a_receipt_paid_partly_by_credit_shows_the_credit_the_amount_paid_and_links_the_pdf(inbox, client):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    customer = make_customer(email="lia@example.com", locale="pt-BR")
    sub = subscribe(customer, "pro")
    advance(utc(2027, 6, 9, 9))
    pause(sub.pk)  # the unused part of the paid period becomes credit
    resume(sub.pk)  # a new period, billed at once; the credit pays part of it
    run(now(), at_due_time=False)
    invoice = Invoice.objects.filter(subscription=sub, credit_applied__gt=0).get()
    assert 0 < invoice.amount_paid < invoice.total
    [receipt] = [m for m in inbox.to("lia@example.com") if m["Subject"] == f"Recibo da fatura {invoice.number}"]
    text, html = parts(receipt)
    credit = f"-R$ {invoice.credit_applied // 100},{invoice.credit_applied % 100:02d}"
    paid = f"R$ {invoice.amount_paid // 100},{invoice.amount_paid % 100:02d}"
    assert f"Recebemos seu pagamento de {paid}" in _flat(text)
    assert "Total R$ 34,90" in _flat(text)
    assert f"Crédito aplicado {credit}" in _flat(text) and f"Valor pago {paid}" in _flat(text)
    assert re.search(r"Crédito aplicado</td>\s*<td[^>]*>" + re.escape(credit), html)

    pdf_url = next(url for url in links(html) if "/c/invoice/" in url)
    assert f"Baixar a fatura (PDF): {pdf_url}" in text
    response = client.get(path_of(pdf_url))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content if response.streaming else [response.content]).startswith(b"%PDF")


def test_a_receipt_paid_in_full_by_credit_says_nothing_was_charged(inbox):
    start_clock(utc(2027, 5, 31, 9))
    make_plan("pro", 3490, name="Pro")
    make_plan("lite", 990, name="Lite")
    customer = make_customer(email="ugo@example.com", locale="en")
    sub = subscribe(customer, "pro")
    advance(utc(2027, 6, 1, 9))
    pause(sub.pk)  # almost the whole month becomes credit, more than Lite costs
    lite = subscribe(customer, "lite")
    run(now(), at_due_time=False)
    invoice = Invoice.objects.get(subscription=lite)
    assert (invoice.credit_applied, invoice.amount_paid) == (990, 0)
    [receipt] = [m for m in inbox.to("ugo@example.com") if m["Subject"] == f"Receipt for invoice {invoice.number}"]
    text = _flat(parts(receipt)[0])
    assert f"Your credit balance paid invoice {invoice.number} in full" in text and "nothing was charged" in text
    assert "Credit applied -R$9.90" in text and "Amount paid R$0.00" in text
