"""Saved segments: which customers a campaign goes to.

Filters: plan and subscription status (of a current subscription), country, locale, tenure
(days since the customer was created), MRR (the monthly value of their live subscriptions, in
minor units of their currency) and last activity (their latest recorded event).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from assina.customers.models import Customer
from assina.events.models import Event

from .models import Segment

LIVE = ("active", "trialing", "past_due")
MONTHS_PER = {"day": Decimal(12) / Decimal(365), "week": Decimal(12) / Decimal(52), "month": Decimal(1), "year": Decimal(12)}


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
    if segment.min_mrr is not None or segment.max_mrr is not None:
        ids = [pk for pk, mrr in mrr_by_customer(query).items() if _within(mrr, segment.min_mrr, segment.max_mrr)]
        query = Customer.objects.filter(pk__in=ids)
    return query.order_by("pk")


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def mrr_by_customer(customers) -> dict[int, int]:
    """Monthly recurring value of each customer's live subscriptions (minor units, rounded)."""
    from assina.core.pricing import PriceSpec, PricingModel, Tier, price_amount
    from assina.subscriptions.models import SubscriptionItem

    totals: dict[int, Decimal] = {pk: Decimal(0) for pk in customers.values_list("pk", flat=True)}
    items = (SubscriptionItem.objects.filter(subscription__customer_id__in=customers.values("pk"), subscription__status__in=LIVE)
             .values_list("subscription__customer_id", "subscription__interval", "subscription__interval_count",
                          "plan_version__pricing_model", "plan_version__currency", "plan_version__unit_amount",
                          "plan_version__tiers", "plan_version__package_size", "quantity"))
    for customer_id, interval, count, model, currency, unit, tiers, package, quantity in items:
        spec = PriceSpec(model=PricingModel(model), currency=currency, unit_amount=unit,
                         tiers=tuple(Tier(**t) for t in tiers or []), package_size=package)
        months = MONTHS_PER.get(interval, Decimal(1)) * (count or 1)
        totals[customer_id] = totals.get(customer_id, Decimal(0)) + Decimal(price_amount(spec, quantity)) / months
    return {pk: int(value.to_integral_value()) for pk, value in totals.items()}
