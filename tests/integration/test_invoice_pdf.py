"""GET /api/v1/invoices/{id}/pdf and the admin's link: the invoice as a PDF in the customer's
language and currency (number, dates, customer, lines with periods, discounts, totals)."""

from __future__ import annotations

import re

import pytest
from api_support import ApiClient, new_key, problem
from django.urls import reverse
from factories import FAILING_CARD, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import create_coupon
from assina.time import now
from assina.invoices.models import Invoice
from assina.invoices.pdf import render_invoice_pdf

pytestmark = pytest.mark.django_db


def _texts(pdf: bytes) -> list[str]:
    """The strings the (uncompressed) PDF writes, decoded from the core fonts' Windows-1252
    (Babel writes a no-break space between the currency sign and the amount)."""
    return [re.sub(rb"\\(.)", rb"\1", m).decode("cp1252").replace("\xa0", " ") for m in re.findall(rb"\((.*?)\) Tj", pdf)]


@pytest.fixture
def invoice_pt():
    start_clock(utc(2027, 1, 31, 10))
    make_plan("basico", 2990, name="Básico")
    create_coupon(code="bem-vindo", duration="forever", percent_off="20", at=now())
    customer = make_customer(name="João Conceição", locale="pt-BR", tax_id="123.456.789-09", country="br",
                             time_zone="America/Sao_Paulo")
    sub = subscribe(customer, "basico", coupon_code="bem-vindo")
    return Invoice.objects.get(subscription=sub)


def test_pt_br_invoice_in_portuguese_with_real_amounts_and_periods(invoice_pt):
    pdf = render_invoice_pdf(invoice_pt, compress=False)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    texts = _texts(pdf)
    joined = "\n".join(texts)
    assert f"Fatura {invoice_pt.number}" in texts and invoice_pt.number in texts
    assert "João Conceição" in texts and "Identificação fiscal (CPF/CNPJ): 123.456.789-09" in texts
    assert "Situação: Paga" in texts and "Descrição" in texts and "Valor" in texts
    # Lines as issued, in Portuguese, with the period in the customer's time zone (07:00 in São Paulo).
    assert "Básico" in texts and "R$ 29,90" in texts and "-R$ 5,98" in texts
    assert any(t.startswith("Desconto do cupom bem-vindo") for t in texts), joined
    assert "31 de jan. de 2027 – 28 de fev. de 2027" in texts
    assert texts[texts.index("Subtotal") + 1] == "R$ 29,90"
    assert texts[texts.index("Desconto") + 1] == "-R$ 5,98"
    assert texts[texts.index("Total") + 1] == "R$ 23,92"
    assert texts[texts.index("Valor pago") + 1] == "R$ 23,92"
    assert "ç".encode("cp1252") in pdf and "ã".encode("cp1252") in pdf and "é".encode("cp1252") in pdf
    assert render_invoice_pdf(invoice_pt, compress=False) == pdf  # the same invoice, the same bytes


def test_english_invoice_and_an_open_one_says_what_is_due():
    start_clock(utc(2027, 1, 31, 10))
    make_plan("pro", 123456)
    sub = subscribe(make_customer(name="Ann Lee", card=FAILING_CARD), "pro")
    invoice = Invoice.objects.get(subscription=sub)
    texts = _texts(render_invoice_pdf(invoice, compress=False))
    assert f"Invoice {invoice.number}" in texts and "Status: Open" in texts
    assert "R$1,234.56" in texts and "Jan 31, 2027 – Feb 28, 2027" in texts
    assert texts[texts.index("Amount due") + 1] == "R$1,234.56"
    assert "Amount paid" not in texts


def test_api_serves_the_pdf(invoice_pt):
    api = ApiClient(new_key("read"))
    response = api.get(f"/invoices/in_{invoice_pt.pk}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="invoice-{invoice_pt.number}.pdf"'
    assert response.content.startswith(b"%PDF-") and b"/FlateDecode" in response.content  # compressed for download
    problem(api.get("/invoices/in_999999/pdf"), 404, "resource_missing")
    problem(ApiClient("sk_sandbox_wrong").get(f"/invoices/in_{invoice_pt.pk}/pdf"), 401, "invalid_api_key")
    spec = api.get("/openapi.json").json()["paths"]["/api/v1/invoices/{invoice_id}/pdf"]["get"]
    assert "application/pdf" in spec["responses"]["200"]["content"]


def test_the_admin_invoice_page_links_to_its_pdf(invoice_pt, admin_client):
    page = admin_client.get(reverse("admin:invoices_invoice_change", args=[invoice_pt.pk])).content.decode()
    url = reverse("admin:invoices_invoice_pdf", args=[invoice_pt.pk])
    assert url in page and f"invoice-{invoice_pt.number}.pdf" in page
    response = admin_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert admin_client.get(reverse("admin:invoices_invoice_pdf", args=[999999])).status_code == 404


def test_the_admin_pdf_needs_a_staff_login(invoice_pt, client):
    response = client.get(reverse("admin:invoices_invoice_pdf", args=[invoice_pt.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_characters_the_core_font_lacks_do_not_fail_the_download():
    start_clock(utc(2027, 1, 31, 10))
    make_plan("rocket", 1000, name="Pro 🚀 “plus” – 東京")
    sub = subscribe(make_customer(name="Zoë"), "rocket")
    texts = _texts(render_invoice_pdf(Invoice.objects.get(subscription=sub), compress=False))
    assert "Pro ? “plus” – ??" in texts and "Zoë" in texts
