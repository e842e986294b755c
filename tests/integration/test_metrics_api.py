"""GET /api/v1/metrics/...: the dashboard's figures as JSON, amounts in minor units with their currency."""

from __future__ import annotations

import pytest
from django.test import Client
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import service
from assina.api.keys import create_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(settings):
    settings.ASSINA_MAX_BACKDATE_DAYS = 400  # imports months of history: a start may otherwise lie one period back (issue 14)
    service.forget()
    start_clock(utc(2027, 3, 10, 12))
    make_plan("basic", 3000)
    make_plan("yearly", 36000, interval="year")
    subscribe(make_customer(country="PT"), "basic", start=utc(2027, 1, 5))
    subscribe(make_customer(), "yearly", start=utc(2027, 2, 5))
    secret = create_key(scope="read").secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    yield client
    service.forget()


def test_metrics_endpoints_answer_with_schemad_json(api):
    summary = api.get("/api/v1/metrics/summary", {"from": "2027-01", "to": "2027-03"}).json()
    assert (summary["currency"], summary["from"], summary["to"], summary["reconciles"]) == ("BRL", "2027-01", "2027-03", True)
    assert (summary["summary"]["mrr"], summary["summary"]["arr"], summary["summary"]["customers"]) == (6000, 72000, 2)
    movements = api.get("/api/v1/metrics/movements", {"from": "2027-01", "to": "2027-03"}).json()["months"]
    assert [(m["month"], m["new"], m["mrr_end"]) for m in movements] == [("2027-01", 3000, 3000), ("2027-02", 3000, 6000),
                                                                         ("2027-03", 0, 6000)]
    plans = api.get("/api/v1/metrics/plans", {"months": 3}).json()
    assert {p["plan"]: p["mrr"] for p in plans["plans"]} == {"basic": 3000, "yearly": 3000}
    assert plans["mix"][1] == {"interval": "annual", "mrr": 3000, "subscriptions": 1, "share": 0.5}
    cohorts = api.get("/api/v1/metrics/cohorts", {"from": "2027-01", "to": "2027-03"}).json()["cohorts"]
    assert cohorts["size"] == [1, 1, 0] and cohorts["customers_percent"][0] == [100.0, 100.0, 100.0]
    portugal = api.get("/api/v1/metrics", {"months": 3, "country": "pt"}).json()
    assert portugal["summary"]["mrr"] == 3000 and portugal["filters"] == {"country": "PT"}
    assert api.get("/api/v1/metrics/events", {"limit": 3}).json()[0]["type"]


def test_bad_metrics_queries_are_refused_with_a_problem(api):
    for query in ({"plan": "nope"}, {"as_of": "2027-02-30"}, {"from": "2027-05", "to": "2027-01"}, {"months": 0}):
        response = api.get("/api/v1/metrics/summary", query)
        assert response.status_code in (400, 422), (query, response.status_code)
        assert response.json()["detail"]
    assert Client().get("/api/v1/metrics/summary").status_code == 401
