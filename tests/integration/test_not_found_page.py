"""A page that does not exist (or belongs to another customer) answers 404 with a page in the
visitor's language, with the CSP nonce on its style, and a way back for a portal customer."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language, words", [("en", "Page not found"), ("pt-BR", "Página não encontrada")])
def test_the_not_found_page_speaks_the_visitors_language(language, words):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/portal/invoices/999999/nowhere")
    page = response.content.decode()
    assert response.status_code == 404 and words in page
    assert 'href="/portal/"' in page
    nonce = page.split('<style nonce="')[1].split('"')[0]
    assert nonce and f"'nonce-{nonce}'" in response["Content-Security-Policy"]


def test_outside_the_portal_there_is_no_account_link():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()
    assert 'href="/portal/"' not in response.content.decode()
