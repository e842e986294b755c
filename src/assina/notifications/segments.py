"""Saved segments: which customers a campaign goes to.

Filters: plan and subscription status (of a current subscription), country, locale, tenure
(days since the customer was created), MRR (the monthly value of their subscriptions, as the
dashboard counts it, in minor units of their currency; evaluated by the database, see
``customer_mrr``) and last activity (their latest recorded event).

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

from django.db.models import (BigIntegerField, Case, Exists, ExpressionWrapper, F, Func, OuterRef, Q, QuerySet, Subquery,
                              Value, When)
from django.db.models.functions import Cast, Coalesce, Least, Round
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.states import LIVE, PAYING
from assina.customers.models import Customer
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
        query = _within_mrr(query, segment.min_mrr, segment.max_mrr, at)
    return query.order_by("pk")


def _within_mrr(query: QuerySet, low: int | None, high: int | None, at: datetime) -> QuerySet:
    """``query`` narrowed to the customers whose MRR at ``at`` is in [low, high], computed by the
    database for each candidate (``customer_mrr``): a list page sorted by id stops at its 50th."""
    query = query.alias(segment_mrr=customer_mrr(at))
    if low is not None and high is not None:
        return query.filter(segment_mrr__range=(low, high))
    return query.filter(segment_mrr__gte=low) if low is not None else query.filter(segment_mrr__lte=high)


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


# --- MRR set-wise, in SQL ---------------------------------------------------------------------------
#
# ``core.mrr.subscription_mrr`` written as SQL expressions over the subscriptions' rows, so that a
# segment's MRR bounds are evaluated by the database in the statement that lists the customers
# (about 2 µs a customer on SQLite) instead of every candidate's MRR in Python (36 µs). Integer
# arithmetic only, with core's rounding: an item's price by its pricing model
# (``core.pricing.price_amount``; a tiered version's tiers become pieces of a CASE), the coupon in
# force at ``at`` on the items it applies to (a percentage rounded half up, an amount never more
# than those items), the rest normalised to a month by ``core.mrr.PER_MONTH`` and rounded half
# up; trials, pauses and ended subscriptions are not paying, so worth 0.
# ``tests/integration/test_workspace_segments.py`` compares it with ``mrr_by_customer`` customer
# by customer. (A coupon in another currency than its subscription, which redemption refuses,
# would raise in core and is simply subtracted here.)

def _bigint(expression) -> Cast:
    # PostgreSQL's SUM of bigints is numeric, and numeric / numeric is not integer division.
    return Cast(expression, BigIntegerField())


def _item_amount() -> Case:
    """What a ``SubscriptionItem`` row costs per period at its quantity (``price_amount``)."""
    from assina.catalog.models import PlanVersion
    from assina.core.pricing import TIERED_MODELS, PricingModel, tier_pieces

    q, unit = F("quantity"), F("plan_version__unit_amount")
    size = F("plan_version__package_size")
    whens = [When(quantity=0, then=Value(0)),
             When(plan_version__pricing_model=PricingModel.FLAT.value, then=unit),
             When(plan_version__pricing_model=PricingModel.PER_UNIT.value, then=unit * q),
             When(plan_version__pricing_model=PricingModel.PACKAGE.value, then=(q + size - 1) / size * unit)]
    # Tiers are JSON: each tiered version (few, and immutable) becomes its own pieces here.
    for version in PlanVersion.objects.filter(pricing_model__in=[m.value for m in TIERED_MODELS]).order_by("pk"):
        pieces = tier_pieces(version.price_spec())
        amount = Case(*[When(quantity__lte=up_to, then=Value(base) + Value(per_unit) * q)
                        for up_to, base, per_unit in pieces[:-1]],
                      default=Value(pieces[-1][1]) + Value(pieces[-1][2]) * q, output_field=BigIntegerField())
        whens.append(When(plan_version_id=version.pk, then=amount))
    return Case(*whens, default=Value(None), output_field=BigIntegerField())


def _subscription_mrr(at: datetime):
    """A ``Subscription`` row's MRR at ``at`` if it pays (``core.mrr.mrr``), as an expression."""
    from assina.catalog.models import Coupon
    from assina.core.mrr import PER_MONTH
    from assina.subscriptions.models import SubscriptionItem

    amount = _item_amount()
    items = SubscriptionItem.objects.filter(subscription=OuterRef("pk")).order_by()
    total = Coalesce(_bigint(Subquery(items.values(t=_Sum(amount)))), Value(0), output_field=BigIntegerField())
    # The items the coupon applies to: every item when it names no plan, else those of its plans.
    restricted = Coupon.plans.through.objects.filter(coupon_id=OuterRef(OuterRef("coupon_id")))
    applies = ~Exists(restricted) | Exists(restricted.filter(plan_id=OuterRef("plan_version__plan_id")))
    discountable = Coalesce(_bigint(Subquery(items.values(
        d=_Sum(Case(When(applies, then=amount), default=Value(0), output_field=BigIntegerField()))))),
        Value(0), output_field=BigIntegerField())
    in_force = (Q(coupon_id__isnull=False, discount_applies_from__lte=at)
                & (Q(discount_applies_until__isnull=True) | Q(discount_applies_until__gt=at)))
    # percent_off has two decimals: off = round_half_up(discountable × hundredths / 10,000), never
    # more than discountable when the percentage is at most 100.
    hundredths = _bigint(Round(F("coupon__percent_off") * 100))
    off = Case(When(in_force & Q(coupon__percent_off__isnull=False),
                    then=(2 * discountable * hundredths + 10_000) / 20_000),
               When(in_force & Q(coupon__amount_off__isnull=False), then=Least(F("coupon__amount_off"), discountable)),
               default=Value(0), output_field=BigIntegerField())
    numerator = Case(*[When(interval=name, then=Value(n)) for name, (n, _d) in PER_MONTH.items()], output_field=BigIntegerField())
    denominator = Case(*[When(interval=name, then=Value(d)) for name, (_n, d) in PER_MONTH.items()],
                       output_field=BigIntegerField()) * F("interval_count")
    return ExpressionWrapper((2 * (total - off) * numerator + denominator) / (2 * denominator), output_field=BigIntegerField())


class _Sum(Func):
    """SUM over a correlated subquery's rows, without the GROUP BY the ORM adds to an aggregate
    (one index lookup per outer row instead of a sort)."""

    function = "SUM"
    output_field = BigIntegerField()


def customer_mrr(at: datetime):
    """A ``Customer`` row's MRR at ``at`` (the sum of their paying subscriptions', 0 without
    any), as an expression the database evaluates."""
    from assina.subscriptions.models import Subscription

    paying = Subscription.objects.filter(customer_id=OuterRef("pk"), status__in=PAYING).order_by()
    return Coalesce(_bigint(Subquery(paying.values(m=_Sum(_subscription_mrr(at))))), Value(0),
                    output_field=BigIntegerField())
