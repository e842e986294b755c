"""The resources through HTTP: each call goes through the services and shows what they did."""

from __future__ import annotations

import pytest
from api_support import api, problem, read_api  # noqa: F401
from factories import FAILING_CARD, GOOD_CARD, advance, start_clock, utc

from assina.customers.models import Customer
from assina.events.models import Event
from assina.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    return start_clock(utc(2027, 1, 31, 10))


def _plan(api, code="pro", amount=4990, **extra):
    return api.ok("POST", "/plans", {"code": code, "name": code.title(), "amount": amount, "currency": "BRL",
                                     "interval": "month", **extra})


def _customer(api, email="ana@example.com", card=GOOD_CARD, **extra):
    body = {"email": email, **extra}
    if card:
        body["payment_method_token"] = card
    return api.ok("POST", "/customers", body)


def test_customers_are_created_listed_read_and_updated(api, clock):
    ana = _customer(api, name="Ana", locale="pt-BR", metadata={"crm": "42"})
    assert ana["id"].startswith("cus_") and ana["currency"] == "BRL" and ana["created_at"] == "2027-01-31T10:00:00Z"
    assert ana["default_payment_method"].startswith("pm_")
    assert api.ok("GET", f"/customers/{ana['id']}") == ana
    updated = api.ok("POST", f"/customers/{ana['id']}", {"name": "Ana Souza", "country": "br"})
    assert updated["name"] == "Ana Souza" and updated["country"] == "BR" and updated["email"] == ana["email"]
    assert Event.objects.filter(type="customer.updated").count() == 1
    problem(api.post(f"/customers/{ana['id']}", {"currency": "USD"}), 422, "validation_error")
    problem(api.post("/customers", {"email": "ANA@example.com"}), 422, "customer_error")
    problem(api.post("/customers", {"email": "not-an-email"}), 422, "customer_error")
    problem(api.get("/customers/cus_999"), 404, "resource_missing")
    assert Customer.objects.count() == 1


def test_a_declined_card_creates_no_customer(api, clock):
    problem(api.post("/customers", {"email": "bob@example.com", "payment_method_token": "4000000000000002"}),
            402, "card_declined")
    assert not Customer.objects.exists()


def test_lists_page_with_a_cursor_and_filter_by_creation_time(api, clock):
    ids = [_customer(api, email=f"c{i}@example.com", card=None)["id"] for i in range(5)]
    first = api.ok("GET", "/customers", {"limit": 2})
    assert [c["id"] for c in first["data"]] == ids[:2] and first["has_more"] and first["next_cursor"] == ids[1]
    second = api.ok("GET", "/customers", {"limit": 2, "starting_after": first["next_cursor"]})
    assert [c["id"] for c in second["data"]] == ids[2:4]
    last = api.ok("GET", "/customers", {"limit": 2, "starting_after": second["next_cursor"]})
    assert [c["id"] for c in last["data"]] == ids[4:] and not last["has_more"] and last["next_cursor"] is None
    assert api.ok("GET", "/customers", {"created[gte]": "2027-01-31T10:00:00Z"})["data"]
    assert api.ok("GET", "/customers", {"created[lt]": "2027-01-31T10:00:00Z"})["data"] == []
    assert api.ok("GET", "/customers", {"created[gt]": "2027-01-31T09:00:00-03:00"})["data"] == []  # 12:00 UTC
    problem(api.get("/customers", {"created[gte]": "yesterday"}), 422, "validation_error")
    problem(api.get("/customers", {"starting_after": "sub_1"}), 400, "invalid_cursor")
    problem(api.get("/customers", {"limit": 1000}), 422, "validation_error")


def test_plans_have_price_versions_and_products(api, clock):
    plan = _plan(api)
    assert plan["current_version"] == 1 and plan["versions"][0]["unit_amount"] == 4990
    plan = api.ok("POST", "/plans/pro/versions", {"amount": 5990})
    assert plan["current_version"] == 2 and [v["unit_amount"] for v in plan["versions"]] == [4990, 5990]
    assert api.ok("GET", "/plans/pro") == plan
    assert [p["id"] for p in api.ok("GET", "/plans")["data"]] == ["pro"]
    assert api.ok("GET", "/products/pro")["plans"] == ["pro"]
    problem(api.post("/plans", {"code": "pro", "name": "x", "amount": 1, "currency": "BRL", "interval": "month"}),
            422, "catalog_error")
    problem(api.post("/plans", {"code": "x", "name": "x", "amount": "ten", "currency": "BRL", "interval": "month"}),
            422, "validation_error")
    problem(api.get("/plans/nope"), 404, "resource_missing")


def test_coupons_and_promotion_codes(api, clock):
    _plan(api)
    coupon = api.ok("POST", "/coupons", {"code": "half", "duration": "repeating", "duration_periods": 3, "percent_off": "50"})
    assert coupon["percent_off"] == "50" and coupon["duration_periods"] == 3
    promo = api.ok("POST", "/promotion_codes", {"code": "BLACKFRIDAY", "coupon": "half", "max_redemptions": 1})
    assert promo["id"].startswith("promo_") and api.ok("GET", f"/promotion_codes/{promo['id']}") == promo
    customer = _customer(api)
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro", "coupon": "BLACKFRIDAY"})
    assert sub["coupon"] == "half"
    invoice = api.ok("GET", "/invoices", {"subscription": sub["id"]})["data"][0]
    assert invoice["total"] == 2495 and invoice["currency"] == "BRL"
    other = _customer(api, email="bob@example.com")
    problem(api.post("/subscriptions", {"customer": other["id"], "plan": "pro", "coupon": "BLACKFRIDAY"}), 422, "catalog_error")
    assert Subscription.objects.count() == 1


def test_a_subscription_lives_through_the_api(api, clock):
    _plan(api, "basic", 2990)
    _plan(api, "pro", 5990)
    customer = _customer(api)
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "basic"})
    assert sub["status"] == "active" and sub["current_period_end"] == "2027-02-28T10:00:00Z"
    assert api.ok("GET", f"/subscriptions/{sub['id']}") == sub

    preview = api.ok("GET", f"/subscriptions/{sub['id']}/change_preview", {"plan": "pro"})
    assert preview["net_amount"] == 3000 and preview["currency"] == "BRL" and len(preview["lines"]) == 2
    assert api.ok("GET", f"/subscriptions/{sub['id']}")["plan"] == "basic"  # a preview changes nothing
    changed = api.ok("POST", f"/subscriptions/{sub['id']}/change", {"plan": "pro", "invoice_now": True})
    assert changed["plan"] == "pro"
    proration = api.ok("GET", "/invoices", {"subscription": sub["id"], "status": "paid"})["data"][-1]
    assert proration["billing_reason"] == "subscription_update" and proration["total"] == preview["net_amount"]

    scheduled = api.ok("POST", f"/subscriptions/{sub['id']}/change", {"quantity": 2, "when": "period_end"})
    assert scheduled["scheduled_change"] == {"plan": "pro", "quantity": 2, "effective_at": "2027-02-28T10:00:00Z"}
    ending = api.ok("POST", f"/subscriptions/{sub['id']}/cancel", {"at_period_end": True, "reason": "too expensive"})
    assert ending["cancel_at_period_end"] and ending["status"] == "active"
    assert not api.ok("POST", f"/subscriptions/{sub['id']}/reactivate")["cancel_at_period_end"]
    paused = api.ok("POST", f"/subscriptions/{sub['id']}/pause", {})
    assert paused["status"] == "paused"
    advance(utc(2027, 2, 10, 10))
    assert api.ok("POST", f"/subscriptions/{sub['id']}/resume")["status"] == "active"
    canceled = api.ok("POST", f"/subscriptions/{sub['id']}/cancel", {"prorate": True})
    assert canceled["status"] == "canceled" and canceled["ended_at"] == "2027-02-10T10:00:00Z"
    body = problem(api.post(f"/subscriptions/{sub['id']}/resume"), 422, "subscription_error")
    assert "not paused" in body["detail"]
    problem(api.get(f"/subscriptions/{sub['id']}/change_preview"), 422, "nothing_to_change")
    problem(api.post("/subscriptions/sub_999/cancel", {}), 404, "resource_missing")
    assert [s["id"] for s in api.ok("GET", "/subscriptions", {"status": "canceled"})["data"]] == [sub["id"]]
    assert api.ok("GET", "/subscriptions", {"customer": customer["id"], "status": "active"})["data"] == []


def test_invoices_are_paid_now_or_voided(api, clock):
    _plan(api)
    customer = _customer(api, card=FAILING_CARD)
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro"})
    assert sub["status"] == "incomplete"
    invoice = api.ok("GET", "/invoices", {"customer": customer["id"]})["data"][0]
    assert invoice["status"] == "open" and invoice["amount_due"] == 4990 and invoice["lines"][0]["amount"] == 4990
    problem(api.post(f"/invoices/{invoice['id']}/pay"), 402, "card_declined")
    card = api.ok("POST", f"/customers/{customer['id']}/payment_methods", {"token": GOOD_CARD})
    assert card["default"] and card["last4"] == "4242"
    if api.ok("GET", f"/invoices/{invoice['id']}")["status"] == "open":  # attaching a card may already retry it
        api.ok("POST", f"/invoices/{invoice['id']}/pay")
    paid = api.ok("GET", f"/invoices/{invoice['id']}")
    assert paid["status"] == "paid" and paid["amount_paid"] == 4990
    assert api.ok("GET", f"/subscriptions/{sub['id']}")["status"] == "active"
    problem(api.post(f"/invoices/{invoice['id']}/void"), 409, "illegal_transition")
    problem(api.get("/invoices/in_0"), 404, "resource_missing")


def test_an_open_invoice_can_be_voided(api, clock):
    _plan(api)
    customer = _customer(api, card=FAILING_CARD)
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro"})
    invoice = api.ok("GET", "/invoices", {"subscription": sub["id"]})["data"][0]
    voided = api.ok("POST", f"/invoices/{invoice['id']}/void")
    assert voided["status"] == "void" and voided["voided_at"] == "2027-01-31T10:00:00Z"
    problem(api.post(f"/invoices/{invoice['id']}/pay"), 422, "payment_error")


def test_payment_methods_are_attached_listed_and_detached(api, clock):
    customer = _customer(api, card=None)
    first = api.ok("POST", f"/customers/{customer['id']}/payment_methods", {"token": GOOD_CARD})
    second = api.ok("POST", f"/customers/{customer['id']}/payment_methods", {"token": "5555555555554444", "make_default": False})
    assert second["brand"] == "mastercard" and not second["default"]
    listed = api.ok("GET", f"/customers/{customer['id']}/payment_methods")["data"]
    assert [m["id"] for m in listed] == [first["id"], second["id"]]
    detached = api.ok("POST", f"/customers/{customer['id']}/payment_methods/{first['id']}/detach")
    assert detached["detached_at"] is not None and not detached["default"]
    assert [m["id"] for m in api.ok("GET", f"/customers/{customer['id']}/payment_methods")["data"]] == [second["id"]]
    problem(api.post(f"/customers/{customer['id']}/payment_methods", {"token": "1234"}), 402, "invalid_number")
    problem(api.post(f"/customers/{customer['id']}/payment_methods/pm_999/detach"), 404, "resource_missing")


def test_events_filter_by_type_customer_and_time(api, clock):
    _plan(api)
    customer = _customer(api)
    api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro"})
    types = [e["type"] for e in api.ok("GET", "/events", {"limit": 100})["data"]]
    assert "customer.created" in types and "subscription.created" in types and "invoice.paid" in types
    subs = api.ok("GET", "/events", {"type": "subscription.*", "customer": customer["id"], "limit": 100})["data"]
    assert subs and all(e["type"].startswith("subscription.") and e["customer"] == customer["id"] for e in subs)
    created = api.ok("GET", "/events", {"type": "subscription.created"})["data"][0]
    assert created["subject"]["id"].startswith("sub_") and created["occurred_at"] == "2027-01-31T10:00:00Z"
    assert api.ok("GET", f"/events/{created['id']}") == created
    assert api.ok("GET", "/events", {"created[gt]": "2027-01-31T10:00:00Z"})["data"] == []


def test_bad_bodies_are_problems_and_change_nothing(api, clock):
    before = Event.objects.count()
    problem(api.client.post("/api/v1/customers", "{not json", content_type="application/json"), 400, "invalid_json")
    problem(api.post("/customers", {"email": 42}), 422, "validation_error")
    problem(api.post("/customers", {"email": "a@example.com", "unknown": 1}), 422, "validation_error")
    problem(api.post("/subscriptions", {"customer": "cus_1", "plan": "pro", "quantity": 0}), 422, "validation_error")
    problem(api.post("/subscriptions", {"customer": "cus_404", "plan": "pro"}), 404, "resource_missing")
    assert Event.objects.count() == before


def test_problems_are_translated(api, clock):
    api.client.defaults["HTTP_ACCEPT_LANGUAGE"] = "pt-BR"
    body = problem(api.get("/subscriptions/sub_404"), 404, "resource_missing")
    assert body["detail"] == "nenhum(a) assinatura com o id 'sub_404'" and body["title"] == "Não encontrado"
    body = problem(api.post("/customers", {"email": "x"}), 422, "customer_error")
    assert "não é um endereço de e-mail válido" in body["detail"]


def test_the_fast_subscription_read_equals_the_orm_rendering(api, clock):
    from assina.subscriptions.api import SUBSCRIPTIONS, SubscriptionOut, render, render_many

    _plan(api, "pro", 5990)
    _plan(api, "seats", 990, kind="addon", pricing_model="per_unit")
    api.ok("POST", "/coupons", {"code": "ten", "duration": "forever", "percent_off": "10"})
    customer = _customer(api)
    sub = api.ok("POST", "/subscriptions", {"customer": customer["id"], "plan": "pro", "coupon": "ten",
                                            "addons": [{"plan": "seats", "quantity": 3}], "metadata": {"crm": "7"}})
    api.ok("POST", f"/subscriptions/{sub['id']}/change", {"quantity": 2, "when": "period_end"})
    pk = int(sub["id"].removeprefix("sub_"))
    fast = api.ok("GET", f"/subscriptions/{sub['id']}")  # rendered from fixed SQL, not re-validated
    orm = SubscriptionOut.model_validate(render_many([SUBSCRIPTIONS.get(pk=pk)])[0]).model_dump(mode="json")
    assert fast == orm and render(pk)["id"] == sub["id"]
    assert fast["scheduled_change"]["quantity"] == 2 and len(fast["items"]) == 2 and fast["metadata"] == {"crm": "7"}


def test_pausing_and_resuming_at_the_same_instant_never_answers_5xx(api, clock):
    # Found by bench/api_fuzz.py: the services try to bill the same period twice and the
    # database's unique constraint refuses it; the API answers a problem, nothing changes.
    _plan(api)
    sub = api.ok("POST", "/subscriptions", {"customer": _customer(api)["id"], "plan": "pro"})
    api.ok("POST", f"/subscriptions/{sub['id']}/pause", {})
    response = api.post(f"/subscriptions/{sub['id']}/resume")
    if response.status_code != 200:
        problem(response, 409, "conflict")
        assert api.ok("GET", f"/subscriptions/{sub['id']}")["status"] == "paused"


@pytest.mark.parametrize("moment", ["0001-01-01T00:09:09+08:36", "9999-12-31T23:59:59-01:00"])
def test_a_time_outside_the_years_utc_can_hold_is_a_422_not_a_500(api, clock, moment):
    response = api.get("/customers", {"created[gt]": moment})
    body = problem(response, 422, "validation_error")
    assert "9999" in str(body)
