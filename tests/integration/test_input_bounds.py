"""Bad dates and codes are refused with a clear, translated error on every way in, changing
nothing (issue 14): a coupon redeem-by in year 1, a promotion code or a pause until 9999, a country
code that is not ISO 3166. The services hold the rule, so the API, the CLI and the admin (its add
forms call these services) get the same refusal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from api_support import ApiClient, api, new_key, problem  # noqa: F401
from factories import GOOD_CARD, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog import services as catalog
from assina.catalog.models import Coupon, PromotionCode
from assina.customers.models import Customer
from assina.customers.services import CustomerError, update_customer
from assina.events.models import Event
from assina.payments.new_customer import create_customer
from assina.subscriptions import services as subs
from assina.time import now

pytestmark = pytest.mark.django_db

YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, tzinfo=UTC)


@pytest.fixture
def clock():
    return start_clock(utc(2027, 1, 31, 10))


def test_a_coupon_or_promotion_code_dated_out_of_bounds_is_refused(clock):
    with pytest.raises(catalog.CatalogError, match="between the years 1970 and 2099"):
        catalog.create_coupon(code="old", duration="once", percent_off="10", redeem_by=YEAR_1, at=now())
    with pytest.raises(catalog.CatalogError, match="between the years 1970 and 2099"):
        catalog.create_coupon(code="far", duration="once", percent_off="10", redeem_by=YEAR_9999, at=now())
    catalog.create_coupon(code="ok", duration="once", percent_off="10", redeem_by=utc(2099, 12, 31), at=now())
    with pytest.raises(catalog.CatalogError, match="between the years 1970 and 2099"):
        catalog.create_promotion_code(code="FAR", coupon_code="ok", expires_at=YEAR_9999, at=now())
    assert list(Coupon.objects.values_list("code", flat=True)) == ["ok"] and not PromotionCode.objects.exists()


def test_a_pause_until_9999_is_refused_and_the_subscription_stays_active(clock):
    make_plan("pro", 4990)
    sub = subscribe(make_customer(), "pro")
    before = Event.objects.count()
    with pytest.raises(subs.SubscriptionError, match="between the years 1970 and 2099"):
        subs.pause(sub.pk, resumes_at=YEAR_9999)
    sub.refresh_from_db()
    assert (sub.status, sub.resumes_at, Event.objects.count()) == ("active", None, before)


def test_a_country_that_is_not_iso_3166_is_refused(clock):
    with pytest.raises(CustomerError, match="ISO 3166"):
        create_customer(email="z1@example.com", country="Z1", at=now(), card=GOOD_CARD)
    assert not Customer.objects.filter(email="z1@example.com").exists()
    ana = make_customer(country="br")
    assert ana.country == "BR"
    with pytest.raises(CustomerError, match="ISO 3166"):
        update_customer(ana.pk, {"country": "Z1"}, at=now())
    ana.refresh_from_db()
    assert ana.country == "BR"
    assert update_customer(ana.pk, {"country": ""}, at=now()).country == ""  # not known: allowed


def test_the_api_answers_each_with_a_problem_in_the_callers_language(api, clock):
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    ana = api.ok("POST", "/customers", {"email": "ana@example.com", "payment_method_token": GOOD_CARD})
    sub = api.ok("POST", "/subscriptions", {"customer": ana["id"], "plan": "pro"})
    before = Event.objects.count()
    body = problem(api.post("/coupons", {"code": "old", "duration": "once", "percent_off": "10",
                                         "redeem_by": "0001-01-01T00:00:00Z"}), 422, "catalog_error")
    assert "between the years 1970 and 2099" in body["detail"]
    body = problem(api.post(f"/subscriptions/{sub['id']}/pause", {"resumes_at": "9999-12-31T00:00:00Z"}),
                   422, "subscription_error")
    assert "between the years 1970 and 2099" in body["detail"]
    problem(api.post("/customers", {"email": "z1@example.com", "country": "Z1"}), 422, "customer_error")
    problem(api.post(f"/customers/{ana['id']}", {"country": "Z1"}), 422, "customer_error")
    portuguese = ApiClient(new_key("write"), language="pt-BR")
    body = problem(portuguese.post(f"/customers/{ana['id']}", {"country": "Z1"}), 422, "customer_error")
    assert body["detail"] == "'Z1' não é um código de país ISO 3166 (ex.: BR, PT, US)"
    body = problem(portuguese.post(f"/subscriptions/{sub['id']}/pause", {"resumes_at": "9999-12-31T00:00:00Z"}),
                   422, "subscription_error")
    assert body["detail"] == "a data de retomada 9999-12-31T00:00:00+00:00 deve estar entre os anos 1970 e 2099"
    assert Event.objects.count() == before and api.ok("GET", f"/subscriptions/{sub['id']}")["status"] == "active"
    assert api.ok("GET", f"/customers/{ana['id']}")["country"] == ana["country"]
