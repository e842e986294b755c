"""/products, /plans (with their immutable price versions), /coupons and /promotion_codes.
Mounted by ``assina.api.main``.

The operation ids keep the ``plans_`` and ``coupons_`` prefixes that clients generated code from
(the routes lived in modules of those names before they moved into this app).
"""

from __future__ import annotations

from typing import Literal

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.api.errors import not_found
from assina.api.ids import ident, load
from assina.api.pagination import object_pk, paginate
from assina.api.schemas import Amount, Currency, Input, ListQuery, Page, Timestamp
from assina.time import now

from . import services
from .models import IMPORTED_VERSIONS_FROM, Coupon, Plan, PlanVersion, Product, PromotionCode

products = Router(tags=["products"])
plans = Router(tags=["plans"])

Code = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
Interval = Literal["day", "week", "month", "year"]
PricingModel = Literal["flat", "per_unit", "graduated", "volume", "package"]


class ProductOut(Schema):
    id: str = Field(description="the product's code")
    object: str = "product"
    name: str
    description: str
    active: bool
    plans: list[str]
    created_at: Timestamp


class Tier(Schema):
    up_to: int | None = Field(None, ge=1, le=10**12, description="last quantity of this tier; null for the last tier")
    unit_amount: Amount = 0
    flat_amount: Amount = 0


class VersionOut(Schema):
    version: int
    pricing_model: PricingModel
    currency: Currency
    unit_amount: Amount
    tiers: list[Tier]
    package_size: int
    created_at: Timestamp


class PlanOut(Schema):
    id: str = Field(description="the plan's code")
    object: str = "plan"
    product: str
    name: str
    kind: Literal["base", "addon"]
    interval: Interval
    interval_count: int
    trial_days: int
    currency: Currency
    active: bool
    current_version: int
    versions: list[VersionOut] = Field(description="every price version, oldest first; new subscriptions take the newest")
    created_at: Timestamp


class PlanCreate(Input):
    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    amount: Amount = Field(ge=0, le=10**12)
    currency: Currency
    interval: Interval
    interval_count: int = Field(1, ge=1, le=365)
    trial_days: int = Field(0, ge=0, le=730)
    pricing_model: PricingModel = "flat"
    tiers: list[Tier] | None = Field(None, max_length=50)
    package_size: int = Field(1, ge=1, le=10**9)
    kind: Literal["base", "addon"] = "base"
    product: str | None = Field(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                description="the product's code (created when new; default: the plan's code)")


class VersionCreate(Input):
    amount: Amount = Field(ge=0, le=10**12)
    pricing_model: PricingModel | None = None
    tiers: list[Tier] | None = Field(None, max_length=50)
    package_size: int | None = Field(None, ge=1, le=10**9)


class PlanFilters(ListQuery):
    kind: Literal["base", "addon"] | None = None
    active: bool | None = None
    product: str | None = Field(None, max_length=64)


def _cursor(model):
    return lambda code: model.objects.filter(code=code).values_list("pk", flat=True).first()


def version_out(v: PlanVersion) -> dict:
    return {"version": v.version, "pricing_model": v.pricing_model, "currency": v.currency, "unit_amount": v.unit_amount,
            "tiers": v.tiers, "package_size": v.package_size, "created_at": v.created_at}


def plan_out(p: Plan) -> dict:
    versions = sorted(p.versions.all(), key=lambda v: v.version)
    return {"id": p.code, "product": p.product.code, "name": p.name, "kind": p.kind, "interval": p.interval,
            "interval_count": p.interval_count, "trial_days": p.trial_days, "currency": p.currency, "active": p.active,
            "current_version": max((v.version for v in versions if v.version < IMPORTED_VERSIONS_FROM), default=0), "versions": [version_out(v) for v in versions],
            "created_at": p.created_at}


def product_out(p: Product) -> dict:
    return {"id": p.code, "name": p.name, "description": p.description, "active": p.active,
            "plans": [plan.code for plan in p.plans.all()], "created_at": p.created_at}


PLANS = Plan.objects.select_related("product").prefetch_related(Prefetch("versions", PlanVersion.objects.order_by("version")))


def load_plan(code: str) -> Plan:
    plan = PLANS.filter(code=code).first()
    if plan is None:
        raise not_found(_("plan"), code)
    return plan


@products.get("", response=Page[ProductOut], summary="List products", operation_id="plans_list_products")
def list_products(request, query: Query[ListQuery]):
    return paginate(Product.objects.prefetch_related("plans"), query, cursor_pk=_cursor(Product), serialize=product_out,
                    ident=lambda p: p.code)


@products.get("/{code}", response=ProductOut, summary="Get a product", operation_id="plans_get_product")
def get_product(request, code: str):
    product = Product.objects.prefetch_related("plans").filter(code=code).first()
    if product is None:
        raise not_found(_("product"), code)
    return product_out(product)


@plans.post("", response={201: PlanOut}, summary="Create a plan (or an add-on)", operation_id="plans_create")
def create_plan(request, body: PlanCreate):
    plan = services.create_plan(code=body.code, name=body.name, amount=body.amount, currency=body.currency, interval=body.interval,
                       interval_count=body.interval_count, trial_days=body.trial_days, pricing_model=body.pricing_model,
                       tiers=[t.model_dump() for t in body.tiers] if body.tiers else None, package_size=body.package_size,
                       kind=body.kind, product_code=body.product, at=now())
    return Status(201, plan_out(load_plan(plan.code)))


@plans.get("", response=Page[PlanOut], summary="List plans", operation_id="plans_list_plans")
def list_plans(request, query: Query[PlanFilters]):
    rows = PLANS
    if query.kind:
        rows = rows.filter(kind=query.kind)
    if query.active is not None:
        rows = rows.filter(active=query.active)
    if query.product:
        rows = rows.filter(product__code=query.product)
    return paginate(rows, query, cursor_pk=_cursor(Plan), serialize=plan_out, ident=lambda p: p.code)


@plans.get("/{code}", response=PlanOut, summary="Get a plan with its price versions", operation_id="plans_get")
def get_plan(request, code: str):
    return plan_out(load_plan(code))


@plans.post("/{code}/versions", response={201: PlanOut}, summary="Give a plan a new price",
            operation_id="plans_new_version", description="Adds a price version: new subscriptions take it, existing ones keep theirs (grandfathering).")
def new_version(request, code: str, body: VersionCreate):
    load_plan(code)
    services.change_plan_price(code, amount=body.amount, pricing_model=body.pricing_model,
                      tiers=[t.model_dump() for t in body.tiers] if body.tiers is not None else None,
                      package_size=body.package_size, at=now())
    return Status(201, plan_out(load_plan(code)))


# --- coupons and promotion codes ---

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


@coupons.post("", response={201: CouponOut}, summary="Create a coupon", operation_id="coupons_create")
def create_coupon(request, body: CouponCreate):
    coupon = services.create_coupon(code=body.code, name=body.name, duration=body.duration, percent_off=body.percent_off,
                           amount_off=body.amount_off, currency=body.currency, duration_periods=body.duration_periods,
                           plans=body.plans or None, redeem_by=body.redeem_by, max_redemptions=body.max_redemptions,
                           at=now())
    return Status(201, coupon_out(_coupon(coupon.code)))


@coupons.get("", response=Page[CouponOut], summary="List coupons", operation_id="coupons_list_coupons")
def list_coupons(request, query: Query[ListQuery]):
    return paginate(COUPONS, query, cursor_pk=lambda code: Coupon.objects.filter(code=code).values_list("pk", flat=True).first(),
                    serialize=coupon_out, ident=lambda c: c.code)


@coupons.get("/{code}", response=CouponOut, summary="Get a coupon", operation_id="coupons_get")
def get_coupon(request, code: str):
    return coupon_out(_coupon(code))


@promotion_codes.post("", response={201: PromotionCodeOut}, summary="Create a promotion code for a coupon",
                      operation_id="coupons_create_promo")
def create_promo(request, body: PromotionCodeCreate):
    promo = services.create_promotion_code(code=body.code, coupon_code=body.coupon, expires_at=body.expires_at,
                                  max_redemptions=body.max_redemptions, at=now())
    return Status(201, promo_out(PromotionCode.objects.select_related("coupon").get(pk=promo.pk)))


@promotion_codes.get("", response=Page[PromotionCodeOut], summary="List promotion codes", operation_id="coupons_list_promos")
def list_promos(request, query: Query[ListQuery]):
    return paginate(PromotionCode.objects.select_related("coupon"), query, cursor_pk=lambda c: object_pk(PROMO, c),
                    serialize=promo_out, ident=lambda p: ident(PROMO, p.pk))


@promotion_codes.get("/{promotion_code_id}", response=PromotionCodeOut, summary="Get a promotion code",
                     operation_id="coupons_get_promo")
def get_promo(request, promotion_code_id: str):
    return promo_out(load(PromotionCode.objects.select_related("coupon"), PROMO, promotion_code_id, _("promotion code")))
