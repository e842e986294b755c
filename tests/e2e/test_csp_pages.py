"""Every kind of HTML page carries a Content-Security-Policy and loads, in a real headless Chromium,
without one violation: the admin's login and a change page, the dashboard, a customer page under
/c/ and the API docs. The policy names only this server (no CDN, no inline code without the
request's nonce)."""

from __future__ import annotations

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.notifications import links
from assina.notifications.models import MessageTemplate

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "csp-pages-pass-1"
# Collects what the browser refused, from the page's first script on.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sourceFile || '')));
"""


def _open(page, url: str, wait_for: str, problems: list[str]) -> str:
    response = page.goto(url)
    page.wait_for_selector(wait_for)
    page.wait_for_load_state("networkidle")
    policy = response.headers.get("content-security-policy", "")
    problems.extend(f"{url}: {v}" for v in page.evaluate("window.__violations"))
    return policy


def test_each_kind_of_page_loads_with_no_csp_violation(live_server, browser_context, django_user_model):
    start_clock(utc(2027, 3, 1, 12))
    make_plan("basic", 3000)
    customer = make_customer(name="Ana")
    subscribe(customer, "basic")
    django_user_model.objects.create_user("owner", password=PASSWORD, is_staff=True, is_superuser=True)

    browser_context.add_init_script(WATCH)
    problems: list[str] = []
    page = browser_context.new_page()
    page.on("console", lambda m: problems.append(f"console: {m.text}") if "Content Security Policy" in m.text else None)

    policies = {
        "login": _open(page, live_server.url + "/admin/login/", "#id_username", problems),
    }
    page.fill("#id_username", "owner")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")
    policies["dashboard"] = _open(page, live_server.url + "/dashboard/", "#chart-mrr .main-svg", problems)
    policies["change page"] = _open(page, f"{live_server.url}/admin/customers/customer/{customer.pk}/change/",
                                    "#customer_form", problems)
    policies["admin index"] = _open(page, live_server.url + "/admin/", "#content-main", problems)
    # An e-mail preview: the message's inline styles are allowed there (it is shown in a sandboxed
    # srcdoc iframe, which inherits the page's policy), scripts are not.
    _open(page, live_server.url + "/admin/notifications/messagetemplate/", "#result_list", problems)
    template = MessageTemplate.objects.order_by("pk").first()
    policies["e-mail preview"] = _open(page, f"{live_server.url}/admin/notifications/messagetemplate/{template.pk}/preview/",
                                       "iframe", problems)
    assert "'unsafe-inline'" in policies["e-mail preview"].split("style-src ")[1].split(";")[0]
    policies["customer page"] = _open(page, links.unsubscribe_url(customer.pk, None).replace(
        "http://127.0.0.1:8000", live_server.url), "main", problems)
    policies["API docs"] = _open(page, live_server.url + "/api/v1/docs",
                                 ".opblock-summary-path[data-path='/api/v1/subscriptions']", problems)

    assert problems == [], "\n".join(problems)
    for name, policy in policies.items():
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives.get("default-src") == "'self'", (name, policy)
        assert directives.get("object-src") == "'none'" and directives.get("frame-ancestors") == "'none'", (name, policy)
        # Scripts only from this server (and inline ones only with this response's nonce).
        assert all(s == "'self'" or s.startswith("'nonce-") for s in directives["script-src"].split()), (name, policy)
        assert "unsafe" not in directives["script-src"], (name, policy)
