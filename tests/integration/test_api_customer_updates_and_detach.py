"""/customers/{id} updates and card detaches go through the shared services: the same
validation, events and 409 on a second detach as every other caller."""

from __future__ import annotations

import pytest
from api_support import api, problem  # noqa: F401
from factories import GOOD_CARD, start_clock, utc

from assina.events.models import Event
from assina.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    return start_clock(utc(2027, 1, 31, 10))


def _customer(api, email="ana@example.com", **extra):
    return api.ok("POST", "/customers", {"email": email, "payment_method_token": GOOD_CARD, **extra})


def test_update_refusals_are_problems_and_change_nothing(api, clock):
    ana = _customer(api)
    _customer(api, email="bia@example.com")
    before = Event.objects.count()
    problem(api.post(f"/customers/{ana['id']}", {"email": "bia@example.com"}), 422, "customer_error")
    problem(api.post(f"/customers/{ana['id']}", {"name": "Ana", "time_zone": "Nowhere/Here"}), 422, "customer_error")
    problem(api.post(f"/customers/{ana['id']}", {"locale": "de"}), 422, "customer_error")
    problem(api.post(f"/customers/{ana['id']}", {"currency": "USD"}), 422, "validation_error")
    problem(api.post("/customers/cus_999999", {"name": "x"}), 404, "resource_missing")
    assert Event.objects.count() == before and api.ok("GET", f"/customers/{ana['id']}") == ana


def test_update_records_the_changed_fields(api, clock):
    ana = _customer(api)
    updated = api.ok("POST", f"/customers/{ana['id']}", {"locale": "pt_BR", "tax_id": "123", "name": None})
    assert (updated["locale"], updated["tax_id"], updated["name"]) == ("pt-BR", "123", ana["name"])
    assert [e.data for e in Event.objects.filter(type="customer.updated")] == [{"changed": ["locale", "tax_id"]}]


def test_detach_moves_the_default_and_a_second_detach_is_a_conflict(api, clock):
    ana = _customer(api)
    first = ana["default_payment_method"]
    second = api.ok("POST", f"/customers/{ana['id']}/payment_methods", {"token": "5555555555554444", "make_default": False})
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    sub = api.ok("POST", "/subscriptions", {"customer": ana["id"], "plan": "pro"})
    Subscription.objects.filter(pk=int(sub["id"].removeprefix("sub_"))).update(payment_method_id=int(first[3:]))

    detached = api.ok("POST", f"/customers/{ana['id']}/payment_methods/{first}/detach")
    assert detached["detached_at"] == "2027-01-31T10:00:00Z" and not detached["default"]
    assert api.ok("GET", f"/customers/{ana['id']}")["default_payment_method"] == second["id"]
    assert Subscription.objects.get(pk=int(sub["id"].removeprefix("sub_"))).payment_method_id is None
    before = Event.objects.count()
    problem(api.post(f"/customers/{ana['id']}/payment_methods/{first}/detach"), 409, "payment_method_detached")
    assert Event.objects.count() == before
    assert Event.objects.filter(type="payment_method.detached").count() == 1
    bia = _customer(api, email="bia@example.com")
    problem(api.post(f"/customers/{bia['id']}/payment_methods/{second['id']}/detach"), 404, "resource_missing")


def test_refusals_from_the_services_are_in_the_callers_language(api, clock):
    from api_support import ApiClient, new_key

    ana = _customer(api)
    card = ana["default_payment_method"]
    portuguese = ApiClient(new_key("write"), language="pt-BR")
    body = problem(portuguese.post(f"/customers/{ana['id']}", {"email": "nope"}), 422, "customer_error")
    assert body["detail"] == "'nope' não é um endereço de e-mail válido"
    portuguese.ok("POST", f"/customers/{ana['id']}/payment_methods/{card}/detach")
    body = problem(portuguese.post(f"/customers/{ana['id']}/payment_methods/{card}/detach"), 409, "payment_method_detached")
    assert body["detail"] == f"o meio de pagamento {card} foi removido"


def test_pause_and_resume_at_the_same_instant_through_the_api(api, clock):
    """Was a 409 conflict (a second invoice for the same period); now the period continues."""
    ana = _customer(api)
    api.ok("POST", "/plans", {"code": "pro", "name": "Pro", "amount": 4990, "currency": "BRL", "interval": "month"})
    sub = api.ok("POST", "/subscriptions", {"customer": ana["id"], "plan": "pro"})
    assert api.ok("POST", f"/subscriptions/{sub['id']}/pause", {})["status"] == "paused"
    resumed = api.ok("POST", f"/subscriptions/{sub['id']}/resume")
    assert (resumed["status"], resumed["current_period_start"], resumed["current_period_end"]) == (
        "active", sub["current_period_start"], sub["current_period_end"])
    invoices = api.ok("GET", "/invoices", {"subscription": sub["id"]})["data"]
    assert [(i["period_start"], i["total"], i["amount_paid"]) for i in invoices] == [
        (sub["current_period_start"], 4990, 4990), (None, 4990, 0)]  # the charge-back is paid by the pause's credit
