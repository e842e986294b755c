"""/coupons and /promotion_codes."""

from __future__ import annotations

from typing import Literal

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.catalog.models import Coupon, PromotionCode
from assina.catalog.services import create_coupon, create_promotion_code
from assina.time import now

from ..errors import not_found
from ..pagination import object_pk, paginate
from ..schemas import Amount, Currency, ListQuery, Page, Timestamp
from .common import Input, ident, load

coupons = Router(tags=["coupons"])
promotion_codes = Router(tags=["coupons"])
PROMO = "promo_"
Percent = Field(None, pattern=r"^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$", description="e.g. \"15\" or \"12.5\"")


class CouponOut(Schema):
    id: str = Field(description="the coupon's code")
    object: str = "coupon"
    name: str
    percent_off: str | None
    amount_off: Amount | None
    currency: Currency | None
    duration: Literal["once", "repeating", "forever"]
    duration_periods: int | None
    plans: list[str] = Field(description="plans it is restricted to (empty: any plan)")
    redeem_by: Timestamp | None
    max_redemptions: int | None
    times_redeemed: int
    active: bool
    created_at: Timestamp


class CouponCreate(Input):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field("", max_length=200)
    duration: Literal["once", "repeating", "forever"]
    percent_off: str | None = Percent
    amount_off: Amount | None = Field(None, ge=1, le=10**12)
    currency: Currency | None = None
    duration_periods: int | None = Field(None, ge=1, le=1000)
    plans: list[str] = Field([], max_length=100)
    redeem_by: Timestamp | None = None
    max_redemptions: int | None = Field(None, ge=1, le=10**9)


class PromotionCodeOut(Schema):
    id: str = Field(examples=["promo_1"])
    object: str = "promotion_code"
    code: str
    coupon: str
    active: bool
    expires_at: Timestamp | None
    max_redemptions: int | None
    times_redeemed: int
    created_at: Timestamp


class PromotionCodeCreate(Input):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    coupon: str = Field(min_length=1, max_length=64)
    expires_at: Timestamp | None = None
    max_redemptions: int | None = Field(None, ge=1, le=10**9)


def coupon_out(c: Coupon) -> dict:
    return {"id": c.code, "name": c.name, "percent_off": format(c.percent_off.normalize(), "f") if c.percent_off is not None else None,
            "amount_off": c.amount_off, "currency": c.currency or None, "duration": c.duration,
            "duration_periods": c.duration_periods, "plans": sorted(p.code for p in c.plans.all()),
            "redeem_by": c.redeem_by, "max_redemptions": c.max_redemptions, "times_redeemed": c.times_redeemed,
            "active": c.active, "created_at": c.created_at}


def promo_out(p: PromotionCode) -> dict:
    return {"id": ident(PROMO, p.pk), "code": p.code, "coupon": p.coupon.code, "active": p.active,
            "expires_at": p.expires_at, "max_redemptions": p.max_redemptions, "times_redeemed": p.times_redeemed,
            "created_at": p.created_at}


COUPONS = Coupon.objects.prefetch_related("plans")


def _coupon(code: str) -> Coupon:
    coupon = COUPONS.filter(code=code).first()
    if coupon is None:
        raise not_found(_("coupon"), code)
    return coupon


@coupons.post("", response={201: CouponOut}, summary="Create a coupon")
def create(request, body: CouponCreate):
    coupon = create_coupon(code=body.code, name=body.name, duration=body.duration, percent_off=body.percent_off,
                           amount_off=body.amount_off, currency=body.currency, duration_periods=body.duration_periods,
                           plans=body.plans or None, redeem_by=body.redeem_by, max_redemptions=body.max_redemptions,
                           at=now())
    return Status(201, coupon_out(_coupon(coupon.code)))


@coupons.get("", response=Page[CouponOut], summary="List coupons")
def list_coupons(request, query: Query[ListQuery]):
    return paginate(COUPONS, query, cursor_pk=lambda code: Coupon.objects.filter(code=code).values_list("pk", flat=True).first(),
                    serialize=coupon_out, ident=lambda c: c.code)


@coupons.get("/{code}", response=CouponOut, summary="Get a coupon")
def get(request, code: str):
    return coupon_out(_coupon(code))


@promotion_codes.post("", response={201: PromotionCodeOut}, summary="Create a promotion code for a coupon")
def create_promo(request, body: PromotionCodeCreate):
    promo = create_promotion_code(code=body.code, coupon_code=body.coupon, expires_at=body.expires_at,
                                  max_redemptions=body.max_redemptions, at=now())
    return Status(201, promo_out(PromotionCode.objects.select_related("coupon").get(pk=promo.pk)))


@promotion_codes.get("", response=Page[PromotionCodeOut], summary="List promotion codes")
def list_promos(request, query: Query[ListQuery]):
    return paginate(PromotionCode.objects.select_related("coupon"), query, cursor_pk=lambda c: object_pk(PROMO, c),
                    serialize=promo_out, ident=lambda p: ident(PROMO, p.pk))


@promotion_codes.get("/{promotion_code_id}", response=PromotionCodeOut, summary="Get a promotion code")
def get_promo(request, promotion_code_id: str):
    return promo_out(load(PromotionCode.objects.select_related("coupon"), PROMO, promotion_code_id, _("promotion code")))
