"""HEAD on the API answers like GET without a body; a Host outside ALLOWED_HOSTS is the API's
``400 bad_host`` problem, not Django's HTML page."""

from __future__ import annotations

import json

import pytest
from api_support import ApiClient, api, new_key, problem  # noqa: F401 - fixture
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory
from factories import GOOD_CARD, start_clock, utc

from assina.customers.models import Customer
from assina.events.models import Event

pytestmark = pytest.mark.django_db


def _handle(method: str, path: str, secret: str | None = None, **headers):
    """The request through Django's handler and every middleware, as a WSGI server runs it.

    Django's test client drops a HEAD answer's body itself; this does not, so a body the
    application sends shows.
    """
    if secret:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    request = getattr(RequestFactory(), method.lower())(path, **headers)
    return WSGIHandler().get_response(request)


@pytest.fixture
def shop(api):
    start_clock(utc(2027, 1, 31, 10))
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    customer = api.ok("POST", "/customers", {"email": "ana@example.com", "payment_method_token": GOOD_CARD})
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro"})
    return {"customer": customer, "subscription": sub}


@pytest.mark.parametrize("path", ["/customers", "/subscriptions/{sub}", "/customers/{cus}", "/events", "/plans/pro",
                                  "/openapi.json"])
def test_head_answers_like_get_without_a_body(api, shop, path):
    path = "/api/v1" + path.format(sub=shop["subscription"]["id"], cus=shop["customer"]["id"])
    got = _handle("GET", path, api.secret)
    head = _handle("HEAD", path, api.secret)
    assert got.status_code == 200 and got.content
    assert head.status_code == 200, head.content
    assert head.content == b""
    assert head["Content-Type"] == got["Content-Type"]
    assert head["Content-Length"] == got["Content-Length"] == str(len(got.content))


def test_head_is_a_read_a_read_key_may_make_and_problems_keep_their_status(api, shop):
    read = new_key("read")
    assert _handle("HEAD", "/api/v1/customers", read).status_code == 200
    missing = _handle("HEAD", "/api/v1/customers/cus_999", read)
    assert missing.status_code == 404 and missing.content == b""
    assert missing["Content-Type"].startswith("application/problem+json")
    anonymous = _handle("HEAD", "/api/v1/customers")
    assert anonymous.status_code == 401 and anonymous.content == b""
    assert anonymous["WWW-Authenticate"] == "Bearer"


def test_head_on_a_route_without_get_is_405_and_allow_lists_head_beside_get(api, shop):
    response = api.client.head(f"/api/v1/subscriptions/{shop['subscription']['id']}/cancel")
    assert response.status_code == 405 and response["Allow"] == "POST"
    response = api.client.delete("/api/v1/customers")
    body = problem(response, 405, "method_not_allowed")
    assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD", "POST"] and "HEAD" in body["detail"]


def test_head_changes_nothing(api, shop):
    before = (Customer.objects.count(), Event.objects.count())
    assert api.client.head("/api/v1/customers").status_code == 200
    assert api.client.head(f"/api/v1/invoices?customer={shop['customer']['id']}").status_code == 200
    assert (Customer.objects.count(), Event.objects.count()) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_host_outside_allowed_hosts_is_a_bad_host_problem(api, method):
    response = getattr(api.client, method)("/api/v1/customers", HTTP_HOST="evil.example.com",
                                           **({"data": json.dumps({"email": "a@example.com"}),
                                               "content_type": "application/json",
                                               "HTTP_IDEMPOTENCY_KEY": "k1"} if method == "post" else {}))
    body = problem(response, 400, "bad_host")
    assert body["instance"] == "/api/v1/customers"
    assert Customer.objects.count() == 0  # nothing ran


def test_the_bad_host_problem_comes_before_the_key_and_speaks_the_request_language(db):
    anonymous = ApiClient("sk_sandbox_not_a_key", language="pt-BR")
    body = problem(anonymous.get("/customers", HTTP_HOST="evil.example.com"), 400, "bad_host")
    assert body["title"] == "Requisição inválida"
    assert body["detail"] == "este servidor não atende ao host do cabeçalho Host"


def test_an_allowed_host_is_served(api):
    assert api.get("/customers", HTTP_HOST="localhost").status_code == 200
