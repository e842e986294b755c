"""/products and /plans (with their immutable price versions)."""

from __future__ import annotations

from typing import Literal

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from assina.catalog.models import Plan, PlanVersion, Product
from assina.catalog.services import change_plan_price, create_plan
from assina.time import now

from ..errors import not_found
from ..pagination import paginate
from ..schemas import Amount, Currency, ListQuery, Page, Timestamp
from .common import Input

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
            "current_version": versions[-1].version if versions else 0, "versions": [version_out(v) for v in versions],
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


@products.get("", response=Page[ProductOut], summary="List products")
def list_products(request, query: Query[ListQuery]):
    return paginate(Product.objects.prefetch_related("plans"), query, cursor_pk=_cursor(Product), serialize=product_out,
                    ident=lambda p: p.code)


@products.get("/{code}", response=ProductOut, summary="Get a product")
def get_product(request, code: str):
    product = Product.objects.prefetch_related("plans").filter(code=code).first()
    if product is None:
        raise not_found(_("product"), code)
    return product_out(product)


@plans.post("", response={201: PlanOut}, summary="Create a plan (or an add-on)")
def create(request, body: PlanCreate):
    plan = create_plan(code=body.code, name=body.name, amount=body.amount, currency=body.currency, interval=body.interval,
                       interval_count=body.interval_count, trial_days=body.trial_days, pricing_model=body.pricing_model,
                       tiers=[t.model_dump() for t in body.tiers] if body.tiers else None, package_size=body.package_size,
                       kind=body.kind, product_code=body.product, at=now())
    return Status(201, plan_out(load_plan(plan.code)))


@plans.get("", response=Page[PlanOut], summary="List plans")
def list_plans(request, query: Query[PlanFilters]):
    rows = PLANS
    if query.kind:
        rows = rows.filter(kind=query.kind)
    if query.active is not None:
        rows = rows.filter(active=query.active)
    if query.product:
        rows = rows.filter(product__code=query.product)
    return paginate(rows, query, cursor_pk=_cursor(Plan), serialize=plan_out, ident=lambda p: p.code)


@plans.get("/{code}", response=PlanOut, summary="Get a plan with its price versions")
def get(request, code: str):
    return plan_out(load_plan(code))


@plans.post("/{code}/versions", response={201: PlanOut}, summary="Give a plan a new price",
            description="Adds a price version: new subscriptions take it, existing ones keep theirs (grandfathering).")
def new_version(request, code: str, body: VersionCreate):
    load_plan(code)
    change_plan_price(code, amount=body.amount, pricing_model=body.pricing_model,
                      tiers=[t.model_dump() for t in body.tiers] if body.tiers is not None else None,
                      package_size=body.package_size, at=now())
    return Status(201, plan_out(load_plan(code)))
