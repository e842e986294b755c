"""A NUL character (U+0000) anywhere in a request is a 422 before anything runs, on both engines.

Found by bench/api_fuzz.py on PostgreSQL: ``GET /plans?starting_after=x%00`` answered 500
(PostgreSQL cannot hold a NUL in text), while SQLite stored such values.
"""

from __future__ import annotations

import json

import pytest
from api_support import ApiClient, api, new_key, problem  # noqa: F401 - fixture

from assina.customers.models import Customer

pytestmark = pytest.mark.django_db


def _nul(response, place: str) -> None:
    body = problem(response, 422, "validation_error")
    assert body["errors"] == [{"loc": [place], "message": body["errors"][0]["message"], "type": "nul_character"}]


@pytest.mark.parametrize("path, params", [
    ("/plans", {"starting_after": "x\x00"}),  # the fuzzer's case
    ("/plans", {"product": "a\x00b"}),
    ("/customers", {"email": "a\x00@example.com"}),
    ("/subscriptions", {"plan": "\x00"}),
    ("/events", {"type": "invoice.\x00"}),
    ("/usage/metrics", {"starting_after": "\x00"}),
])
def test_a_nul_in_the_query_string_is_refused(api, path, params):
    _nul(api.get(path, params), "query")


@pytest.mark.parametrize("path", ["/plans/a%00b", "/coupons/%00", "/customers/cus_1%00", "/subscriptions/sub_%00"])
def test_a_nul_in_the_path_is_refused(api, path):
    _nul(api.get(path), "path")


@pytest.mark.parametrize("body", [
    {"email": "a@example.com", "name": "A\x00B"},
    {"email": "a@example.com", "metadata": {"k": "v\x00"}},
    {"email": "a@example.com", "metadata": {"k\x00": "v"}},
])
def test_a_nul_in_a_json_body_is_refused_and_nothing_is_stored(api, body):
    _nul(api.post("/customers", body, key="nul-1"), "body")
    assert not Customer.objects.exists()
    # Nothing ran, so nothing was kept for the Idempotency-Key: fixed, the same key works.
    created = api.post("/customers", {"email": "a@example.com", "name": "AB"}, key="nul-1")
    assert created.status_code == 201, created.content.decode()


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api):
    # The JSON text "\\u0000" is the six characters \u0000, not a NUL.
    response = api.client.post("/api/v1/customers", '{"email": "a@example.com", "name": "\\\\u0000"}',
                               content_type="application/json")
    assert response.status_code == 201, response.content.decode()
    assert json.loads(response.content)["name"] == "\\u0000"


def test_the_nul_problem_is_translated(db):
    client = ApiClient(new_key("read"), language="pt-BR")
    body = problem(client.get("/plans", {"product": "\x00"}), 422, "validation_error")
    assert "caractere NUL" in body["errors"][0]["message"]


@pytest.mark.parametrize("path", ["", "/summary", "/movements", "/plans", "/cohorts", "/cancellations"])
@pytest.mark.parametrize("query", [{"from": "\x00"}, {"plan": "\x00"}])
def test_a_nul_in_a_metrics_query_is_the_same_problem(api, path, query):
    # These were metrics_error answers of the metrics router; the guard now answers them first.
    _nul(api.get(f"/metrics{path}", query), "query")
