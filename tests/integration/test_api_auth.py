"""API keys: bearer authentication, scopes, revocation, modes, last use; problems for each refusal."""

from __future__ import annotations

import hashlib

import pytest
from api_support import ApiClient, api, new_key, problem, read_api  # noqa: F401
from django.test import Client

from assina.api.keys import create_key, revoke_key
from assina.api.models import ApiKey
from assina.customers.models import Customer

pytestmark = pytest.mark.django_db


def test_a_key_is_prefixed_by_mode_shown_once_and_stored_only_as_a_hash():
    new = create_key(scope="write", name="shop")
    assert new.secret.startswith("sk_sandbox_") and len(new.secret) > 40
    row = ApiKey.objects.get(pk=new.key.pk)
    assert row.key_hash == hashlib.sha256(new.secret.encode()).hexdigest()
    stored = " ".join(str(v) for v in ApiKey.objects.filter(pk=row.pk).values().first().values())
    assert new.secret not in stored and row.hint.endswith(new.secret[-4:])


def test_requests_without_a_valid_key_are_refused_with_problems():
    problem(Client().get("/api/v1/customers"), 401, "authentication_required")
    problem(Client(HTTP_AUTHORIZATION="Basic abc").get("/api/v1/customers"), 401, "authentication_required")
    problem(ApiClient("sk_sandbox_not-a-key").get("/customers"), 401, "invalid_api_key")
    problem(ApiClient("hello").get("/customers"), 401, "invalid_api_key")


def test_a_key_of_another_mode_never_reaches_this_database():
    live = "sk_live_" + "x" * 43
    body = problem(ApiClient(live).post("/customers", {"email": "x@example.com"}), 401, "wrong_mode_key")
    assert "sandbox" in body["detail"]
    assert not Customer.objects.exists()


def test_a_revoked_key_stops_working_at_once(api):
    assert api.get("/customers").status_code == 200
    revoke_key(api.secret)
    problem(api.get("/customers"), 401, "api_key_revoked")


def test_a_read_key_reads_but_cannot_write(read_api):
    assert read_api.get("/customers").status_code == 200
    problem(read_api.post("/customers", {"email": "ana@example.com"}), 403, "insufficient_scope")
    assert not Customer.objects.exists()


def test_last_use_is_recorded(api):
    key = ApiKey.objects.get(name__startswith="test-", revoked_at__isnull=True)
    assert key.last_used_at is None
    api.get("/customers")
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_problems_follow_accept_language():
    body = problem(ApiClient("sk_sandbox_nope", language="pt-BR").get("/customers"), 401, "invalid_api_key")
    assert body["detail"] == "esta chave de API não é válida"
    assert body["title"] == "Autenticação necessária"


def test_unknown_routes_are_problems_too(api):
    problem(api.get("/nothing-here"), 404, "route_not_found")
    problem(api.post("/nothing-here", {}), 404, "route_not_found")
