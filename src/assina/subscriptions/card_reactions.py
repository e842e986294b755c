"""Subscriptions follow their customer's cards (``payments.events``: a card detached or
replaced). A subscription that named its own card must not keep charging a removed one: it
falls back to the customer's default, or moves to the card that replaced it.

These are the only subscription writes that bypass ``store``: one UPDATE for every
subscription that named the card, of ``payment_method`` alone, which the next action time
does not depend on."""

from __future__ import annotations

from assina.dispatch import on
from assina.payments.events import CardDetached, CardReplaced

from .models import Subscription


def card_detached(fact: CardDetached) -> None:
    Subscription.objects.filter(payment_method_id=fact.method_id).update(payment_method=None)


def card_replaced(fact: CardReplaced) -> None:
    Subscription.objects.filter(payment_method_id=fact.old_method_id).update(payment_method_id=fact.new_method_id)


def register() -> None:
    on(CardDetached, card_detached)
    on(CardReplaced, card_replaced)
