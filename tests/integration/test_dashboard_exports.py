"""The dashboard's CSV exports write no cell a spreadsheet would run as a formula (issue 14)."""

from __future__ import annotations

import csv
import io

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import presentation
from assina.subscriptions import services as subs

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x")', "@SUM(A1)"]


def _export(client, table: str) -> list[list[str]]:
    response = client.get(f"/dashboard/export/{table}.csv")
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def shop(settings):
    settings.ASSINA_MAX_BACKDATE_DAYS = 400  # imports months of history: a start may otherwise lie one period back (issue 14)
    start_clock(utc(2027, 4, 10, 12))
    make_plan("basic", 3000)
    for reason in HOSTILE:
        sub = subscribe(make_customer(name=reason), "basic", start=utc(2027, 2, 3, 9))
        subs.cancel_now(sub.pk, reason=reason)


def test_cancellation_reasons_are_neutralised(admin_client, shop):
    cells = {row[0] for row in _export(admin_client, "cancellations")[1:]}
    assert {"'" + reason for reason in HOSTILE} <= cells
    assert not cells & set(HOSTILE)


@pytest.mark.parametrize("table", sorted(presentation.TABLES))
def test_every_export_neutralises_text_and_keeps_numbers(admin_client, shop, monkeypatch, table):
    """Each table's text cells (names, codes) go through the rule; amounts such as "-30.00" stay numbers."""
    real = presentation.TABLES[table]

    def hostile(report, events, as_csv):
        head, rows = real(report, events, as_csv)
        return head, [*rows, [*HOSTILE, "-30.00", -7]]

    monkeypatch.setitem(presentation.TABLES, table, hostile)
    last = _export(admin_client, table)[-1]
    assert last == ["'" + HOSTILE[0], "'" + HOSTILE[1], "-30.00", "-7"]
