"""The served openapi.json is a valid OpenAPI document Swagger UI accepts: no key twice, no schema error."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


def _reject_duplicate_keys(pairs):
    # json.loads keeps the last of two equal keys silently; Swagger UI refuses the whole spec instead.
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate keys {duplicates} in {keys}")
    return dict(pairs)


@pytest.fixture(scope="module")
def served_spec_text(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.content.decode()


def test_the_served_spec_has_no_key_twice(served_spec_text):
    json.loads(served_spec_text, object_pairs_hook=_reject_duplicate_keys)


def test_the_invoice_pdf_operation_documents_one_200_with_the_pdf(served_spec_text):
    spec = json.loads(served_spec_text, object_pairs_hook=_reject_duplicate_keys)
    ok = spec["paths"]["/api/v1/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]
    assert "application/pdf" in ok["content"]
    assert ok["description"].startswith("the invoice as a PDF")


def test_the_served_spec_is_valid_openapi(served_spec_text):
    validate(json.loads(served_spec_text))
