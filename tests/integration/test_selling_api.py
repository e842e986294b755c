"""POST /api/v1/checkout_sessions and GET /checkout_sessions/{id} (issue 19): a hosted checkout
like Stripe's: {id, url, expires_at}, return URLs checked, the page at ``url`` completes it once
and sends the buyer to the success URL with the session's id."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from api_support import api, problem  # noqa: F401 - the fixture
from django.test import Client
from factories import make_addon, make_plan, start_clock, utc

from assina.catalog.services import create_coupon, create_promotion_code
from assina.selling.models import CheckoutSession
from assina.selling import views as selling_views
from assina.subscriptions.models import Subscription
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    selling_views.forget()  # a process keeps prices, add-ons and bundles (test databases reuse ids)
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 4990, name="Pro")  # not public: the API may still sell it
    make_addon("seats", 1000, name="Extra seats")
    make_addon("yearly-seats", 9000, interval="year")
    coupon = create_coupon(code="half", duration="once", percent_off="50", at=now())
    create_promotion_code(code="HALF", coupon_code=coupon.code, at=now())


def test_a_session_is_made_paid_on_its_page_once_and_reported(api, shop):
    made = api.ok("POST", "/checkout_sessions", {
        "plan": "pro", "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/pricing", "customer_email": "ana@example.com", "promotion_code": "HALF",
        "addons": ["seats"]})
    assert made["id"].startswith("cs_") and made["status"] == "open" and made["expires_at"] == "2027-01-02T00:00:00Z"
    path = urlsplit(made["url"]).path
    assert path == f"/checkout/s/{made['id']}/"

    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path).content.decode()
    assert 'value="ana@example.com"' in page and 'value="HALF"' in page and 'value="seats" checked' in page
    assert 'href="https://shop.example/pricing"' in page
    form = {"csrfmiddlewaretoken": re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1),
            "email": "ana@example.com", "name": "Ana", "tax_id": "529.982.247-25", "number": "4242424242424242",
            "exp_month": "1", "exp_year": "2030", "addons": ["seats"], "promotion_code": "HALF"}
    done = browser.post(path, form)
    assert done.status_code == 303 and done["Location"] == f"https://shop.example/thanks?session={made['id']}"
    assert browser.post(path, form)["Location"] == done["Location"]  # posted again: the same answer, nothing more
    sub = Subscription.objects.get()
    assert sorted(sub.items.values_list("plan_version__plan__code", flat=True)) == ["pro", "seats"]

    got = api.ok("GET", f"/checkout_sessions/{made['id']}")
    assert (got["status"], got["outcome"], got["subscription"]) == ("complete", "subscribed", f"sub_{sub.pk}")
    assert got["customer"] == f"cus_{sub.customer_id}"


BAD = [
    ({"plan": "nope"}, "invalid_plan"),
    ({"plan": "seats"}, "invalid_plan"),  # an add-on is not sold alone
    ({"plan": "pro", "success_url": "javascript:alert(1)"}, "invalid_success_url"),
    ({"plan": "pro", "success_url": "/relative"}, "invalid_success_url"),
    ({"plan": "pro", "cancel_url": "https://user:pw@shop.example/"}, "invalid_cancel_url"),
    ({"plan": "pro", "addons": ["yearly-seats"]}, "invalid_addons"),
    ({"plan": "pro", "promotion_code": "NOPE"}, "invalid_promotion_code"),
    ({"plan": "pro", "customer_email": "ana@"}, "invalid_email"),
]


def test_bad_sessions_are_refused_and_nothing_is_made(api, shop):
    for body, code in BAD:
        problem(api.post("/checkout_sessions", body), 422, code)
    assert CheckoutSession.objects.count() == 0


def test_an_unknown_session_is_404_and_an_expired_one_says_so(api, shop, settings):
    problem(api.get("/checkout_sessions/cs_nope"), 404, "resource_missing")
    made = api.ok("POST", "/checkout_sessions", {"plan": "pro"})
    CheckoutSession.objects.filter(key=made["id"]).update(expires_at=utc(2026, 12, 31))
    assert api.ok("GET", f"/checkout_sessions/{made['id']}")["status"] == "expired"
    assert Client().get(f"/checkout/s/{made['id']}/").status_code == 410
    assert Client().get("/checkout/s/cs_nope/").status_code == 404


def test_a_retried_create_with_the_same_idempotency_key_answers_the_first_response_and_makes_one_session(api, shop):
    body = {"plan": "pro", "success_url": "https://shop.example/thanks", "customer_email": "ana@example.com",
            "addons": ["seats"]}
    first = api.post("/checkout_sessions", body, key="order-1")
    assert first.status_code == 201
    again = api.post("/checkout_sessions", body, key="order-1")  # a retry after a lost answer
    assert again.status_code == 201 and again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert CheckoutSession.objects.count() == 1 and CheckoutSession.objects.get().key == first.json()["id"]
    other = api.post("/checkout_sessions", body, key="order-2")  # another key: another session
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    assert CheckoutSession.objects.count() == 2
