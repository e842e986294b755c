"""/customers/{id}/payment_methods: attach from a gateway token, list, detach. Mounted by
``assina.api.main`` under /customers.

The operation ids keep the ``payment_methods_`` prefix that clients generated code from (the
routes lived in a module of that name before they moved into this app)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.api.ids import ident, load
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import Input, ListQuery, Page, Timestamp
from assina.customers.api import load_customer
from assina.time import now

from . import methods
from . import services as payments
from .models import PaymentMethod

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
    payment_method: str | None = Field(None, min_length=1, max_length=128, examples=["pm_1QxYz..."], description=(
        "the payment method id the gateway's own fields gave (Stripe.js: a SetupIntent or createPaymentMethod). "
        "Assina never takes a card number in live mode; the sandbox gateway also takes its test card numbers "
        "such as 4242424242424242"))
    token: str | None = Field(None, min_length=1, max_length=128, json_schema_extra={"deprecated": True},
                              description="the former name of payment_method (give one of the two)")
    exp_month: int | None = Field(None, ge=1, le=12, description="sandbox test card numbers only")
    exp_year: int | None = Field(None, ge=2000, le=2200, description="sandbox test card numbers only")
    make_default: bool = True


class MethodFilters(ListQuery):
    include_detached: bool = False


def method_out(m: PaymentMethod, default_id: int | None) -> dict:
    return {"id": ident(PREFIX, m.pk), "customer": ident("cus_", m.customer_id), "gateway": m.gateway, "brand": m.brand,
            "last4": m.last4, "exp_month": m.exp_month, "exp_year": m.exp_year, "default": m.pk == default_id,
            "created_at": m.created_at, "detached_at": m.detached_at}


@router.post("/{customer_id}/payment_methods", response={201: PaymentMethodOut}, summary="Attach a card from the gateway's payment method id",
             operation_id="payment_methods_attach")
def attach(request, customer_id: str, body: AttachIn):
    customer = load_customer(customer_id)
    if (body.payment_method is None) == (body.token is None):
        raise payments.PaymentError(_("give payment_method: the payment method id from the gateway (pm_…)"))
    # A card number is refused here in live mode (card_number_refused), before any gateway call.
    method = payments.attach_card(customer, body.payment_method or body.token, now(), exp_month=body.exp_month,
                                  exp_year=body.exp_year, make_default=body.make_default)
    customer.refresh_from_db(fields=["default_payment_method"])
    return Status(201, method_out(method, customer.default_payment_method_id))


@router.get("/{customer_id}/payment_methods", response=Page[PaymentMethodOut], summary="List a customer's cards",
            operation_id="payment_methods_list_methods")
def list_methods(request, customer_id: str, query: Query[MethodFilters]):
    customer = load_customer(customer_id)
    rows = PaymentMethod.objects.filter(customer=customer)
    if not query.include_detached:
        rows = rows.filter(detached_at__isnull=True)
    return paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c),
                    serialize=lambda m: method_out(m, customer.default_payment_method_id), ident=lambda m: ident(PREFIX, m.pk))


@router.post("/{customer_id}/payment_methods/{payment_method_id}/detach", response=PaymentMethodOut,
             summary="Detach a card", operation_id="payment_methods_detach", description=(
                 "The card is no longer charged: subscriptions that used it fall back to the customer's default card; "
                 "when it was the default, the newest remaining card becomes the default. Detaching it again: 409."))
def detach(request, customer_id: str, payment_method_id: str):
    customer = load_customer(customer_id)
    method = load(PaymentMethod.objects.filter(customer=customer), PREFIX, payment_method_id, _("payment method"))
    method = methods.remove(customer, method.pk, now())  # already detached: 409 payment_method_detached
    customer.refresh_from_db(fields=["default_payment_method"])
    return method_out(method, customer.default_payment_method_id)
