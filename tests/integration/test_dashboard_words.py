"""The dashboard speaks the owner's language (issue 15): months, numbers and CSVs as a Brazilian
spreadsheet reads them, plan names instead of codes, each KPI's definition with the period it
covers, recent events newest first, in words, linking to what they are about."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import translation
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import presentation, service
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.subscriptions import services as subs

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):
    # Months of history without moving the clock: starts further back than one period.
    settings.ASSINA_MAX_BACKDATE_DAYS = 3650
    service.forget()
    start_clock(utc(2027, 4, 10, 12))
    make_plan("basic", 3000, name="Básico")
    make_plan("pro", 10000, name="Profissional")
    first = subscribe(make_customer(name="Ana Souza"), "basic", start=utc(2027, 2, 3, 9))
    subscribe(make_customer(name="Bruno Lima"), "pro", start=utc(2027, 3, 5, 9))
    subs.cancel_now(first.pk, reason="too_expensive")
    yield
    service.forget()


def _in_portuguese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "pt-br"
    return client


def _csv(client, table: str, delimiter: str) -> list[list[str]]:
    response = client.get(f"/dashboard/export/{table}.csv")
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(response.content.decode()), delimiter=delimiter))


def test_portuguese_csv_uses_semicolons_and_decimal_commas(admin_client, shop):
    rows = _csv(_in_portuguese(admin_client), "months", ";")
    assert rows[0][:2] == ["Mês", "MRR no início"]
    amounts = [row[-2] for row in rows[1:]]  # ARPA, then the currency
    assert amounts and all(re.fullmatch(r"\d+,\d{2}", a) for a in amounts if a), amounts
    assert rows[-1][-1] == "BRL"


def test_english_csv_keeps_commas_and_decimal_points(admin_client, shop):
    rows = _csv(admin_client, "months", ",")
    assert rows[0][:2] == ["Month", "MRR at start"]
    assert all(re.fullmatch(r"\d+\.\d{2}", row[-2]) for row in rows[1:] if row[-2])


def test_cancellation_csv_shows_the_reason_label_and_keeps_the_code(admin_client, shop):
    rows = _csv(_in_portuguese(admin_client), "cancellations", ";")
    assert rows[0][-1] == "Código do motivo"
    assert rows[1][0] == "Caro demais" and rows[1][-1] == "too_expensive"


def test_plans_are_shown_by_name_in_the_table_the_chart_and_the_filter(admin_client, shop):
    response = admin_client.get("/dashboard/")
    plans = next(t for t in response.context["tables"] if t["key"] == "plans")
    assert plans["rows"][0][0] == "Profissional"
    assert response.context["charts"]["plans"]["labels"] == ["Profissional"]
    assert ("basic", "Básico") in response.context["options"]["plans"]
    assert '<option value="basic">Básico</option>' in response.content.decode()


def test_header_months_and_moment_are_written_in_the_readers_language(admin_client, shop):
    page = _in_portuguese(admin_client).get("/dashboard/").content.decode()
    assert "De mai. de 2026 a abr. de 2027, na posição de 10 de abr. de 2027" in page
    assert "T12:00:00Z" not in page and "2027-04" not in re.sub(r"<[^>]+>|\{.*", "", page.split('id="period"')[1][:200])


def test_every_kpi_has_a_definition_naming_its_period(shop):
    report = service.report()
    with translation.override("pt-br"):
        tiles = {tile[0]: tile for tile in presentation.kpis(report)}
    assert all(len(tile) == 4 and tile[3] for tile in tiles.values())
    assert "mai. de 2026" in tiles["net_revenue_retention"][3] and "abr. de 2027" in tiles["net_revenue_retention"][3]
    assert "10 de abr. de 2027" in tiles["mrr"][3]
    assert "seis meses" in tiles["ltv"][3]


def test_chart_locale_carries_month_names_and_separators():
    with translation.override("pt-br"):
        loc = presentation.chart_locale()
    assert loc["tag"] == "pt-BR" and loc["decimal"] == "," and loc["thousands"] == "."
    assert loc["months"][0] == "janeiro" and loc["shortMonths"][11] == "dez"
    assert loc["month_hover"] == "%B de %Y"
    with translation.override("en"):
        assert presentation.chart_locale()["month_hover"] == "%B %Y"


def test_recent_events_are_newest_first_in_words_with_links(admin_client, shop):
    invoice = Invoice.objects.exclude(number=None).order_by("-id").first()
    # A fact recorded late (a higher id) about an earlier moment goes below the newer ones.
    latest = Event.objects.order_by("-occurred_at").first().occurred_at
    Event.objects.create(type="invoice.paid", occurred_at=latest - timedelta(days=30), customer_id=invoice.customer_id,
                         subject_type="invoice", subject_id=invoice.pk, data={})
    response = _in_portuguese(admin_client).get("/dashboard/")
    table = next(t for t in response.context["tables"] if t["key"] == "events")
    assert table["head"] == ["Quando", "Evento", "Cliente", "Sobre"]
    shown = service.recent_events()
    times = [e["occurred_at"] for e in shown]
    assert times == sorted(times, reverse=True)
    labels = {row[1] for row in table["rows"]}
    assert labels & {"Fatura paga", "Fatura emitida", "Nova assinatura"} and not any("." in label for label in labels)
    paid = next(row for row in table["rows"] if row[1] == "Fatura paga" and str(row[3]) == invoice.number)
    assert paid[2].url == f"/admin/customers/customer/{invoice.customer_id}/change/"
    assert paid[3].url == f"/admin/invoices/invoice/{invoice.pk}/change/"
    page = response.content.decode()
    assert f'<a href="/admin/invoices/invoice/{invoice.pk}/change/">{invoice.number}</a>' in page


def test_every_declared_event_type_has_words():
    """A new event type gets its words here, or the dashboard would show its machine name."""
    import importlib
    from pathlib import Path

    from assina.analytics.event_words import LABELS

    src = Path(presentation.__file__).parents[1]
    declared = {t for path in src.glob("*/events.py") for t in importlib.import_module(f"assina.{path.parent.name}.events").EVENT_TYPES}
    assert sorted(declared - set(LABELS)) == []


def test_cohort_tables_say_why_month_zero_can_be_under_100_percent(admin_client, shop):
    response = _in_portuguese(admin_client).get("/dashboard/")
    notes = {t["key"]: str(t["note"]) for t in response.context["tables"]}
    assert notes["cohorts-customers"].startswith("O mês 0 é o mês do primeiro pagamento")
    assert notes["cohorts-revenue"] == notes["cohorts-customers"] and notes["months"] == ""
