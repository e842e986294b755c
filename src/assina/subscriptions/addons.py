"""Adding an add-on to a subscription or removing one, mid-period, with proration.

The same rule as a plan or quantity change (``changes``, Stripe's way): the unused part of the
period at the old total is credited and the rest of the period at the new total charged,
carried to the next invoice as pending items, or billed at once with ``invoice_now``
(``changes.bill_proration``). The lines read as a plan change's do. In a trial nothing is
billed: the next invoice bills the new items. The owner calls this through the API and CLI,
the customer through the portal (``portal.manage``, after the owner's portal settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from assina.catalog.models import Plan
from assina.catalog.services import CatalogError, get_plan
from assina.core.invoicing import draft_for_period
from assina.core.periods import Period
from assina.core.proration import prorate_change
from assina.core.states import SubscriptionStatus
from assina.events.services import record
from assina.payments.services import collect
from assina.time import now as clock_now

from . import store
from .changes import ChangePreview, _base_item, _check_changeable, _proration_line, bill_proration
from .models import Subscription, SubscriptionItem
from .services import SubscriptionError, get_subscription
from .terms import index_of_period_starting, terms_for

MAX_QUANTITY = 10**6  # the API's bound on a quantity


@dataclass(frozen=True)
class AddonChange:
    """An add-on change and what it bills now (empty lines in a trial)."""

    sub: Subscription
    addon: Plan
    quantity: int
    added: bool
    preview: ChangePreview


def _addon(sub: Subscription, plan_code: str) -> Plan:
    try:
        addon = get_plan(plan_code)
    except CatalogError:
        raise SubscriptionError(_("unknown add-on %(code)s") % {"code": repr(plan_code)}) from None
    if addon.kind != Plan.Kind.ADDON:
        raise SubscriptionError(_("%(code)s is a plan, not an add-on") % {"code": repr(plan_code)})
    return addon


def _check_addon_fits(sub: Subscription, addon: Plan) -> None:
    if not addon.active:
        raise SubscriptionError(_("add-on %(code)s is no longer offered") % {"code": repr(addon.code)})
    if addon.currency != sub.currency:
        raise SubscriptionError(_("currency mismatch: the subscription bills in %(currency)s, add-on %(addon)s in "
                                  "%(addon_currency)s") % {"currency": sub.currency, "addon": addon.code,
                                                          "addon_currency": addon.currency})
    if (addon.interval, addon.interval_count) != (sub.interval, sub.interval_count):
        raise SubscriptionError(_("add-on %(addon)s bills in another interval than this subscription")
                                % {"addon": repr(addon.code)})


def _check_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise SubscriptionError(_("an add-on quantity must be a whole number from 1 to %(max)s") % {"max": MAX_QUANTITY})
    return quantity


def _held_item(sub: Subscription, addon: Plan) -> SubscriptionItem | None:
    return sub.items.select_related("plan_version__plan").filter(plan_version__plan=addon).first()


def _proration(sub: Subscription, change, at: datetime) -> ChangePreview:
    """The proration of ``change`` (a function that changes the items of ``sub``), priced as a
    plan change is (``changes._proration_lines``); the items are changed when this returns.
    In a trial nothing is billed."""
    before = terms_for(sub)
    change()
    if sub.status == SubscriptionStatus.TRIALING.value:
        return ChangePreview(lines=(), proration=None, resets_period=False)
    after = terms_for(sub)
    index = index_of_period_starting(before, sub.current_period_start)
    period = Period(sub.current_period_start, sub.current_period_end)
    old, new = draft_for_period(before, index), draft_for_period(after, index)
    proration = prorate_change(old.prorated_total, new.prorated_total, period, at)
    quantity = _base_item(sub).quantity
    lines = (_proration_line("unused", sub.plan, quantity, old, proration.credit, at, period),
             _proration_line("remaining", sub.plan, quantity, new, proration.charge, at, period))
    return ChangePreview(lines=tuple(l for l in lines if l.amount), proration=proration, resets_period=False)


def _change(sub_id: int | str, plan_code: str, quantity: int | None, *, add: bool, invoice_now: bool,
            preview: bool) -> AddonChange:
    at = clock_now()
    attempts: list = []
    with transaction.atomic():
        sub = get_subscription(sub_id, lock=not preview)
        _check_changeable(sub)
        addon = _addon(sub, plan_code)
        item = _held_item(sub, addon)
        if add:
            quantity = _check_quantity(quantity)
            _check_addon_fits(sub, addon)
            if item is not None:
                raise SubscriptionError(_("add-on %(code)s is already on this subscription") % {"code": repr(addon.code)})

            def change():
                SubscriptionItem.objects.create(subscription=sub, plan_version=addon.current_version(), quantity=quantity)
        else:
            if item is None:
                raise SubscriptionError(_("add-on %(code)s is not on this subscription") % {"code": repr(addon.code)})
            quantity = item.quantity

            def change():
                item.delete()
        sid = transaction.savepoint()
        result = _proration(sub, change, at)
        if preview:
            # Priced on the changed items, then rolled back: a preview changes nothing.
            transaction.savepoint_rollback(sid)
        else:
            transaction.savepoint_commit(sid)
            if result.lines:
                attempts = bill_proration(sub, result.lines, invoice_now=invoice_now, at=at)
            store.save(sub, [])
            # "addon_quantity", not "quantity": readers of subscription.updated (the dashboard's
            # history, analytics.derive) take "plan"/"quantity" as the base plan's.
            record("subscription.updated", sub, at, {"addon_added" if add else "addon_removed": addon.code,
                                                     "addon_quantity": quantity, "proration": result.net,
                                                     "invoiced_now": bool(invoice_now and result.lines)})
    collect(attempts, at)
    return AddonChange(sub=sub, addon=addon, quantity=quantity, added=add, preview=result)


def preview_addon(sub_id: int | str, plan_code: str, quantity: int | None = 1, *, remove: bool = False) -> AddonChange:
    """What adding (or with ``remove``, removing) the add-on would bill now, changing nothing."""
    return _change(sub_id, plan_code, quantity, add=not remove, invoice_now=False, preview=True)


def add_addon(sub_id: int | str, plan_code: str, quantity: int = 1, *, invoice_now: bool = False) -> AddonChange:
    """Add ``quantity`` of the add-on now; the proration is carried to the next invoice, or
    billed at once with ``invoice_now``."""
    return _change(sub_id, plan_code, quantity, add=True, invoice_now=invoice_now, preview=False)


def remove_addon(sub_id: int | str, plan_code: str, *, invoice_now: bool = False) -> AddonChange:
    """Remove the add-on now; its unused time is credited (carried to the next invoice, or on
    an invoice now with ``invoice_now``: a net credit then goes to the credit balance)."""
    return _change(sub_id, plan_code, None, add=False, invoice_now=invoice_now, preview=False)
