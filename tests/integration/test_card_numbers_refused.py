"""No card number reaches Assina in live mode: the API takes the gateway's payment method ids and
refuses a number with a clear, translated problem before any gateway call; the sandbox gateway
alone takes its test card numbers, and never in live mode."""

from __future__ import annotations

import pytest
from api_support import ApiClient, api, problem  # noqa: F401 - api is a fixture
from django.test import override_settings
from factories import GOOD_CARD, make_customer, start_clock, utc

from assina.customers.models import Customer
from assina.payments.methods import add_card, replace
from assina.payments.models import GatewayCustomer, PaymentMethod
from assina.payments.services import CardNumberRefused, check_card
from assina.time import now

# The Stripe gateway with an address nothing listens on: a refusal must come before any call.
STRIPE = {"ASSINA_GATEWAY": "stripe", "ASSINA_STRIPE_API_KEY": "sk_test_nothing", "ASSINA_STRIPE_API_BASE":
          "http://127.0.0.1:9", "ASSINA_STRIPE_PUBLISHABLE_KEY": "pk_test_nothing"}
NUMBERS = (GOOD_CARD, "4242 4242 4242 4242", "5105-1051-0510-5100", "4000000000000341")


@pytest.fixture
def clock():
    return start_clock(utc(2027, 1, 31, 10))


def test_the_api_refuses_card_numbers_with_a_real_gateway_in_english_and_portuguese(api, clock):
    customer = api.ok("POST", "/customers", {"email": "ana@example.com"})
    portuguese = ApiClient(api.secret, language="pt-BR")
    with override_settings(**STRIPE):
        for number in NUMBERS:
            for field in ("payment_method", "token"):
                body = problem(api.post(f"/customers/{customer['id']}/payment_methods", {field: number}), 400,
                               "card_number_refused")
                assert "payment method id" in body["detail"] and number not in body["detail"]
        body = problem(portuguese.post(f"/customers/{customer['id']}/payment_methods", {"payment_method": GOOD_CARD}),
                       400, "card_number_refused")
        assert "números de cartão não são aceitos" in body["detail"]
        problem(api.post("/customers", {"email": "bia@example.com", "payment_method_token": GOOD_CARD}), 400,
                "card_number_refused")
    assert not Customer.objects.filter(email="bia@example.com").exists()
    assert not PaymentMethod.objects.exists() and not GatewayCustomer.objects.exists()


def test_the_api_takes_payment_method_and_its_former_name_token(api, clock):
    customer = api.ok("POST", "/customers", {"email": "ana@example.com"})
    path = f"/customers/{customer['id']}/payment_methods"
    first = api.ok("POST", path, {"payment_method": GOOD_CARD})  # a sandbox test card
    second = api.ok("POST", path, {"token": "5555555555554444", "make_default": False})
    assert (first["last4"], first["default"], second["last4"]) == ("4242", True, "4444")
    problem(api.post(path, {"payment_method": GOOD_CARD, "token": GOOD_CARD}), 422, "payment_error")
    problem(api.post(path, {}), 422, "payment_error")
    problem(api.post(path, {"payment_method": "pm_unknown"}), 402, "invalid_payment_method")


def test_live_mode_refuses_card_numbers_even_with_the_sandbox_gateway(db, clock):
    customer = make_customer(card=None)
    with override_settings(ASSINA_MODE="live"):
        for number in NUMBERS:
            with pytest.raises(CardNumberRefused):
                check_card(number, now())
            with pytest.raises(CardNumberRefused):
                add_card(customer, number, now())
    sandbox = add_card(customer, GOOD_CARD, now())  # outside live mode, its test cards still work
    with override_settings(ASSINA_MODE="live"), pytest.raises(CardNumberRefused):
        replace(customer, sandbox.pk, now(), number="5555555555554444")
    assert list(PaymentMethod.objects.filter(customer=customer)) == [sandbox]


def test_the_admin_takes_no_card_number_in_live_mode(admin_client, clock):
    add = "/admin/customers/customer/add/"
    assert 'name="card"' in admin_client.get(add).content.decode()  # the sandbox's test card field
    form = {"email": "carla@example.com", "name": "Carla", "locale": "en", "currency": "BRL", "time_zone": "UTC",
            "country": "", "tax_id": "", "card": GOOD_CARD}
    with override_settings(ASSINA_MODE="live"):
        assert 'name="card"' not in admin_client.get(add).content.decode()
        assert admin_client.post(add, form).status_code == 302
    carla = Customer.objects.get(email="carla@example.com")
    assert carla.default_payment_method is None and not PaymentMethod.objects.exists()
    # Cards are never typed into the admin: its payment method pages have no add form.
    assert admin_client.get("/admin/payments/paymentmethod/add/").status_code == 403
