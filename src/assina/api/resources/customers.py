"""/customers: create, list, get, update."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.clock.services import now
from assina.customers.models import Customer
from assina.customers.services import CustomerError, create_customer, normalize_locale
from assina.events.services import record

from ..pagination import object_pk, paginate
from ..schemas import Amount, Currency, ListQuery, Metadata, Page, Timestamp
from .common import Input, ident, load

router = Router(tags=["customers"])
PREFIX = "cus_"


class CustomerOut(Schema):
    id: str = Field(examples=["cus_1"])
    object: str = "customer"
    email: str
    name: str
    locale: str
    currency: Currency
    time_zone: str
    country: str
    tax_id: str
    metadata: dict
    credit_balance: Amount = Field(description="credit the business owes the customer, in minor units")
    default_payment_method: str | None
    created_at: Timestamp


class CustomerCreate(Input):
    email: str = Field(max_length=254, examples=["ana@example.com"])
    name: str = Field("", max_length=200)
    locale: str = Field("en", max_length=8, description="en or pt-BR")
    currency: Currency | None = None
    time_zone: str | None = Field(None, max_length=64, examples=["America/Sao_Paulo"])
    country: str = Field("", max_length=2)
    tax_id: str = Field("", max_length=64)
    metadata: Metadata = {}
    payment_method_token: str | None = Field(None, max_length=128, description=(
        "a gateway token to attach as the default payment method (sandbox: a test card number such as "
        "4242424242424242)"))


class CustomerUpdate(Input):
    email: str | None = Field(None, max_length=254)
    name: str | None = Field(None, max_length=200)
    locale: str | None = Field(None, max_length=8)
    time_zone: str | None = Field(None, max_length=64)
    country: str | None = Field(None, max_length=2)
    tax_id: str | None = Field(None, max_length=64)
    metadata: Metadata | None = None


class CustomerFilters(ListQuery):
    email: str | None = Field(None, max_length=254)


def customer_out(c: Customer) -> dict:
    return {"id": ident(PREFIX, c.pk), "email": c.email, "name": c.name, "locale": c.locale, "currency": c.currency,
            "time_zone": c.time_zone, "country": c.country, "tax_id": c.tax_id, "metadata": c.metadata,
            "credit_balance": c.credit_balance, "default_payment_method": ident("pm_", c.default_payment_method_id),
            "created_at": c.created_at}


def load_customer(customer_id: str, *, lock: bool = False) -> Customer:
    query = Customer.objects.select_for_update() if lock else Customer.objects.all()
    return load(query, PREFIX, customer_id, _("customer"))


@router.post("", response={201: CustomerOut}, summary="Create a customer")
def create(request, body: CustomerCreate):
    customer = create_customer(email=body.email, name=body.name, locale=body.locale, currency=body.currency,
                               time_zone=body.time_zone, country=body.country, tax_id=body.tax_id,
                               metadata=body.metadata, card=body.payment_method_token, at=now())
    return Status(201, customer_out(customer))


@router.get("", response=Page[CustomerOut], summary="List customers")
def list_customers(request, query: Query[CustomerFilters]):
    rows = Customer.objects.all()
    if query.email:
        rows = rows.filter(email__iexact=query.email)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c), serialize=customer_out,
                    ident=lambda c: ident(PREFIX, c.pk))


@router.get("/{customer_id}", response=CustomerOut, summary="Get a customer")
def get(request, customer_id: str):
    return customer_out(load_customer(customer_id))


@router.post("/{customer_id}", response=CustomerOut, summary="Update a customer")
def update(request, customer_id: str, body: CustomerUpdate):
    changes = body.model_dump(exclude_unset=True)
    return customer_out(update_customer(customer_id, changes))


def update_customer(customer_id: str, changes: dict) -> Customer:
    """Change a customer's contact and billing details (never the currency: its subscriptions bill in it)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if "email" in changes:
        changes["email"] = changes["email"].strip()
        try:
            validate_email(changes["email"])
        except ValidationError:
            raise CustomerError(_("%(email)s is not a valid email address") % {"email": repr(changes["email"])}) from None
    if "locale" in changes:
        changes["locale"] = normalize_locale(changes["locale"])
    if "time_zone" in changes:
        try:
            ZoneInfo(changes["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise CustomerError(_("unknown time zone %(zone)s") % {"zone": repr(changes["time_zone"])}) from None
    if "country" in changes:
        changes["country"] = changes["country"].upper()
    at = now()
    with transaction.atomic():
        customer = load_customer(customer_id, lock=True)
        if "email" in changes and Customer.objects.filter(email__iexact=changes["email"]).exclude(pk=customer.pk).exists():
            raise CustomerError(_("a customer with email %(email)s already exists") % {"email": changes["email"]})
        changed = {k: v for k, v in changes.items() if getattr(customer, k) != v}
        if changed:
            for field, value in changed.items():
                setattr(customer, field, value)
            customer.save(update_fields=list(changed))
            record("customer.updated", customer, at, {"changed": sorted(changed)})
    return customer
