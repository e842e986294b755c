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


# Collects the page's Content-Security-Policy violations in ``window.__violations``.
WATCH_CSP = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def portal_page(browser_context, live_server, customer, *, width: int = 390, height: int = 844):
    """A headless Chromium page signed in to ``customer``'s portal as they do (their link's page,
    then its button), watching for CSP violations, at ``width`` (a phone by default)."""
    _link, url = services.create_link(customer)
    browser_context.add_init_script(WATCH_CSP)
    page = browser_context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url.replace("http://127.0.0.1:8000", live_server.url))
    page.click("button.primary")
    page.wait_for_selector("header")
    return page
