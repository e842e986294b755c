"""Use cases of customers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.input_bounds import is_country_code
from assina.core.money import normalize_currency
from assina.core.shipping import normalize_address
from assina.db import insert_one
from assina.events.services import record

from . import queries
from .models import LOCALES, Customer

LOCALE_CODES = {code for code, _label in LOCALES}


class CustomerError(DomainError):
    pass


def check_country(country: str) -> str:
    """``country`` as given (already in capitals), if empty (not known) or an ISO 3166-1 alpha-2 code."""
    if country and not is_country_code(country):
        raise CustomerError(_("%(country)s is not an ISO 3166 country code (e.g. BR, PT, US)") % {"country": repr(country)})
    return country


def normalize_locale(locale: str) -> str:
    for code in LOCALE_CODES:
        if code.lower() == locale.replace("_", "-").lower():
            return code
    raise CustomerError(_("unsupported locale %(locale)s (use one of: %(locales)s)")
                        % {"locale": repr(locale), "locales": ", ".join(sorted(LOCALE_CODES))})


@dataclass(frozen=True)
class NewCustomer:
    """A new customer's details, checked and normalized (nothing written yet)."""

    email: str
    name: str
    locale: str
    currency: str
    time_zone: str
    country: str
    tax_id: str
    metadata: dict


def check_new_customer(*, email: str, name: str = "", locale: str = "en", currency: str | None = None,
                       time_zone: str | None = None, country: str = "", tax_id: str = "",
                       metadata: dict | None = None) -> NewCustomer:
    """Validate and normalize a new customer's details (a ``CustomerError`` for the first bad one;
    a taken email is refused too)."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise CustomerError(_("%(email)s is not a valid email address") % {"email": repr(email)}) from None
    locale = normalize_locale(locale)
    currency = normalize_currency(currency or settings.ASSINA_DEFAULT_CURRENCY)
    time_zone = time_zone or settings.TIME_ZONE
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise CustomerError(_("unknown time zone %(zone)s") % {"zone": repr(time_zone)}) from None
    country = check_country(country.upper()[:2])
    if queries.email_taken(email):
        raise CustomerError(_("a customer with email %(email)s already exists") % {"email": email})
    return NewCustomer(email=email, name=name, locale=locale, currency=currency, time_zone=time_zone,
                       country=country, tax_id=tax_id, metadata=metadata or {})


def insert_customer(new: NewCustomer, at: datetime) -> Customer:
    """Write a checked new customer and its ``customer.created`` event, in the caller's transaction."""
    customer = insert_one(Customer(email=new.email, name=new.name, locale=new.locale, currency=new.currency,
                                   time_zone=new.time_zone, country=new.country, tax_id=new.tax_id,
                                   metadata=new.metadata, created_at=at))
    record("customer.created", customer, at, {"email": new.email, "locale": new.locale, "currency": new.currency})
    return customer


def create_customer(*, email: str, at: datetime, name: str = "", locale: str = "en", currency: str | None = None,
                    time_zone: str | None = None, country: str = "", tax_id: str = "",
                    metadata: dict | None = None) -> Customer:
    """Create a customer without a payment method (with a card: ``payments.new_customer``)."""
    new = check_new_customer(email=email, name=name, locale=locale, currency=currency, time_zone=time_zone,
                             country=country, tax_id=tax_id, metadata=metadata)
    with transaction.atomic():
        return insert_customer(new, at)


# What an update may change: contact and billing details. Never the currency (its subscriptions
# and invoices bill in it) nor the credit balance (a ledger moves it).
UPDATABLE = ("email", "name", "locale", "time_zone", "country", "tax_id", "metadata")


def check_changes(changes: dict) -> dict:
    """Validate and normalize the fields of an update (None means "leave as it is"); a
    ``CustomerError`` for the first bad one. Forms call it to show the error beside the fields."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:  # a caller's mistake (the API's schema and the forms list the fields), not a customer's
        raise TypeError(f"customer fields that cannot be changed: {', '.join(unknown)}")
    clean = {k: v for k, v in changes.items() if v is not None}
    if "email" in clean:
        clean["email"] = str(clean["email"]).strip()
        try:
            validate_email(clean["email"])
        except ValidationError:
            raise CustomerError(_("%(email)s is not a valid email address") % {"email": repr(clean["email"])}) from None
    if "locale" in clean:
        clean["locale"] = normalize_locale(clean["locale"])
    if "time_zone" in clean:
        try:
            ZoneInfo(clean["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise CustomerError(_("unknown time zone %(zone)s") % {"zone": repr(clean["time_zone"])}) from None
    if "country" in clean:
        clean["country"] = check_country(clean["country"].strip().upper())
    if "metadata" in clean and not isinstance(clean["metadata"], dict):
        raise TypeError("metadata must be a dict")
    return clean


def update_customer(customer_id: int, changes: dict, *, at: datetime) -> Customer:
    """Change a customer's contact and billing details.

    Every value is checked before anything is written (a bad one changes nothing); the row is
    locked, and the ``customer.updated`` event (with the names of the changed fields) is written
    in the same transaction. Setting a field to its current value changes nothing and records
    no event.
    """
    clean = check_changes(changes)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None:
            raise CustomerError(_("unknown customer %(customer)s") % {"customer": repr(str(customer_id))})
        if "email" in clean and Customer.objects.filter(email__iexact=clean["email"]).exclude(pk=customer.pk).exists():
            raise CustomerError(_("a customer with email %(email)s already exists") % {"email": clean["email"]})
        changed = {k: v for k, v in clean.items() if getattr(customer, k) != v}
        if changed:
            for field, value in changed.items():
                setattr(customer, field, value)
            customer.save(update_fields=list(changed))
            record("customer.updated", customer, at, {"changed": sorted(changed)})
    return customer


def get_customer(email_or_id: str | int) -> Customer:
    value = str(email_or_id)
    # An id longer than 18 digits names no row (and would overflow the column's type).
    by_id = value.isascii() and value.isdigit() and len(value) <= 18
    query = Customer.objects.filter(pk=int(value)) if by_id else Customer.objects.filter(email__iexact=value)
    customer = query.select_related("default_payment_method").first()
    if customer is None:
        raise CustomerError(_("unknown customer %(customer)s") % {"customer": repr(value)})
    return customer


def erased_email(customer_id: int) -> str:
    """What an erased customer's email becomes: unique, and not an address (no ``@``), so no mail
    can ever be sent to it (the outbox marks such a message as an invalid recipient)."""
    return f"erased-customer-{customer_id}"


def erase_details(customer: Customer, at: datetime) -> dict[str, str]:
    """Replace a locked customer's personal details, in the caller's transaction. Returns the
    values replaced (name, email, tax id), which the caller also scrubs from other records.

    The shipping address is emptied. The currency, locale, time zone, country, credit balance and the money records stay: invoices
    keep their numbers and totals, and the country stays for the revenue reports."""
    before = {"email": customer.email, "name": customer.name, "tax_id": customer.tax_id}
    customer.email = erased_email(customer.pk)
    customer.name = ""
    customer.tax_id = ""
    customer.metadata = {}
    customer.shipping_address = {}
    customer.erased_at = at
    customer.save(update_fields=["email", "name", "tax_id", "metadata", "shipping_address", "erased_at"])
    return before


def set_shipping_address(customer_id: int, data: dict, at: datetime) -> Customer:
    """Validate and save where a plan that ships goods delivers (``core.shipping``). The same
    address again changes nothing and records nothing (a resubmitted form)."""
    address = normalize_address(data)
    with transaction.atomic():
        customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
        if customer is None or customer.erased_at is not None:
            raise CustomerError(_("unknown customer %(id)s") % {"id": repr(customer_id)})
        if customer.shipping_address == address:
            return customer
        had = bool(customer.shipping_address)
        customer.shipping_address = address
        customer.save(update_fields=["shipping_address"])
        record("customer.shipping_address_updated", customer, at,
               {"country": address["country"], "first": not had})  # no street or postal code in the log
    return customer
