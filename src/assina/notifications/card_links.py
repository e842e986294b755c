"""The card-update link in messages: narrow, short-lived, spent once used.

The signed value is ``<customer id>.<newest payment method id of the customer, 0 if none>``:
attaching any card to the customer (through this link or any other way) makes a newer payment
method, so every card link sent before stops working; no table of spent links is needed. A
link lives at most ``CARD_MAX_AGE`` (7 days) and one dated in the future is refused.

Signing goes through ``links`` (its key and salts); this module adds what makes the card link
narrow.
"""

from __future__ import annotations

from django.db.models import Max

from assina.payments.models import PaymentMethod

from . import links

CARD_MAX_AGE = 7 * 86400


def card_state(customer_id: int) -> int:
    """The newest payment method ever attached to the customer (0 when none)."""
    return PaymentMethod.objects.filter(customer_id=customer_id).aggregate(newest=Max("pk"))["newest"] or 0


def update_card_url(customer_id: int) -> str:
    return links.url(f"card/{links._sign(links.CARD_SALT, f'{customer_id}.{card_state(customer_id)}')}/")


def card_customer(token: str) -> int | None:
    """The customer a card link is for, or None when it is forged, older than 7 days, dated in
    the future, or spent (a card was attached since it was made)."""
    value = links._unsign(links.CARD_SALT, token, CARD_MAX_AGE)  # None when forged, too old or dated ahead
    customer, _sep, state = (value or "").partition(".")
    if not customer.isdigit() or not state.isdigit():
        return None  # an older link without the card state
    customer_id = int(customer)
    return customer_id if card_state(customer_id) == int(state) else None

