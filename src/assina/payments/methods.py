"""A customer's payment methods: add, replace, remove, choose the default.

A card comes as the gateway's payment method id: from a SetupIntent the customer's browser
confirmed in the gateway's own fields (``start_setup``/``finish_setup``), or a ``pm_...`` an API
client got from the gateway. Only the sandbox gateway takes card numbers, its test cards.

Adding a card, replacing one or choosing another default retries the customer's open
invoices at once (``services.retry_open_invoices``): the customer who fixes their card is
charged now rather than at the next scheduled retry. A method is always checked to belong to
the customer it is used for.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from assina.customers.models import Customer
from assina.dispatch import publish
from assina.events.services import record

from .events import CardDetached, CardReplaced
from .gateway import AttachedCard, CardSetup
from .gateways import get_gateway
from .models import PaymentMethod
from .services import (
    PaymentError,
    attach_card,
    attach_card_token,
    check_card,
    looks_like_card_number,
    remote_customer,
    retry_open_invoices,
)


class PaymentMethodDetached(PaymentError):
    """The card was already removed: nothing to do again (the API answers 409)."""

    code = "payment_method_detached"
    status = 409


def method_of(customer: Customer, method_id: int | str, *, detached_ok: bool = False) -> PaymentMethod:
    """The customer's attached method ``method_id`` (``pm_12`` or ``12``), else a clear error
    (a removed one only with ``detached_ok``)."""
    value = str(method_id).removeprefix("pm_")
    method = PaymentMethod.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if method is None:
        raise PaymentError(_("unknown payment method %(method)s") % {"method": repr(str(method_id))})
    if method.customer_id != customer.pk:
        raise PaymentError(_("payment method %(method)s belongs to another customer") % {"method": f"pm_{method.pk}"})
    if method.detached_at is not None and not detached_ok:
        raise _already_detached(method)
    return method


def add_card(customer: Customer, card: str, at: datetime, *, exp_month: int | None = None, exp_year: int | None = None,
             make_default: bool = True) -> PaymentMethod:
    """A payment method id, or a sandbox test card number (refused in live mode: ``services.check_card``)."""
    return attach_card(customer, card, at, exp_month=exp_month, exp_year=exp_year, make_default=make_default)


def add_token(customer: Customer, token: str, at: datetime, *, make_default: bool = True) -> PaymentMethod:
    """Attach a card the gateway's own fields tokenized (``pm_...``); an unknown token is refused."""
    if looks_like_card_number(token.strip()):
        return add_card(customer, token, at, make_default=make_default)  # refused unless a sandbox test card
    attached = get_gateway().retrieve_card(token.strip())
    return _keep(customer, attached, at, make_default)


def _keep(customer: Customer, attached: AttachedCard, at: datetime, make_default: bool) -> PaymentMethod:
    with transaction.atomic():
        method = attach_card_token(customer, attached, at, make_default)
    retry_open_invoices(customer.pk, at, method=method if make_default else None)
    return method


def start_setup(customer: Customer) -> CardSetup:
    """Begin adding a card through the gateway's own fields (a Stripe SetupIntent for this
    customer's account at the gateway); the browser confirms it with ``client_secret``."""
    gateway = get_gateway()
    if not getattr(gateway, "collects_in_browser", False):
        raise PaymentError(_("the %(gateway)s gateway does not collect cards in the browser") % {"gateway": gateway.name})
    return gateway.start_card_setup(remote_customer(customer), str(customer.pk))


def finish_setup(customer: Customer, setup_id: str, at: datetime) -> PaymentMethod:
    """Keep the card of a setup the customer's browser confirmed, once the gateway itself says it
    succeeded for this customer (the browser's word is not taken), as the default card; open
    invoices are retried with it. The same setup cannot be kept twice (its card is known then)."""
    gateway = get_gateway()
    if not getattr(gateway, "collects_in_browser", False):
        raise PaymentError(_("the %(gateway)s gateway does not collect cards in the browser") % {"gateway": gateway.name})
    attached = gateway.finish_card_setup(setup_id.strip(), remote_customer(customer), str(customer.pk))
    return _keep(customer, attached, at, True)


def set_default(customer: Customer, method_id: int | str, at: datetime) -> PaymentMethod:
    with transaction.atomic():
        method = method_of(customer, method_id)
        Customer.objects.filter(pk=customer.pk).update(default_payment_method=method)
        customer.default_payment_method = method
        record("payment_method.default_changed", method, at, {"brand": method.brand, "last4": method.last4})
    retry_open_invoices(customer.pk, at, method=method)
    return method


def remove(customer: Customer, method_id: int | str, at: datetime) -> PaymentMethod:
    """Detach a card. The default moves to the newest remaining card (or none); subscriptions
    that used it fall back to the customer's default. A card already removed is refused
    (``PaymentMethodDetached``), also when two requests race: the second one changes nothing
    and records no second event."""
    method = method_of(customer, method_id, detached_ok=True)
    if method.detached_at is not None:
        raise _already_detached(method)
    get_gateway().detach_card(method.token)  # the gateway forgets it; detaching twice there is harmless
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if method.detached_at is not None:  # another request detached it meanwhile
            raise _already_detached(method)
        method.detached_at = at
        method.save(update_fields=["detached_at"])
        publish(CardDetached(method.pk))  # subscriptions that used it fall back to the customer's default
        if Customer.objects.filter(pk=customer.pk, default_payment_method=method).exists():
            replacement = (PaymentMethod.objects.filter(customer=customer, detached_at__isnull=True)
                           .exclude(pk=method.pk).order_by("-created_at", "-pk").first())
            Customer.objects.filter(pk=customer.pk).update(default_payment_method=replacement)
            customer.default_payment_method = replacement
        record("payment_method.detached", method, at, {"brand": method.brand, "last4": method.last4})
    return method


def _already_detached(method: PaymentMethod) -> PaymentMethodDetached:
    return PaymentMethodDetached(_("payment method %(method)s was removed") % {"method": f"pm_{method.pk}"})


def replace(customer: Customer, old_id: int | str, at: datetime, *, number: str | None = None, token: str | None = None,
            exp_month: int | None = None, exp_year: int | None = None) -> PaymentMethod:
    """A new card takes the place of ``old_id`` (as default, and on the subscriptions that used
    it); the old one is removed. Open invoices are retried with the new card."""
    old = method_of(customer, old_id)
    if not number and not token:
        raise PaymentError(_("give the new card: a card number or a gateway token"))
    # A number is a sandbox test card or refused (check_card); a token is the gateway's.
    attached = check_card(token or number or "", at, exp_month=exp_month, exp_year=exp_year)
    with transaction.atomic():
        new = attach_card_token(customer, attached, at, make_default=True)
        publish(CardReplaced(old.pk, new.pk))  # subscriptions that used the old card use the new one
        record("payment_method.replaced", new, at, {"replaced": old.pk, "brand": new.brand, "last4": new.last4})
    remove(customer, old.pk, at)
    retry_open_invoices(customer.pk, at, method=new)
    return new


def methods_json(customer: Customer) -> list[dict]:
    default_id = Customer.objects.filter(pk=customer.pk).values_list("default_payment_method_id", flat=True).first()
    return [method_json(m, default_id) for m in PaymentMethod.objects.filter(customer=customer).order_by("pk")]


def method_json(method: PaymentMethod, default_id: int | None = None) -> dict:
    return {"id": f"pm_{method.pk}", "brand": method.brand, "last4": method.last4, "exp_month": method.exp_month,
            "exp_year": method.exp_year, "gateway": method.gateway, "default": method.pk == default_id,
            "removed": method.detached_at is not None}
