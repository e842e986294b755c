"""Creating a customer together with their first card.

The card is checked with the gateway first, after the customer's details and before anything
is written: a declined card creates nothing. Then the customer, its event and the attached
card are written in one transaction. (``customers`` sits below ``payments``, so the card part
of a new customer lives here; without a card this is ``customers.services.create_customer``.)
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from assina.customers.models import Customer
from assina.customers.services import check_new_customer, insert_customer

from .services import attach_card_token, check_card


def create_customer(*, email: str, at: datetime, name: str = "", locale: str = "en", currency: str | None = None,
                    time_zone: str | None = None, country: str = "", tax_id: str = "", metadata: dict | None = None,
                    card: str | None = None) -> Customer:
    """Create a customer (and attach a card first, when given: a declined card creates nothing)."""
    new = check_new_customer(email=email, name=name, locale=locale, currency=currency, time_zone=time_zone,
                             country=country, tax_id=tax_id, metadata=metadata)
    attached = check_card(card, at) if card else None  # raises CardError before anything is written
    with transaction.atomic():
        customer = insert_customer(new, at)
        if attached:
            attach_card_token(customer, attached, at)
    return customer
