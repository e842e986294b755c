"""The CLI takes no card number with a real gateway: `assina customer create|card --card NUMBER`
exits 2 with the reason, before any call to the gateway (its address here has no server), and
nothing is written. The sandbox's test cards keep working without it."""

from __future__ import annotations

# The Stripe gateway at an address where nothing listens: a refusal must come before any call.
STRIPE = {"ASSINA_GATEWAY": "stripe", "ASSINA_STRIPE_API_KEY": "sk_test_nothing",
          "ASSINA_STRIPE_API_BASE": "http://127.0.0.1:9", "ASSINA_STRIPE_PUBLISHABLE_KEY": "pk_test_nothing"}


def test_card_numbers_are_refused_by_the_cli_with_a_real_gateway(assina):
    assina.ok("customer", "create", "--email", "ana@example.com")
    before = assina.db.snapshot()
    for args in (("customer", "card", "--customer", "ana@example.com", "--card", "4242424242424242"),
                 ("customer", "create", "--email", "bia@example.com", "--card", "4242424242424242")):
        message = assina.refused(*args, words=("card numbers are not accepted", "pm_"), env=STRIPE)
        assert "4242424242424242" not in message
    assert assina.db.snapshot() == before
    card = assina.ok("customer", "card", "--customer", "ana@example.com", "--card", "4242424242424242")  # sandbox
    assert card["payment_method"]["last4"] == "4242"
