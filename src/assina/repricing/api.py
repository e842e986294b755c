"""The repricing app's API routes. Mounted by ``assina.api.main`` at "" (full paths here).

- ``POST /api/v1/price_migrations``: create a migration and queue its notices.
- ``GET /api/v1/price_migrations``: the latest migrations.
- ``GET /api/v1/price_migrations/{id}/report``: notified / accepted / switched / cancelled / no
  answer, outcomes, MRR before and after, churn of the group against the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from ninja import Field, Router, Schema

from .report import migration_report, migrations_list
from assina.api.errors import not_found

from .services import MigrationError, create_migration

router = Router(tags=["repricing"])


class MigrationIn(Schema):
    plan: str = Field(max_length=64, description="the plan whose price rises")
    amount: Optional[int] = Field(None, ge=1, le=10**12, description="the new price in minor units (a new plan "
                                                                    "version); default: the plan's current version")
    effective_at: datetime = Field(description="at least 30 days ahead; each subscription changes at its first "
                                               "renewal on or after it")
    audience: Literal["all", "segment", "before"] = "all"
    segment: Optional[str] = Field(None, max_length=120, description="the saved segment's id or name")
    subscribed_before: Optional[datetime] = None
    loyalty_percent: Optional[str] = Field(None, max_length=8, description="a discount on the new price, e.g. \"10\"")
    loyalty_periods: Optional[int] = Field(None, ge=1, le=24)
    switch_plan: Optional[str] = Field(None, max_length=64, description="a cheaper plan offered instead")
    allow_annual: bool = Field(False, description="offer to keep the old price on an annual switch")
    annual_plan: Optional[str] = Field(None, max_length=64)
    default: Literal["accept", "switch"] = "accept"


class Churn(Schema):
    subscriptions: int
    churned: int
    rate: Optional[float]


class ChurnOut(Schema):
    group: Churn
    rest: Churn


class PriceMigrationReportOut(Schema):
    migration: str
    plan: str
    new_version: int
    effective_at: str
    notified_at: str
    status: str
    default: str
    offers: list[str]
    as_of: str
    notified: int
    accepted: int
    switched: int
    annual: int
    cancelled: int
    no_answer: int
    outcomes: dict[str, int]
    mrr_before: dict[str, int] = Field(description="minor units per currency")
    mrr_after: dict[str, int]
    churn: ChurnOut


class MigrationOut(Schema):
    migration: str
    plan: str
    new_version: int
    effective_at: str
    subscriptions: int
    status: str


@router.post("/price_migrations", response={201: PriceMigrationReportOut}, summary="Start a price migration",
             description="Refused (422) when the effective date is less than 30 days ahead, nobody matches, or an "
                         "option is not valid; nothing is written then.")
def create(request, body: MigrationIn):
    migration = create_migration(
        plan_code=body.plan, new_amount=body.amount, effective_at=body.effective_at, audience=body.audience,
        segment=body.segment, subscribed_before=body.subscribed_before, loyalty_percent=body.loyalty_percent,
        loyalty_periods=body.loyalty_periods, switch_plan_code=body.switch_plan, allow_annual=body.allow_annual,
        annual_plan_code=body.annual_plan, default_choice=body.default)
    return 201, migration_report(migration.pk)


@router.get("/price_migrations", response=list[MigrationOut], summary="The latest price migrations")
def list_migrations(request):
    return migrations_list()


@router.get("/price_migrations/{migration_id}/report", response=PriceMigrationReportOut, summary="A price migration's report")
def report(request, migration_id: str):
    try:
        return migration_report(migration_id)
    except MigrationError:
        raise not_found("price migration", migration_id) from None
