"""Use cases of usage-based billing: define metrics, put metered prices on plans, record usage."""

from __future__ import annotations

import re
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from assina.catalog.models import MeteredPrice, Metric, Plan
from assina.catalog.services import get_plan
from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.core.pricing import PriceSpec, PricingModel, Tier
from assina.events.services import record

from .ingest import EventIn, IngestResult, ingest

PROPERTY = re.compile(r"^[A-Za-z0-9_]{1,64}$")
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class MetricError(DomainError):
    code = "metric_invalid"


def get_metric(code: str) -> Metric:
    metric = Metric.objects.filter(code=code).first()
    if metric is None:
        raise MetricError(_("no metric with code %(code)s") % {"code": repr(code)})
    return metric


def create_metric(*, code: str, name: str, aggregation: str = Metric.Aggregation.SUM, unique_property: str = "",
                  at: datetime | None = None) -> Metric:
    at = at or clock_now()
    if not CODE.match(code or ""):
        raise MetricError(_("a metric code is 1 to 64 lower-case letters, digits, - or _; got %(code)s") % {"code": repr(code)})
    if aggregation not in Metric.Aggregation.values:
        raise MetricError(_("%(aggregation)s is not an aggregation (sum, max, count, unique_count)") % {"aggregation": repr(aggregation)})
    if aggregation == Metric.Aggregation.UNIQUE_COUNT:
        if not PROPERTY.match(unique_property or ""):
            raise MetricError(_("a unique count needs the property to count (letters, digits and _)"))
    elif unique_property:
        raise MetricError(_("only a unique count has a counted property"))
    if Metric.objects.filter(code=code).exists():
        raise MetricError(_("a metric with code %(code)s already exists") % {"code": code})
    with transaction.atomic():
        metric = Metric.objects.create(code=code, name=name or code, aggregation=aggregation,
                                       unique_property=unique_property, created_at=at)
        record("metric.created", metric, at, {"code": code, "aggregation": aggregation})
    return metric


def add_metered_price(*, plan_code: str, metric_code: str, pricing_model: str = PricingModel.PER_UNIT.value,
                      unit_amount: int = 0, tiers: list[dict] | None = None, package_size: int = 1,
                      at: datetime | None = None) -> MeteredPrice:
    """Bill ``metric`` on the plan's newest version, in arrears at each period end.

    Put metered prices on a version before customers subscribe to it: a version is the price
    its subscribers agreed to (a new price is a new version, see ``change_plan_price``).
    """
    at = at or clock_now()
    plan: Plan = get_plan(plan_code)
    metric = get_metric(metric_code)
    version = plan.current_version()
    if pricing_model == PricingModel.FLAT.value:
        raise MetricError(_("a metered price is priced per unit, in tiers or in packages, not flat"))
    spec = PriceSpec(model=pricing_model, currency=version.currency, unit_amount=unit_amount,
                     tiers=tuple(Tier(up_to=t.get("up_to"), unit_amount=t.get("unit_amount", 0), flat_amount=t.get("flat_amount", 0))
                                 for t in tiers or ()), package_size=package_size)
    if MeteredPrice.objects.filter(plan_version=version, metric=metric).exists():
        raise MetricError(_("%(plan)s already bills metric %(metric)s") % {"plan": str(version), "metric": metric.code})
    with transaction.atomic():
        price = MeteredPrice.objects.create(plan_version=version, metric=metric, pricing_model=spec.model.value,
                                            unit_amount=spec.unit_amount, tiers=list(tiers or []),
                                            package_size=spec.package_size, created_at=at)
        record("plan.metered_price_added", plan, at, {"version": version.version, "metric": metric.code,
                                                       "pricing_model": spec.model.value, "unit_amount": spec.unit_amount})
    return price


def record_usage(events: list[EventIn], at: datetime | None = None, *, nul_possible: bool = True) -> IngestResult:
    """Store usage events (all or nothing); ``at`` is when they were received (default: now).

    ``nul_possible=False``: the caller knows no text holds a NUL character (see ``ingest``).
    """
    return ingest(events, at or clock_now(), nul_possible=nul_possible)


def customers_with_usage(customer_ids: list[int], metric: str | None = None) -> set[int]:
    """Which of these customers sent any usage (of ``metric``, if given), through an index.

    The index by customer holds settled events only (``assina.usage.settle``): the pending ones
    are read through their own index, in a second query of the same statement.
    """
    from .settle import settled_and_pending

    if not customer_ids:
        return set()
    extra = {"metric_code": metric} if metric else {}
    settled, pending = settled_and_pending(customer_id__in=sorted(set(customer_ids)), **extra)
    return {pk for (pk,) in settled.values_list("customer_id").distinct().union(pending.values_list("customer_id"))}
