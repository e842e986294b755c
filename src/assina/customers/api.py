"""/customers: create, list, get, update; export and erase personal data. Mounted by ``assina.api.main``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.api.ids import ident, load
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import Amount, Currency, Input, ListQuery, Metadata, Page, Timestamp
from assina.payments.new_customer import create_customer
from assina.privacy.erase import erase_customer
from assina.privacy.export import export_customer
from assina.time import now

from .models import Customer
from .services import update_customer

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
    customer = load_customer(customer_id)
    return customer_out(update_customer(customer.pk, body.model_dump(exclude_unset=True), at=now()))


class ErasureOut(Schema):
    customer: str = Field(examples=["cus_1"])
    erased_at: datetime
    already_erased: bool = Field(description="true when the customer had been erased before: nothing changed")
    cards_detached: int
    messages_erased: int
    events_scrubbed: int


@router.get("/{customer_id}/export", response=dict[str, Any], summary="Export a customer's personal data",
            description="Everything held about the customer (LGPD/GDPR): profile, subscriptions, invoices, cards "
                        "(brand and last 4 digits), payments, refunds, credit ledger, messages, marketing consent, "
                        "usage totals, events and the webhook deliveries of those events (as ids).")
def export(request, customer_id: str):
    return export_customer(load_customer(customer_id))


@router.post("/{customer_id}/erase", response=ErasureOut, summary="Erase a customer's personal data",
             description="Anonymises the customer: name, email, tax id, metadata, message bodies and personal data "
                         "in events are replaced and cards are detached at the gateway; invoices keep their numbers "
                         "and amounts. Refused (409) while a subscription can bill them or an invoice is open. "
                         "Idempotent: erasing again changes nothing.")
def erase(request, customer_id: str):
    return erase_customer(load_customer(customer_id).pk, now())
