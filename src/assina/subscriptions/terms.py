"""Turn subscription rows into the pure ``SubscriptionTerms`` that ``assina.core`` bills from.

A ``TermsLoader`` loads what a batch of subscriptions needs in a handful of queries (items,
plan versions, coupons), so a billing run never does one query per subscription.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from django.conf import settings

from assina.catalog.models import Coupon, PlanVersion
from assina.db import Many, fetch_values
from assina.core.discounts import Coupon as CoreCoupon
from assina.core.invoicing import DiscountTerms, ItemTerms, LineKind, SubscriptionTerms
from assina.core.periods import Interval, first_index_starting_at_or_after

from .models import Subscription, SubscriptionItem


class TermsLoader:
    def __init__(self) -> None:
        self._versions: dict[int, tuple[str, str, str, object]] = {}
        self._coupons: dict[int, CoreCoupon] = {}
        self._items: dict[int, list[tuple[int, int]]] = {}
        # Plan versions are immutable, so one ItemTerms per (version, quantity) serves every
        # subscription of a batch.
        self._item_terms: dict[tuple[tuple[int, int], ...], tuple[ItemTerms, ...]] = {}
        # Terms are immutable values: subscriptions with the same key share one.
        self._terms: dict[tuple, SubscriptionTerms] = {}

    def load(self, subs: Iterable[Subscription]) -> None:
        subs = list(subs)
        ids = [s.pk for s in subs]
        items: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for sub_id, version_id, quantity in fetch_values(
            SubscriptionItem.objects.filter(subscription_id__in_list=Many(ids)).order_by("id"),
            ("subscription_id", "plan_version_id", "quantity"),
        ):
            items[sub_id].append((version_id, quantity))
        self._items.update(items)
        missing = {v for pairs in items.values() for v, _ in pairs} - self._versions.keys()
        for version in PlanVersion.objects.filter(pk__in=missing).select_related("plan"):
            plan = version.plan
            kind = LineKind.ADDON if plan.kind == "addon" else LineKind.SUBSCRIPTION
            self._versions[version.pk] = (plan.code, plan.name, kind, version.price_spec())
        coupon_ids = {s.coupon_id for s in subs if s.coupon_id} - self._coupons.keys()
        for coupon in Coupon.objects.filter(pk__in=coupon_ids).prefetch_related("plans"):
            self._coupons[coupon.pk] = coupon.to_core()

    def terms_key(self, sub: Subscription) -> tuple:
        """Everything ``terms(sub)`` is built from: equal keys give equal terms."""
        if sub.pk not in self._items:
            self.load([sub])
        return (tuple(self._items[sub.pk]), sub.currency, sub.billing_anchor, sub.interval, sub.interval_count,
                sub.billing_starts_at, sub.coupon_id, sub.discount_applies_from, sub.discount_applies_until)

    def terms(self, sub: Subscription) -> SubscriptionTerms:
        key = self.terms_key(sub)
        terms = self._terms.get(key)
        if terms is None:
            terms = self._terms[key] = self._build(sub, key[0])
        return terms

    def _build(self, sub: Subscription, key: tuple[tuple[int, int], ...]) -> SubscriptionTerms:
        items = self._item_terms.get(key)
        if items is None:
            items = self._item_terms[key] = tuple(
                ItemTerms(code=code, description=name, price=spec, quantity=quantity, kind=kind)
                for (code, name, kind, spec), quantity in ((self._versions[v], q) for v, q in key)
            )
        discount = None
        if sub.coupon_id and sub.discount_applies_from:
            discount = DiscountTerms(coupon=self._coupons[sub.coupon_id], applies_from=sub.discount_applies_from,
                                     applies_until=sub.discount_applies_until)
        return SubscriptionTerms(
            currency=sub.currency, anchor=sub.billing_anchor, interval=Interval(sub.interval),
            interval_count=sub.interval_count, items=items, billing_starts_at=sub.billing_starts_at,
            discount=discount, tz=settings.TIME_ZONE,
        )


def terms_for(sub: Subscription) -> SubscriptionTerms:
    loader = TermsLoader()
    loader.load([sub])
    return loader.terms(sub)


def index_of_period_starting(terms: SubscriptionTerms, start) -> int:
    """The index of the period that starts exactly at ``start`` (a boundary of the anchor)."""
    index = first_index_starting_at_or_after(terms.anchor, terms.interval, terms.interval_count, start, terms.tz)
    if terms.boundary(index) != start:
        raise ValueError(f"{start.isoformat()} is not a period boundary of this subscription")
    return index
