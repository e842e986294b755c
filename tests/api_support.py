"""Helpers for the API tests: a Django test client that sends an API key, JSON in and out."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from assina.api import ratelimit
from assina.api.keys import create_key


class ApiClient:
    """``Client`` speaking JSON with ``Authorization: Bearer <secret>``."""

    def __init__(self, secret: str, language: str | None = None) -> None:
        self.secret = secret
        headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
        if language:
            headers["HTTP_ACCEPT_LANGUAGE"] = language
        self.client = Client(**headers)

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(f"/api/v1{path}", params or {}, **headers)

    def post(self, path: str, body: dict | None = None, *, key: str | None = None, **headers):
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        return self.client.post(f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **headers)

    def ok(self, method: str, path: str, body: dict | None = None, status: int | None = None, **kwargs) -> dict:
        response = self.get(path, body, **kwargs) if method == "GET" else self.post(path, body, **kwargs)
        expected = status or (201 if method == "POST" and response.status_code == 201 else 200)
        assert response.status_code == expected, response.content.decode()
        assert response["Content-Type"].startswith("application/json")
        return response.json()


def problem(response, status: int, code: str) -> dict:
    """Assert ``response`` is an RFC 9457 problem with this status and code; return its body."""
    assert response.status_code == status, response.content.decode()
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    assert body["title"] and body["detail"] and body["type"] == f"urn:assina:problem:{code}"
    return body


def new_key(scope: str = "write", name: str = "") -> str:
    return create_key(scope=scope, name=name or f"test-{uuid.uuid4().hex[:6]}").secret


@pytest.fixture
def api(db) -> ApiClient:
    ratelimit.reset()
    return ApiClient(new_key("write"))


@pytest.fixture
def read_api(db) -> ApiClient:
    return ApiClient(new_key("read"))
