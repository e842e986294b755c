"""Signing a customer in to the portal as they do: their single-use link's page, then its button
(a POST with the page's CSRF token)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.test import Client

from assina.portal import services

CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(html: str | bytes) -> str:
    """The CSRF token of a page's form."""
    return CSRF_TOKEN.search(html.decode() if isinstance(html, bytes) else html).group(1)


def signed_in(customer, flow: str = "") -> Client:
    """A browser (CSRF enforced) signed in to ``customer``'s portal through a fresh link."""
    client = Client(enforce_csrf_checks=True)
    _link, url = services.create_link(customer, flow=flow)
    path = urlsplit(url).path
    assert client.post(path, {"csrfmiddlewaretoken": csrf_token(client.get(path).content)}).status_code == 302
    return client
