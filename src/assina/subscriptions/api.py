"""/subscriptions: create, list, get, change (with a proration preview), add-ons (add, remove),
cancel, reactivate, pause, resume, discount (put on from the next invoice, or removed). Mounted by ``assina.api.main``.

``GET /subscriptions/{id}`` is the hot read path: what a developer's site calls on every page
view to decide what a customer may use, so it must serve well over a thousand requests a second
on a small machine. Its answer is ``queries.subscription_dict``, one fixed statement (compared
with its ORM twin by ``tests/integration/test_queries.py``), rendered without re-validation.
"""

from __future__ import annotations

from typing import Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status

from assina.api.errors import ApiProblem, not_found
from assina.api.ids import ident, load
from assina.api.pagination import object_pk, paginate
from assina.api.renderers import render_json
from assina.api.schemas import Amount, Currency, Input, ListQuery, Metadata, Page, Timestamp
from assina.core.states import SubscriptionStatus
from assina.customers.api import load_customer

from . import addons, changes, discounts, services
from .models import Subscription
from .queries import ITEMS, SUBSCRIPTIONS, subscription_dict, subscription_dicts_orm

router = Router(tags=["subscriptions"])
PREFIX = "sub_"
StatusName = Literal[tuple(s.value for s in SubscriptionStatus)]  # type: ignore[misc]
PlanCode = Field(min_length=1, max_length=64)


class ItemOut(Schema):
    plan: str
    kind: Literal["base", "addon"]
    version: int
    quantity: int
    unit_amount: Amount
    currency: Currency


class ScheduledChangeOut(Schema):
    plan: str
    quantity: int
    effective_at: Timestamp


class SubscriptionOut(Schema):
    id: str = Field(examples=["sub_1"])
    object: str = "subscription"
    customer: str
    plan: str
    status: StatusName
    currency: Currency
    interval: Literal["day", "week", "month", "year"]
    interval_count: int
    items: list[ItemOut]
    started_at: Timestamp
    current_period_start: Timestamp
    current_period_end: Timestamp
    trial_end: Timestamp | None
    cancel_at_period_end: bool
    canceled_at: Timestamp | None
    cancel_reason: str
    ended_at: Timestamp | None
    paused_at: Timestamp | None
    resumes_at: Timestamp | None
    coupon: str | None
    discount_until: Timestamp | None
    scheduled_change: ScheduledChangeOut | None
    metadata: dict
    created_at: Timestamp


class AddonIn(Input):
    plan: str = PlanCode
    quantity: int = Field(1, ge=1, le=10**6)


class SubscriptionCreate(Input):
    customer: str = Field(max_length=40, examples=["cus_1"])
    plan: str = PlanCode
    quantity: int = Field(1, ge=1, le=10**6)
    coupon: str | None = Field(None, min_length=1, max_length=64, description="a coupon or promotion code")
    addons: list[AddonIn] = Field([], max_length=20)
    trial_days: int | None = Field(None, ge=0, le=730, description="overrides the plan's trial")
    start: Timestamp | None = Field(None, description="backdate the start (not after now)")
    metadata: Metadata = {}


class ChangeIn(Input):
    plan: str | None = Field(None, min_length=1, max_length=64)
    quantity: int | None = Field(None, ge=1, le=10**6)
    when: Literal["now", "period_end"] = Field("now", description="now (prorated) or at the end of the current period")
    invoice_now: bool = Field(False, description="with when=now: bill the proration at once instead of on the next invoice")


class AddonAddIn(Input):
    plan: str = PlanCode
    quantity: int = Field(1, ge=1, le=10**6)
    invoice_now: bool = Field(False, description="bill the proration at once instead of on the next invoice")


class CancelIn(Input):
    at_period_end: bool = Field(False, description="keep access until the paid period ends (reactivate undoes it)")
    prorate: bool = Field(False, description="when canceling now: credit the unused part of the period")
    reason: str = Field("", max_length=200)


class PauseIn(Input):
    resumes_at: Timestamp | None = Field(None, description="resume automatically then (else: until resumed)")


class DiscountIn(Input):
    percent_off: str | None = Field(None, pattern=r"^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$",
                                    description="percentage off (more than 0, at most 100), e.g. \"20\" or \"12.5\"")
    amount_off: int | None = Field(None, ge=1, le=10**12, description="amount off in minor units of the subscription's currency")
    periods: int | None = Field(None, ge=1, le=120, description="for this many periods from the next invoice (absent: forever)")
    coupon: str | None = Field(None, min_length=1, max_length=64, description="a catalog coupon or promotion code instead "
                                                                              "(its own duration applies)")


class PreviewLine(Schema):
    description: str
    amount: Amount
    period_start: Timestamp | None
    period_end: Timestamp | None


class ChangePreviewOut(Schema):
    object: str = "change_preview"
    subscription: str
    plan: str
    quantity: int
    currency: Currency
    lines: list[PreviewLine]
    net_amount: Amount = Field(description="charge (positive) or credit (negative) an immediate change would bill")
    credit: Amount
    charge: Amount
    resets_period: bool = Field(description="an interval change starts a new period now and bills it at once")


class SubscriptionFilters(ListQuery):
    customer: str | None = Field(None, max_length=40)
    status: StatusName | None = None
    plan: str | None = Field(None, max_length=64)


def render(sub_id: int) -> dict:
    """One subscription as the API shows it (the fast path, ``subscription_dict``)."""
    found = subscription_dict(sub_id)
    if found is None:
        raise Subscription.DoesNotExist
    return found


def render_many(subs: list[Subscription]) -> list[dict]:
    """A page of subscriptions as the API shows them (through the ORM: the page is loaded already)."""
    return subscription_dicts_orm(subs)


def _pk(subscription_id: str) -> int:
    return load(Subscription.objects.only("pk"), PREFIX, subscription_id, _("subscription")).pk


@router.post("", response={201: SubscriptionOut}, summary="Subscribe a customer to a plan",
             description="Without a trial the first period is invoiced and charged at once; a declined first "
                         "payment leaves the subscription `incomplete`.")
def create(request, body: SubscriptionCreate):
    customer = load_customer(body.customer)
    sub = services.create_subscription(customer=customer, plan_code=body.plan, quantity=body.quantity,
                                       coupon_code=body.coupon, addons=[(a.plan, a.quantity) for a in body.addons],
                                       trial_days=body.trial_days, start=body.start, metadata=body.metadata)
    return Status(201, render(sub.pk))


@router.get("", response=Page[SubscriptionOut], summary="List subscriptions")
def list_subscriptions(request, query: Query[SubscriptionFilters]):
    rows = SUBSCRIPTIONS
    if query.customer:
        rows = rows.filter(customer_id=load_customer(query.customer).pk)
    if query.status:
        rows = rows.filter(status=query.status)
    if query.plan:
        rows = rows.filter(plan__code=query.plan)
    page = paginate(rows, query, cursor_pk=lambda c: object_pk(PREFIX, c), serialize=lambda s: s,
                    ident=lambda s: ident(PREFIX, s.pk))
    page["data"] = render_many(page["data"])
    return page


@router.get("/{subscription_id}", response=SubscriptionOut, summary="Get a subscription")
def get(request, subscription_id: str):
    pk = object_pk(PREFIX, subscription_id)
    found = subscription_dict(pk) if pk is not None else None
    if found is None:
        raise not_found(_("subscription"), subscription_id)
    # The hottest read: rendered here, without re-validating what the fixed SQL built (a third
    # of the request's CPU). The schema still documents it; the tests check the two agree.
    return HttpResponse(render_json(found), content_type="application/json; charset=utf-8")


@router.get("/{subscription_id}/change_preview", response=ChangePreviewOut, summary="Preview a plan or quantity change",
            description="What an immediate change would bill (the proration), without changing anything.")
def change_preview(request, subscription_id: str, plan: str | None = Query(None, max_length=64),
                   quantity: int | None = Query(None, ge=1, le=10**6)):
    pk = _pk(subscription_id)
    if plan is None and quantity is None:
        raise ApiProblem(422, "nothing_to_change", _("say what to change: plan and/or quantity"))
    preview = changes.preview_change(pk, plan_code=plan, quantity=quantity)
    sub = SUBSCRIPTIONS.get(pk=pk)
    target_quantity = quantity if quantity is not None else ITEMS.filter(
        subscription_id=pk, plan_version__plan__kind="base").values_list("quantity", flat=True).first()
    return {"subscription": ident(PREFIX, pk), "plan": plan or sub.plan.code, "quantity": target_quantity,
            "currency": sub.currency,
            "lines": [{"description": l.description, "amount": l.amount, "period_start": l.period_start,
                       "period_end": l.period_end} for l in preview.lines],
            "net_amount": preview.net, "credit": -abs(preview.proration.credit) if preview.proration else 0,
            "charge": preview.proration.charge if preview.proration else 0, "resets_period": preview.resets_period}


@router.post("/{subscription_id}/change", response=SubscriptionOut, summary="Change plan or quantity")
def change(request, subscription_id: str, body: ChangeIn):
    pk = _pk(subscription_id)
    if body.plan is None and body.quantity is None:
        raise ApiProblem(422, "nothing_to_change", _("say what to change: plan and/or quantity"))
    changes.change_subscription(pk, plan_code=body.plan, quantity=body.quantity, at_period_end=body.when == "period_end",
                                invoice_now=body.invoice_now)
    return render(pk)


@router.post("/{subscription_id}/addons", response=SubscriptionOut, summary="Add an add-on now (prorated)",
             description="Prorated like a quantity change: the unused part of the period at the old total is "
                         "credited and the rest at the new total charged, on the next invoice (or at once with "
                         "`invoice_now`). In a trial nothing is billed now.")
def add_addon(request, subscription_id: str, body: AddonAddIn):
    pk = _pk(subscription_id)
    addons.add_addon(pk, body.plan, body.quantity, invoice_now=body.invoice_now)
    return render(pk)


@router.delete("/{subscription_id}/addons/{plan}", response=SubscriptionOut, summary="Remove an add-on now (prorated)",
               description="The add-on's unused time is credited on the next invoice (or at once with `invoice_now`; "
                           "a net credit goes to the customer's credit balance).")
def remove_addon(request, subscription_id: str, plan: str = Path(..., min_length=1, max_length=64),
                 invoice_now: bool = Query(False)):
    pk = _pk(subscription_id)
    addons.remove_addon(pk, plan, invoice_now=invoice_now)
    return render(pk)


@router.post("/{subscription_id}/cancel", response=SubscriptionOut, summary="Cancel now or at period end")
def cancel(request, subscription_id: str, body: CancelIn):
    pk = _pk(subscription_id)
    if body.at_period_end:
        if body.prorate:
            raise ApiProblem(422, "prorate_needs_cancel_now",
                             _("prorate only applies when canceling now (a cancellation at period end has no unused time)"))
        services.cancel_at_period_end(pk, reason=body.reason)
    else:
        services.cancel_now(pk, prorate=body.prorate, reason=body.reason)
    return render(pk)


@router.post("/{subscription_id}/reactivate", response=SubscriptionOut, summary="Undo a cancellation at period end")
def reactivate(request, subscription_id: str):
    pk = _pk(subscription_id)
    services.reactivate(pk)
    return render(pk)


@router.post("/{subscription_id}/pause", response=SubscriptionOut, summary="Pause billing")
def pause(request, subscription_id: str, body: PauseIn):
    pk = _pk(subscription_id)
    services.pause(pk, resumes_at=body.resumes_at)
    return render(pk)


@router.post("/{subscription_id}/resume", response=SubscriptionOut, summary="Resume a paused subscription")
def resume(request, subscription_id: str):
    pk = _pk(subscription_id)
    services.resume(pk)
    return render(pk)


@router.post("/{subscription_id}/discount", response=SubscriptionOut, summary="Put a discount on a live subscription",
             description="From the next invoice (the next period start) for `periods` periods or forever, replacing "
                         "any discount it has: a `percent_off` or `amount_off`, or a catalog `coupon`. The current "
                         "period is not billed again and nothing is refunded.")
def discount(request, subscription_id: str, body: DiscountIn):
    pk = _pk(subscription_id)
    discounts.apply_discount(pk, percent_off=body.percent_off, amount_off=body.amount_off, periods=body.periods,
                             coupon_code=body.coupon)
    return render(pk)


@router.delete("/{subscription_id}/discount", response=SubscriptionOut, summary="Remove a subscription's discount",
               description="The discount stops from the next invoice; the current period keeps it.")
def remove_discount(request, subscription_id: str):
    pk = _pk(subscription_id)
    discounts.remove_discount(pk)
    return render(pk)
