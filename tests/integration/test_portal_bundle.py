"""A customer on a bundle sees it in the portal as their invoice shows it (issue 19): the home
lists the bundle's parts with what each is worth and the saving, "What your next invoice will
show" has the part lines the renewal's invoice then has, and the invoice's PDF lists them, in
English and Brazilian Portuguese."""

from __future__ import annotations

import re
import zlib

import pytest
from factories import advance, make_addon, make_customer, make_plan, start_clock, subscribe, utc
from portal_support import signed_in

from assina.catalog.services import create_bundle
from assina.invoices.models import Invoice
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)


def _pdf_texts(pdf: bytes) -> list[str]:
    """The strings the PDF writes in its (deflated) page streams (core fonts: Windows-1252)."""
    content = b"".join(zlib.decompress(stream) for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
                       if stream[:1] == b"x")
    return [re.sub(rb"\\(.)", rb"\1", m).decode("cp1252").replace("\xa0", " ") for m in re.findall(rb"\((.*?)\) Tj", content)]


def _text(html: bytes) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.decode())).replace("\xa0", " ")


def _preview(html: bytes) -> list[tuple[str, str]]:
    block = re.search(r'<details class="upcoming">(.*?)</details>', html.decode(), re.S).group(1)
    return [(d.replace("\xa0", " "), a.replace("\xa0", " "))
            for d, a in re.findall(r'<tr(?: class="part")?><td>([^<]*)</td><td class="amount">([^<]*)</td></tr>', block)]


@pytest.fixture
def duo():
    start_clock(utc(2027, 1, 10, 12))
    make_plan("pro", 4990, name="Pro")
    make_addon("storage", 1990, name="Storage")
    create_bundle(code="duo", name="Duo", parts=[("pro", 1), ("storage", 1)], price=5990, at=now())


WORDS = {
    "en": {"parts": ["Pro × 1 (worth R$49.90)", "Storage × 1 (worth R$19.90)"],
           "saving": "You save R$9.90 every month against buying them apart (R$69.80).",
           "preview": [("Duo", "R$59.90"), ("Included: Pro (worth R$49.90)", ""),
                       ("Included: Storage (worth R$19.90)", "")],
           "pdf": ["    Included: Pro (worth R$49.90)", "    Included: Storage (worth R$19.90)"]},
    "pt-BR": {"parts": ["Pro × 1 (vale R$ 49,90)", "Storage × 1 (vale R$ 19,90)"],
              "saving": "Você economiza R$ 9,90 a cada mês em relação a comprá-los separados (R$ 69,80).",
              "preview": [("Duo", "R$ 59,90"), ("Incluído: Pro (vale R$ 49,90)", ""), ("Incluído: Storage (vale R$ 19,90)", "")],
              "pdf": ["    Incluído: Pro (vale R$ 49,90)", "    Incluído: Storage (vale R$ 19,90)"]},
}


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_the_home_shows_the_bundles_parts_and_the_next_invoice_lists_them_as_issued(duo, locale):
    words = WORDS[locale]
    customer = make_customer(email=f"ana-{locale}@example.com", name="Ana", locale=locale)
    subscribe(customer, "duo")
    client = signed_in(customer)
    html = client.get("/portal/").content
    parts = re.search(r'<dd class="bundle-parts">(.*?)</dd>', html.decode(), re.S).group(1)
    assert [p.replace("\xa0", " ") for p in re.findall(r"<li>([^<]*)</li>", parts)] == words["parts"]
    assert words["saving"] in _text(html)
    preview = _preview(html)
    assert preview[:3] == words["preview"]

    # The renewal issues what the preview said, part lines included.
    advance(utc(2027, 2, 10, 13))
    renewal = Invoice.objects.filter(customer=customer).order_by("-pk").first()
    assert renewal.period_start == utc(2027, 2, 10, 12)
    issued = [line.description.replace("\xa0", " ") for line in renewal.lines.order_by("pk")]
    assert issued == [d for d, _a in preview if d not in ("To be charged", "A ser cobrado")]

    # The invoice the customer opens from the portal's list lists the parts too.
    pdf = client.get(f"/portal/invoices/{renewal.pk}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    texts = _pdf_texts(pdf.content)
    assert all(line in texts for line in words["pdf"]), texts


def test_a_plan_without_parts_shows_none(duo):
    customer = make_customer(email="bia@example.com", name="Bia", locale="en")
    subscribe(customer, "pro")
    html = signed_in(customer).get("/portal/").content.decode()
    assert '<dd class="bundle-parts">' not in html and "Included" not in html
