"""History import (issue 20): customers, subscriptions and engagement events from CSV files.
Round trips on both engines: what the files say is what the tables hold, a second import changes
nothing, bad rows are reported by line and nothing is written, imported subscriptions are never
billed (clock advanced past their renewals, ``assina check``) and count in the dashboard's MRR at
the amount paid, not the plan's current price."""

from __future__ import annotations

import json
import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import service
from assina.catalog.models import IMPORTED_VERSIONS_FROM, Plan
from assina.checks import run_checks
from assina.customers.models import Customer
from assina.engagement.models import EngagementEvent
from assina.events.models import Event
from assina.imports.models import ImportRun
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.payments.models import PaymentAttempt
from assina.subscriptions.models import Subscription, SubscriptionItem

pytestmark = pytest.mark.django_db

CUSTOMERS = """email,name,created_at,country,locale,currency,external_id
ana@example.com,Ana Souza,2025-01-10,BR,pt-BR,BRL,cus_A1
Bob@Example.com,Bob Lee,2025-02-01T09:30:00Z,US,en,BRL,cus_B2
carla@example.com,"Carla, Dias",1738368000,,,,
"""
SUBSCRIPTIONS = """customer_email,plan_code,amount,currency,interval,started_at,ended_at,quantity,cancel_reason
ana@example.com,pro,79.90,BRL,month,2025-01-10,,1,
bob@example.com,pro,99.00,BRL,month,2025-02-01 09:30:00,2025-06-01,1,too_expensive
carla@example.com,seats,15.00,BRL,month,2025-02-15,,4,
"""
EVENTS = """customer_email,name,occurred_at,value
ana@example.com,login,2026-11-01T10:00:00Z,
ana@example.com,login,2026-11-01T10:00:00Z,
ana@example.com,report_exported,2026-11-03T08:00:00Z,3
bob@example.com,login,2025-05-20,
"""


def _cli(tmp_path, capsys, kind: str, text: str) -> tuple[int, dict]:
    from assina.cli import main

    path = tmp_path / f"{kind}.csv"
    path.write_text(text, encoding="utf-8")
    code = main(["import", kind, str(path), "--json"])
    captured = capsys.readouterr()
    return code or 0, json.loads(captured.out or captured.err)


def _state() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values())
            for model in (Customer, Subscription, SubscriptionItem, EngagementEvent, Event, ImportRun)}


@pytest.fixture
def shop(settings):
    service.forget()
    start_clock(utc(2026, 12, 1, 12))
    make_plan("pro", 9900)  # today's price; Ana pays 79.90 from an older price
    make_plan("seats", 1500, pricing_model="per_unit")
    yield
    service.forget()


def test_a_round_trip_imports_the_files_and_again_changes_nothing(tmp_path, capsys, shop):
    assert _cli(tmp_path, capsys, "customers", CUSTOMERS) == (0, {"kind": "customers", "rows": 3, "created": 3,
                                                                    "unchanged": 0, "updated": 0})
    assert _cli(tmp_path, capsys, "subscriptions", SUBSCRIPTIONS)[1]["created"] == 3
    assert _cli(tmp_path, capsys, "events", EVENTS)[1] == {"kind": "events", "rows": 4, "created": 4, "unchanged": 0,
                                                           "updated": 0}
    before = _state()
    for kind, text in (("customers", CUSTOMERS), ("subscriptions", SUBSCRIPTIONS), ("events", EVENTS)):
        code, body = _cli(tmp_path, capsys, kind, text)
        assert code == 0 and body["created"] == body["updated"] == 0 and body["unchanged"] == body["rows"]
    assert _state() == before

    bob = Customer.objects.get(email="Bob@Example.com")
    assert (bob.name, bob.country, bob.locale, bob.external_id, bob.created_at) == ("Bob Lee", "US", "en", "cus_B2",
                                                                                    utc(2025, 2, 1, 9, 30))
    carla = Customer.objects.get(email="carla@example.com")
    assert (carla.name, carla.created_at, carla.currency, carla.imported_at) == ("Carla, Dias", utc(2025, 2, 1), "BRL",
                                                                                  utc(2026, 12, 1, 12))
    ana_sub = Subscription.objects.get(customer__email="ana@example.com")
    assert (ana_sub.status, ana_sub.next_action_at, ana_sub.started_at) == ("active", None, utc(2025, 1, 10))
    assert (ana_sub.current_period_start, ana_sub.current_period_end) == (utc(2026, 11, 10), utc(2026, 12, 10))
    item = ana_sub.items.get()
    # 79.90 is no version of "pro": an imported version holds it, never the plan's current one.
    assert item.plan_version.unit_amount == 7990 and item.plan_version.version == IMPORTED_VERSIONS_FROM
    assert Plan.objects.get(code="pro").current_version().unit_amount == 9900
    bob_sub = Subscription.objects.get(customer=bob)
    assert (bob_sub.status, bob_sub.ended_at, bob_sub.cancel_reason, bob_sub.next_action_at) == (
        "canceled", utc(2025, 6, 1), "too_expensive", None)
    assert bob_sub.items.get().plan_version.version == 1  # 99.00 is the plan's own price
    seats = Subscription.objects.get(customer=carla).items.get()
    assert (seats.quantity, seats.plan_version.version) == (4, 1)  # 4 x 15.00 is what version 1 charges
    assert EngagementEvent.objects.filter(imported=True, name="login").count() == 3  # two identical rows: both kept
    assert list(ImportRun.objects.order_by("pk").values_list("kind", "created")) == [
        ("customers", 3), ("subscriptions", 3), ("events", 4)]


def test_imported_subscriptions_are_never_billed_but_count_in_the_dashboard(tmp_path, capsys, shop):
    live = subscribe(make_customer(), "pro")  # a customer of Assina itself, billed as usual
    for kind, text in (("customers", CUSTOMERS), ("subscriptions", SUBSCRIPTIONS)):
        assert _cli(tmp_path, capsys, kind, text)[0] == 0
    imported = Subscription.objects.filter(imported_at__isnull=False)
    advance(utc(2027, 2, 15))  # past two renewals of every imported subscription
    assert not Invoice.objects.filter(subscription__in=imported).exists()
    assert not PaymentAttempt.objects.filter(invoice__customer__in=Customer.objects.filter(imported_at__isnull=False)).exists()
    assert not Message.objects.filter(customer__imported_at__isnull=False).exists()  # no welcome, renewal or end e-mail
    assert set(imported.values_list("next_action_at", flat=True)) == {None}
    assert Invoice.objects.filter(subscription=live).count() == 3
    report = run_checks()
    assert report["ok"], report
    service.forget()
    summary = service.report(since="2025-01", until="2027-02")
    # Ana 79.90 + Carla 4 x 15.00 + the live customer's 99.00; Bob ended in June 2025.
    assert summary["summary"]["mrr"] == 7990 + 6000 + 9900
    months = {m["month"]: m for m in summary["months"]}
    assert months["2025-01"]["new"] == 7990 and months["2025-02"]["new"] == 9900 + 6000
    assert months["2025-06"]["churn"] == -9900


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(tmp_path, capsys, shop):
    events = Event.objects.count()
    code, body = _cli(tmp_path, capsys, "customers", "email,name,created_at\n"
                                                     "ok@example.com,Fine,2025-01-01\n"
                                                     "not-an-email,X,2025-01-01\n"
                                                     "late@example.com,Late,2030-01-01\n"
                                                     "OK@example.com,Again,2025-01-02\n")
    assert code == 2
    assert "line 3" in body["error"] and "line 4" in body["error"] and "line 5: e-mail OK@example.com is also on line 2" in body["error"]
    assert "line 2:" not in body["error"] and not Customer.objects.exists() and Event.objects.count() == events
    assert _cli(tmp_path, capsys, "customers", CUSTOMERS)[0] == 0
    code, body = _cli(tmp_path, capsys, "subscriptions",
                      "customer_email,plan_code,amount,currency,interval,started_at,ended_at\n"
                      "ana@example.com,pro,79.90,BRL,month,2025-01-10,\n"
                      "ana@example.com,nope,10,BRL,month,2025-01-10,\n"
                      "bob@example.com,pro,99,USD,year,2025-03-01,2025-02-01\n"
                      "zoe@example.com,pro,ten,BRL,month,2025-03-01,\n")
    assert code == 2 and not Subscription.objects.exists()
    error = body["error"]
    assert "line 3: no plan with code 'nope'" in error and "line 4: plan pro bills in BRL" in error
    assert "ended_at is not after started_at" in error and "line 5: amount:" in error
    code, body = _cli(tmp_path, capsys, "events", "customer_email,name,occurred_at,value\n"
                                                  "ana@example.com,login,2026-01-01,\n"
                                                  "ana@example.com,,2026-01-01,\n"
                                                  "zoe@example.com,login,2026-01-01,x\n")
    assert code == 2 and "line 3" in body["error"] and "line 4" in body["error"] and not EngagementEvent.objects.exists()
    code, body = _cli(tmp_path, capsys, "events", "email,name\nana@example.com,login\n")
    assert code == 2 and "missing columns: customer_email, occurred_at" in body["error"]


def test_a_later_file_ends_an_imported_subscription_and_errors_speak_portuguese(tmp_path, capsys, shop, settings):
    _cli(tmp_path, capsys, "customers", CUSTOMERS)
    _cli(tmp_path, capsys, "subscriptions", SUBSCRIPTIONS)
    ended = SUBSCRIPTIONS.replace("2025-01-10,,1,", "2025-01-10,2026-10-10,1,moved")
    assert _cli(tmp_path, capsys, "subscriptions", ended)[1] == {"kind": "subscriptions", "rows": 3, "created": 0,
                                                                 "unchanged": 2, "updated": 1}
    ana_sub = Subscription.objects.get(customer__email="ana@example.com")
    assert (ana_sub.status, ana_sub.ended_at, ana_sub.next_action_at) == ("canceled", utc(2026, 10, 10), None)
    assert Event.objects.filter(type="subscription.import_ended", subject_id=ana_sub.pk).count() == 1
    settings.LANGUAGE_CODE = "pt-br"
    code, body = _cli(tmp_path, capsys, "events", "customer_email,name,occurred_at\nzoe@example.com,login,amanhã\n")
    assert code == 2
    assert body["error"].startswith("nada foi importado, 1 linhas com erro: linha 2: occurred_at 'amanhã' não é uma data ou hora")


def test_an_event_after_the_clock_is_refused(shop):
    from assina.imports.services import import_events
    from assina.time import now

    make_customer(email="dan@example.com")
    result = import_events("customer_email,name,occurred_at\ndan@example.com,login,2026-12-02\n", now())
    assert result.error_count == 1 and "in the future" in result.errors[0]["error"]


def test_a_good_file_checked_by_column_gives_the_events_the_row_by_row_path_gives(shop):
    """The column path (every row good) derives the same ids, customers, times and values as the
    row-by-row path: a file imported before is found again whichever path reads it."""
    from assina.imports.reading import Problems, Table
    from assina.imports.services import EVENT_COLUMNS, EVENT_OPTIONAL, _event_columns, _event_columns_by_row
    from assina.time import now

    for email in ("ana@example.com", "Bob@Example.com"):
        make_customer(email=email)
    text = ("Customer_Email,value,name,occurred_at\n"
            " ANA@example.com ,3,login,2026-11-01T10:00:00.250000Z\n"
            "bob@example.com,,report_exported,2026-11-01T10:00:00.000000Z\n"
            "ana@example.com,3.0,login,2026-11-01T10:00:00.250000z\n"  # the same event: its second occurrence
            "ana@example.com,1e3,login,2026-11-01 09:00:00.000001\n"
            "bob@example.com,-2,login,1969-12-31T23:59:59.999999Z\n")
    by_column = _event_columns(Table(text, EVENT_COLUMNS, EVENT_OPTIONAL, Problems()), now())
    problems = Problems()
    by_row = _event_columns_by_row(Table(text, EVENT_COLUMNS, EVENT_OPTIONAL, problems), now(), problems)
    assert not problems and by_column is not None
    assert len(set(by_row.ids)) == 5 and by_row.ids == sorted(by_row.ids)
    for field in ("ids", "customers", "names", "values", "lines"):
        assert getattr(by_column, field) == getattr(by_row, field), field
    assert by_column.micros.tolist() == by_row.micros.tolist()
    for other in ("2026-11-01T10:00:00+01:00", "1762000000", " 2026-11-01 "):  # other shapes: parsed per distinct text
        same = text.replace("2026-11-01 09:00:00.000001", other)
        column = _event_columns(Table(same, EVENT_COLUMNS, EVENT_OPTIONAL, Problems()), now())
        row = _event_columns_by_row(Table(same, EVENT_COLUMNS, EVENT_OPTIONAL, Problems()), now(), Problems())
        assert column is not None and column.ids == row.ids and column.micros.tolist() == row.micros.tolist()
