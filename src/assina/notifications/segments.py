"""Saved segments: which customers a campaign goes to.

Filters: plan and subscription status (of a current subscription), country, locale, tenure
(days since the customer was created), MRR (the monthly value of their subscriptions, as the
dashboard counts it, in minor units of their currency) and last activity (their latest
recorded event).

Health bands, churn risk and NPS categories are known only to the apps above this one
(customer success, feedback): they register how to evaluate them at start-up
(``register_criterion``, from their ``AppConfig.ready()``), like the facts of
``assina.dispatch``. A segment that asks for a criterion no installed app evaluates refuses to
list anyone rather than ignore the filter (``SegmentError``), so a campaign never goes to more
customers than its segment says.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.states import LIVE, PAYING
from assina.customers.models import Customer
from assina.db import Many
from assina.events.models import Event

from .models import HEALTH_BANDS, NPS_CATEGORIES, Segment  # noqa: F401  (the values, for the apps above)

# criterion name -> the segment's fields that ask for it
EXTENDED = {
    "health_bands": ("health_bands",),
    "churn_risk": ("min_churn_risk", "max_churn_risk"),
    "nps_categories": ("nps_categories",),
}

# name -> apply(segment, customers queryset, at) -> the customers that meet the criterion
Criterion = Callable[[Segment, QuerySet, datetime], QuerySet]
_criteria: dict[str, Criterion] = {}


class SegmentError(DomainError):
    """A segment that cannot be evaluated here (its message is translated)."""


def register_criterion(name: str, apply: Criterion) -> None:
    """Called by an app above at start-up: ``apply`` narrows a customers queryset to those
    meeting ``name`` (one of ``EXTENDED``) as ``segment`` asks. Registering twice replaces."""
    if name not in EXTENDED:
        raise ValueError(f"unknown segment criterion {name!r} (one of {sorted(EXTENDED)})")
    _criteria[name] = apply


def registered_criteria() -> set[str]:
    return set(_criteria)


def asks_for(segment: Segment, name: str) -> bool:
    """Whether ``segment`` filters by criterion ``name``."""
    return any(getattr(segment, field) not in (None, [], "") for field in EXTENDED[name])


def _extended(segment: Segment, query: QuerySet, at: datetime) -> QuerySet:
    for name in EXTENDED:
        if not asks_for(segment, name):
            continue
        apply = _criteria.get(name)
        if apply is None:
            raise SegmentError(_("segment %(segment)s filters by %(criterion)s, which no installed app evaluates")
                               % {"segment": repr(segment.name), "criterion": name})
        query = apply(segment, query, at)
    return query


def customers_of(segment: Segment, at: datetime):
    """The customers of ``segment`` at time ``at`` (a queryset, ordered by id)."""
    from assina.subscriptions.models import Subscription

    query = Customer.objects.all()
    # "IN (subquery)" rather than a correlated EXISTS: SQLite would otherwise walk the status
    # index once per customer (quadratic on a large audience).
    if segment.plans or segment.statuses:
        subs = Subscription.objects.all()
        subs = subs.filter(plan__code__in=segment.plans, status__in=LIVE) if segment.plans else subs
        subs = subs.filter(status__in=segment.statuses) if segment.statuses else subs
        query = query.filter(pk__in=subs.values("customer_id"))
    if segment.countries:
        query = query.filter(country__in=[c.upper() for c in segment.countries])
    if segment.locales:
        wanted = Q()
        for locale in segment.locales:
            wanted |= Q(locale__iexact=locale)
        query = query.filter(wanted)
    if segment.min_tenure_days is not None:
        query = query.filter(created_at__lte=at - timedelta(days=segment.min_tenure_days))
    if segment.max_tenure_days is not None:
        query = query.filter(created_at__gte=at - timedelta(days=segment.max_tenure_days))
    if segment.active_within_days is not None:
        recent = Event.objects.filter(customer_id__isnull=False, occurred_at__gte=at - timedelta(days=segment.active_within_days))
        query = query.filter(pk__in=recent.values("customer_id"))
    if segment.inactive_for_days is not None:
        recent = Event.objects.filter(customer_id__isnull=False, occurred_at__gte=at - timedelta(days=segment.inactive_for_days))
        query = query.exclude(pk__in=recent.values("customer_id"))
    query = _extended(segment, query, at)
    if segment.min_mrr is not None or segment.max_mrr is not None:
        ids = [pk for pk, mrr in mrr_by_customer(query, at).items() if _within(mrr, segment.min_mrr, segment.max_mrr)]
        # One parameter, however many ids (a plain IN would pass SQLite's variable limit on 100k customers).
        query = Customer.objects.filter(pk__in_list=Many(ids))
    return query.order_by("pk")


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def mrr_by_customer(customers, at: datetime) -> dict[int, int]:
    """Each customer's MRR at ``at``: the sum of their subscriptions' MRR by the dashboard's
    rule (``core.mrr``: discounts in force included, trials and paused subscriptions worth 0),
    in minor units of their currency."""
    from assina.subscriptions.models import Subscription
    from assina.subscriptions.terms import current_mrr

    totals: dict[int, int] = {pk: 0 for pk in customers.values_list("pk", flat=True)}
    subs = list(Subscription.objects.filter(customer_id__in=customers.values("pk"), status__in=PAYING)
                .only("customer_id", "status", "currency", "interval", "interval_count", "coupon_id",
                      "discount_applies_from", "discount_applies_until"))
    values = current_mrr(subs, at)
    for sub in subs:
        totals[sub.customer_id] = totals.get(sub.customer_id, 0) + values[sub.pk]
    return totals
