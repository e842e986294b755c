"""What the API answers outside its operations: an over-long URL (414), a method a route does not
have (405), a path it does not have (404) -- always an RFC 9457 problem with a stable code."""

from __future__ import annotations

import pytest
from api_support import ApiClient, api, new_key, problem  # noqa: F401 - fixture

from assina.api.http_limits import URL_LIMIT
from assina.api.main import api as ninja_api

pytestmark = pytest.mark.django_db


def _query_of_length(path: str, total: int) -> dict:
    # The test client sends path + "?" + query: fill the query up to ``total`` bytes.
    return {"pad": "a" * (total - len(f"/api/v1{path}?pad="))}


def test_a_url_over_the_limit_is_a_414_problem_before_anything_else(api):
    problem(api.get("/customers", _query_of_length("/customers", URL_LIMIT + 1)), 414, "uri_too_long")
    problem(api.post(f"/customers?{'x' * URL_LIMIT}", {}), 414, "uri_too_long")
    # An unknown route or a missing key: the length is checked first, the answer is the same.
    problem(api.get("/no-such-route", _query_of_length("/no-such-route", URL_LIMIT + 1)), 414, "uri_too_long")
    anonymous = ApiClient("sk_sandbox_not_a_key")
    problem(anonymous.get("/customers", _query_of_length("/customers", URL_LIMIT + 1)), 414, "uri_too_long")


def test_a_url_at_the_limit_is_read(api):
    response = api.get("/customers", _query_of_length("/customers", URL_LIMIT))
    assert response.status_code == 200, response.content.decode()


def test_the_414_problem_follows_accept_language(db):
    client = ApiClient(new_key("read"), language="pt-BR")
    body = problem(client.get("/customers", _query_of_length("/customers", URL_LIMIT + 1)), 414, "uri_too_long")
    assert body["title"] == "URL longa demais" and "a URL tem mais de 8000 bytes" in body["detail"]


def test_a_method_the_route_does_not_have_is_a_405_problem_with_allow(api):
    response = api.client.delete("/api/v1/customers")
    body = problem(response, 405, "method_not_allowed")
    assert sorted(response["Allow"].split(", ")) == ["GET", "HEAD", "POST"] and "DELETE" in body["detail"]
    response = api.client.patch("/api/v1/subscriptions/sub_1")
    problem(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"  # HEAD is answered wherever GET is


def test_a_path_the_api_does_not_have_is_a_404_problem_for_any_method(api):
    for method in ("get", "post", "delete", "put", "patch"):
        problem(getattr(api.client, method)("/api/v1/nothing-here"), 404, "route_not_found")
    problem(api.get("/customers/"), 404, "route_not_found")


def test_the_spec_documents_the_414_problem_for_every_operation():
    schema = ninja_api.get_openapi_schema()
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
                  if method in ("get", "post", "put", "patch", "delete")]
    assert len(operations) > 40
    for path, method, operation in operations:
        response = operation["responses"].get("414")
        assert response is not None, (method, path)
        assert list(response["content"]) == ["application/problem+json"], (method, path)
