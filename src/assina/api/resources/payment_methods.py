"""/customers/{id}/payment_methods: attach from a gateway token, list, detach."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.clock.services import now
from assina.customers.models import Customer
from assina.events.services import record
from assina.payments import services as payments
from assina.payments.models import PaymentMethod

from ..errors import ApiProblem
from ..pagination import object_pk, paginate
from ..schemas import ListQuery, Page, Timestamp
from .common import Input, ident, load
from .customers import load_customer

router = Router(tags=["payment methods"])
PREFIX = "pm_"


class PaymentMethodOut(Schema):
    id: str = Field(examples=["pm_1"])
    object: str = "payment_method"
    customer: str
    gateway: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    default: bool
    created_at: Timestamp
    detached_at: Timestamp | None


class AttachIn(Input):
    token: str = Field(min_length=1, max_length=128, description=(
        "the card as the gateway knows it: a token from its own payment form, or in the sandbox a test card number "
        "such as 4242424242424242"))
    exp_month: int | None = Field(None, ge=1, le=12)
    exp_year: int | None = Field(None, ge=2000, le=2200)
    make_default: bool = True


class MethodFilters(ListQuery):
    include_detached: bool = False


def method_out(m: PaymentMethod, default_id: int | None) -> dict:
    return {"id": ident(PREFIX, m.pk), "customer": ident("cus_", m.customer_id), "gateway": m.gateway, "brand": m.brand,
            "last4": m.last4, "exp_month": m.exp_month, "exp_year": m.exp_year, "default": m.pk == default_id,
            "created_at": m.created_at, "detached_at": m.detached_at}


@router.post("/{customer_id}/payment_methods", response={201: PaymentMethodOut}, summary="Attach a card from a gateway token")
def attach(request, customer_id: str, body: AttachIn):
    customer = load_customer(customer_id)
    method = payments.attach_card(customer, body.token, now(), exp_month=body.exp_month, exp_year=body.exp_year,
                                  make_default=body.make_default)
    customer.refresh_from_db(fields=["default_payment_method"])
    return Status(201, method_out(method, customer.default_payment_method_id))


@router.get("/{customer_id}/payment_methods", response=Page[PaymentMethodOut], summary="List a customer's cards")
def list_methods(request, customer_id: str, query: Query[MethodFilters]):
    customer = load_customer(customer_id)
    rows = PaymentMethod.objects.filter(customer=customer)
    if not query.include_detached:
        rows = rows.filter(detached_at__isnull=True)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c),
                    serialize=lambda m: method_out(m, customer.default_payment_method_id), ident=lambda m: ident(PREFIX, m.pk))


@router.post("/{customer_id}/payment_methods/{payment_method_id}/detach", response=PaymentMethodOut,
             summary="Detach a card", description="The card is no longer charged; invoices fall back to the default card.")
def detach(request, customer_id: str, payment_method_id: str):
    customer = load_customer(customer_id)
    method = load(PaymentMethod.objects.filter(customer=customer), PREFIX, payment_method_id, _("payment method"))
    service = getattr(payments, "detach_payment_method", None)
    if service is not None:
        service(method.pk, now())
    else:
        _detach(customer, method)
    method.refresh_from_db()
    customer.refresh_from_db(fields=["default_payment_method"])
    return method_out(method, customer.default_payment_method_id)


def _detach(customer: Customer, method: PaymentMethod) -> None:
    at = now()
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if method.detached_at is not None:
            raise ApiProblem(409, "payment_method_detached", _("this payment method is already detached"))
        method.detached_at = at
        method.save(update_fields=["detached_at"])
        Customer.objects.filter(pk=customer.pk, default_payment_method=method).update(default_payment_method=None)
        record("payment_method.detached", method, at, {"brand": method.brand, "last4": method.last4})
