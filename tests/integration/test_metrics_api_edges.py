"""/api/v1/metrics never answers 5xx: odd dates, ranges, filters and an empty database are a
clear 422 problem or a correct (possibly empty) answer. Found by bench/api_fuzz.py."""

from __future__ import annotations

import pytest
from api_support import problem
from factories import make_customer, make_plan, subscribe, utc
from metrics_support import metrics_api  # noqa: F401


pytestmark = pytest.mark.django_db

PATHS = ("", "/summary", "/movements", "/plans", "/cohorts", "/cancellations")


@pytest.fixture
def api(metrics_api):
    return metrics_api


def _data():
    make_plan("basic", 3000)
    subscribe(make_customer(country="PT", metadata={"segment": "salon"}), "basic", start=utc(2027, 1, 5))


@pytest.mark.parametrize("query", [
    {"as_of": "", "from": "", "to": "", "country": "", "currency": "", "plan": "", "segment": ""},
    {"months": 120}, {"from": "2017-04", "to": "2027-03"}, {"as_of": "2199-12-31"}, {"as_of": "1970-01-01"},
    {"as_of": "2027-01-01", "to": "2027-12"}, {"to": "2199-12"}, {"from": "1970-01", "to": "1970-01"},
    {"currency": "brl"}, {"country": "pt"}, {"segment": "salon"}, {"plan": "basic", "months": 1},
])
def test_edge_queries_answer(api, query):
    _data()
    for path in PATHS:
        body = api.ok("GET", f"/metrics{path}", query)
        assert body["currency"] == "BRL" and body["from"] <= body["to"]


@pytest.mark.parametrize("query", [
    {"from": "2027-05", "to": "2027-01"}, {"months": 121}, {"months": -1}, {"from": "2000-01", "to": "2027-01"},
    {"as_of": "0001-01-01"}, {"as_of": "9999-12-31"}, {"from": "1969-12"}, {"to": "2200-01"}, {"as_of": "2027-13-01"},
    {"from": "2027-1"}, {"to": "yesterday"}, {"as_of": "2027-02-29"},
    {"plan": "nope"}, {"segment": "nope"}, {"country": "ZZ"}, {"currency": "XXX"},
])  # a NUL ({"from": "\x00"}) is refused for every operation: tests/integration/test_api_nul_characters.py
def test_bad_queries_are_422_problems(api, query):
    _data()
    for path in PATHS:
        body = problem(api.get(f"/metrics{path}", query), 422, "metrics_error")
        assert body["detail"]


def test_months_that_are_not_numbers_are_validation_problems(api):
    for value in ("1e3", "twelve", "1.5", str(10**30)):
        response = api.get("/metrics/summary", {"months": value})
        assert response.status_code == 422, (value, response.status_code)
        assert response["Content-Type"].startswith("application/problem+json")


def test_an_empty_database_answers_zeros(api):
    for path in PATHS:
        body = api.ok("GET", f"/metrics{path}", {"months": 3})
        assert body["reconciles"] is True and body["unconverted_currencies"] == []
    summary = api.ok("GET", "/metrics/summary")["summary"]
    assert (summary["mrr"], summary["customers"], summary["arpa"], summary["customer_churn_rate"]) == (0, 0, None, None)
    assert api.ok("GET", "/metrics/events", {"limit": 10**6}) == []
