"""/api/v1/docs in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) against a
live server: Swagger UI accepts the spec and lists the operations, with no console error, no failed
request, and nothing fetched from anywhere but the server itself (the docs work offline)."""

from __future__ import annotations

import pytest


pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_list_the_operations_offline_without_errors(live_server, browser_context, tmp_path):
    errors: list[str] = []
    elsewhere: list[str] = []

    def only_this_server(route):
        # Anything outside the live server (a CDN, fonts, a validator badge) is refused and reported.
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    browser_context.route("**/*", only_this_server)
    page = browser_context.new_page()
    page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url', '')}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url} {r.failure}"))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    page.goto(live_server.url + "/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path[data-path='/api/v1/subscriptions']")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "api-docs.png"), full_page=False)

    assert page.title() == "Assina API"
    assert "Assina API" in page.inner_text(".information-container")
    paths = set(page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.dataset.path)"))
    assert {"/api/v1/subscriptions", "/api/v1/customers", "/api/v1/invoices/{invoice_id}/pdf"} <= paths
    # Swagger UI shows a spec it refused as an error box instead of the operations.
    assert page.locator(".swagger-ui .errors-wrapper").count() == 0
    assert elsewhere == []
    assert errors == []
