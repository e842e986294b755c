"""The API's short middleware chain and its JSON encoder: faster, with the same behaviour.

/api/v1/ requests skip sessions, CSRF, user auth and messages (assina.api.guard.ApiMiddleware);
the admin keeps all of them. The orjson encoder writes what the standard library wrote.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from api_support import ApiClient, api, new_key, problem  # noqa: F401
from django.contrib.auth.models import User
from django.test import Client
from django.utils.translation import gettext_lazy

from assina.api import renderers
from assina.api.guard import ApiMiddleware
from assina.api.keys import revoke_key

pytestmark = pytest.mark.django_db


def test_api_answers_carry_the_security_and_language_headers_and_no_cookie(api):
    response = api.get("/customers")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Language"] == "en" and "Accept-Language" in response["Vary"]
    assert response["Content-Length"] == str(len(response.content))
    assert not response.cookies and not hasattr(response.wsgi_request, "session")
    assert not hasattr(response.wsgi_request, "user")


def test_api_problems_still_follow_the_language_cookie_and_header():
    client = Client(HTTP_ACCEPT_LANGUAGE="pt-BR")
    body = problem(client.get("/api/v1/customers"), 401, "authentication_required")
    assert body["title"] == "Autenticação necessária"
    assert client.get("/api/v1/customers")["Content-Language"] == "pt-br"


def test_api_requests_check_the_host_header(api, settings):
    settings.ALLOWED_HOSTS = ["billing.example.com"]
    assert api.get("/customers", HTTP_HOST="evil.example.com").status_code == 400
    assert api.get("/customers", HTTP_HOST="billing.example.com").status_code == 200


def test_pages_outside_the_api_keep_sessions_csrf_and_auth():
    User.objects.create_superuser("op", "op@example.com", "pw-123456789")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    assert page.status_code == 200 and "csrftoken" in page.cookies
    refused = client.post("/admin/login/", {"username": "op", "password": "pw-123456789"})
    assert refused.status_code == 403  # no CSRF token: the admin still checks it
    token = page.cookies["csrftoken"].value
    logged = client.post("/admin/login/?next=/admin/", {"username": "op", "password": "pw-123456789",
                                                         "csrfmiddlewaretoken": token})
    assert logged.status_code == 302 and "sessionid" in logged.cookies
    assert client.get("/admin/").status_code == 200


def test_only_the_api_prefix_takes_the_short_chain():
    seen = []
    middleware = ApiMiddleware(lambda request: seen.append(request.path) or "full chain")
    from django.test import RequestFactory

    assert middleware(RequestFactory().get("/api/v1-not/x")) == "full chain"
    assert middleware(RequestFactory().get("/admin/")) == "full chain"
    assert seen == ["/api/v1-not/x", "/admin/"]


VALUES = {
    "utc": datetime(2027, 1, 31, 10, 0, tzinfo=timezone.utc),
    "micro": datetime(2027, 1, 31, 10, 0, 0, 123456, tzinfo=timezone.utc),
    "sao_paulo": datetime(2027, 1, 31, 7, 0, tzinfo=ZoneInfo("America/Sao_Paulo")),
    "day": date(2027, 2, 28), "clock": time(10, 30, 15, 250000), "span": timedelta(days=1, seconds=5),
    "money": Decimal("49.90"), "id": uuid.UUID(int=7), "lazy": gettext_lazy("name"),
    "text": "não paga ☂ \"quoted\" \\ \n\t\x01", "numbers": [0, -1, 2**63 - 1, 1.5, True, None],
    "nested": {"items": [{"plan": "pro", "quantity": 2}], "empty": {}, "tuple": (1, 2)},
    3: "an int key",
}


def test_the_c_encoder_writes_what_the_standard_library_writes():
    assert renderers.orjson is not None
    assert renderers.render_json(VALUES) == renderers._stdlib(VALUES)
    decoded = json.loads(renderers.render_json(VALUES))
    assert decoded["sao_paulo"] == "2027-01-31T10:00:00Z" and decoded["micro"] == "2027-01-31T10:00:00.123456Z"


def test_what_orjson_refuses_goes_through_the_standard_library():
    huge = {"amount": 2**70}
    assert renderers.render_json(huge) == b'{"amount":1180591620717411303424}'


def test_the_hot_read_route_gives_what_the_url_resolver_gives(api):
    from django.test import RequestFactory
    from django.urls import resolve

    middleware = ApiMiddleware(lambda request: None)
    for path in ("/api/v1/subscriptions/sub_42", "/api/v1/subscriptions/anything.json"):
        hot, expected = middleware._match(RequestFactory().get(path)), resolve(path)
        assert (hot.func, hot.args, hot.kwargs, hot.url_name, hot.route, hot.namespaces) == (
            expected.func, expected.args, expected.kwargs, expected.url_name, expected.route, expected.namespaces)
    assert middleware._match(RequestFactory().get("/api/v1/customers")).func == resolve("/api/v1/customers").func
    problem(api.get("/subscriptions/sub_999"), 404, "resource_missing")
    problem(api.get("/subscriptions/sub_999/change_preview", {"quantity": 2}), 404, "resource_missing")


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_prepares_the_hot_statements_and_survives_their_deallocation():
    from django.db import connection, transaction
    from factories import make_customer, make_plan, subscribe

    from assina.api.ratelimit import reset

    reset()
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro")
    client = ApiClient(new_key("read"))
    assert client.get(f"/subscriptions/sub_{sub.pk}").json()["id"] == f"sub_{sub.pk}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = " ".join(row[0] for row in cursor.fetchall())
    assert 'FROM "api_apikey" WHERE "key_hash" = $1' in prepared
    assert 'FROM "subscriptions_subscription" AS s' in prepared
    assert connection.connection.prepare_threshold is None  # the ORM's statements are not prepared
    with pytest.raises(RuntimeError), transaction.atomic():  # a rollback: psycopg deallocates them all
        client.get(f"/subscriptions/sub_{sub.pk}")
        raise RuntimeError
    assert client.get(f"/subscriptions/sub_{sub.pk}").json()["id"] == f"sub_{sub.pk}"
    revoke_key(client.secret)
    problem(client.get(f"/subscriptions/sub_{sub.pk}"), 401, "api_key_revoked")
