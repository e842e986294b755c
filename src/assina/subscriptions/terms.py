"""Turn subscription rows into the pure ``SubscriptionTerms`` that ``assina.core`` bills from.

A ``TermsLoader`` loads what a batch of subscriptions needs in a handful of queries (items,
plan versions, coupons), so a billing run never does one query per subscription.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Iterable, NamedTuple

from django.conf import settings

from assina.catalog.models import BundleComponent, Coupon, PlanVersion
from assina.core.bundles import BundlePart
from assina.core.discounts import Coupon as CoreCoupon
from assina.core.invoicing import DiscountTerms, ItemTerms, LineKind, SubscriptionTerms
from assina.core.mrr import discount_in_force, items_amount, subscription_mrr
from assina.core.periods import Interval, first_index_starting_at_or_after
from assina.core.shipping import ShippingTerms

from .models import Subscription
from .queries import item_rows, version_rows


class TermsLoader:
    def __init__(self) -> None:
        self._versions: dict[int, VersionInfo] = {}
        self._coupons: dict[int, CoreCoupon] = {}
        self._items: dict[int, list[tuple[int, int]]] = {}
        # Plan versions are immutable, so one ItemTerms per (version, quantity) serves every
        # subscription of a batch.
        self._item_terms: dict[tuple[tuple[int, int], ...], tuple[ItemTerms, ...]] = {}
        # Terms are immutable values: subscriptions with the same key share one.
        self._terms: dict[tuple, SubscriptionTerms] = {}

    def load(self, subs: Iterable[Subscription]) -> None:
        subs = list(subs)
        items: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for sub_id, version_id, quantity in item_rows([s.pk for s in subs]):
            items[sub_id].append((version_id, quantity))
        self._items.update(items)
        missing = {v for pairs in items.values() for v, _ in pairs} - self._versions.keys()
        if missing:
            self._versions.update(_version_rows(missing))
        coupon_ids = {s.coupon_id for s in subs if s.coupon_id} - self._coupons.keys()
        if coupon_ids:
            for coupon in Coupon.objects.filter(pk__in=coupon_ids).prefetch_related("plans"):
                self._coupons[coupon.pk] = coupon.to_core()

    def load_versions(self, version_ids: Iterable[int]) -> None:
        """Read these plan versions now (a version never changes once written: a caller reads
        them before its transaction takes the write lock)."""
        missing = set(version_ids) - self._versions.keys()
        if missing:
            self._versions.update(_version_rows(missing))

    def known_items(self, sub_id: int, pairs: list[tuple[int, int]]) -> None:
        """The items of subscription ``sub_id`` as (plan version id, quantity) in the order they
        were added, when the caller has just written them (no query for them then)."""
        self._items[sub_id] = list(pairs)
        self.load_versions(v for v, _q in pairs)

    def known_coupon(self, coupon_id: int, coupon: CoreCoupon) -> None:
        """A coupon the caller has just read (no query for it then)."""
        self._coupons[coupon_id] = coupon

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
            if sub.coupon_id and sub.coupon_id not in self._coupons:  # applied after the items were loaded
                for coupon in Coupon.objects.filter(pk=sub.coupon_id).prefetch_related("plans"):
                    self._coupons[coupon.pk] = coupon.to_core()
            terms = self._terms[key] = self._build(sub, key[0])
        return terms

    def _build(self, sub: Subscription, key: tuple[tuple[int, int], ...]) -> SubscriptionTerms:
        items = self._item_terms.get(key)
        if items is None:
            items = self._item_terms[key] = tuple(
                ItemTerms(code=info.code, description=info.name, price=info.spec, quantity=quantity, kind=info.kind,
                          parts=info.parts)
                for info, quantity in ((self._versions[v], q) for v, q in key)
            )
        shipping = next((self._versions[v].shipping for v, _q in key if self._versions[v].shipping is not None), None)
        discount = None
        if sub.coupon_id and sub.discount_applies_from:
            discount = DiscountTerms(coupon=self._coupons[sub.coupon_id], applies_from=sub.discount_applies_from,
                                     applies_until=sub.discount_applies_until)
        return SubscriptionTerms(
            currency=sub.currency, anchor=sub.billing_anchor, interval=Interval(sub.interval),
            interval_count=sub.interval_count, items=items, billing_starts_at=sub.billing_starts_at,
            discount=discount, tz=settings.TIME_ZONE, shipping=shipping,
        )


class VersionInfo(NamedTuple):
    """What the terms need of a plan version."""

    code: str
    name: str
    kind: LineKind
    spec: object
    shipping: ShippingTerms | None  # the plan ships goods
    parts: tuple[BundlePart, ...]  # a bundle's parts


def _version_rows(version_ids: set[int]) -> dict[int, VersionInfo]:
    """Each plan version's code, name, line kind, price, shipping and bundle parts by id (the
    parts with one more query, only when a version is a bundle)."""
    rows = version_rows(version_ids)
    bundles = [row[0] for row in rows if row[12]]
    parts: dict[int, list[BundlePart]] = defaultdict(list)
    if bundles:
        for part in (BundleComponent.objects.filter(plan_version_id__in=bundles).select_related("component")
                     .order_by("plan_version_id", "position", "pk")):
            parts[part.plan_version_id].append(BundlePart(code=part.component.code, description=part.component.name,
                                                          quantity=part.quantity, value=part.value))
    versions = {}
    for (pk, code, name, kind, pricing_model, currency, unit_amount, tiers, package_size, ships, fee, free_from,
         _bundle) in rows:
        version = PlanVersion(pk=pk, pricing_model=pricing_model, currency=currency, unit_amount=unit_amount,
                              tiers=tiers, package_size=package_size)
        versions[pk] = VersionInfo(code, name, LineKind.ADDON if kind == "addon" else LineKind.SUBSCRIPTION,
                                   version.price_spec(), ShippingTerms(fee, free_from) if ships else None,
                                   tuple(parts.get(pk, ())))
    return versions


def current_amounts(subscription_ids: list[int]) -> dict[int, int]:
    """What each subscription's items cost per period at their current quantities (before
    discounts, ``core.mrr.items_amount``): the price a reminder quotes. Two fixed queries for
    any number of subscriptions."""
    return {sub_id: items_amount((spec, quantity) for _code, spec, quantity in items)
            for sub_id, items in _current_items(subscription_ids).items()}


def current_mrr(subs: Iterable[Subscription], at: datetime) -> dict[int, int]:
    """Each subscription's MRR at ``at`` by ``core.mrr.subscription_mrr`` (the dashboard's
    rule): its items at their current prices, less the discount in force at ``at``. The rows
    need their status, currency, interval, coupon and discount window."""
    subs = list(subs)
    items = _current_items([s.pk for s in subs]) if subs else {}
    coupon_ids = {s.coupon_id for s in subs if s.coupon_id}
    coupons = {c.pk: c.to_core() for c in Coupon.objects.filter(pk__in=coupon_ids).prefetch_related("plans")} \
        if coupon_ids else {}
    return {s.pk: subscription_mrr(
        s.status, items.get(s.pk, ()), s.currency, s.interval, s.interval_count,
        coupons[s.coupon_id] if s.coupon_id and discount_in_force(at, s.discount_applies_from, s.discount_applies_until)
        else None) for s in subs}


def _current_items(subscription_ids: list[int]) -> dict[int, list[tuple[str, object, int]]]:
    """Each subscription's items as (plan code, price, quantity), in the order they were added."""
    rows = item_rows(subscription_ids)
    versions = _version_rows({version_id for _sub, version_id, _q in rows}) if rows else {}
    items: dict[int, list[tuple[str, object, int]]] = defaultdict(list)
    for sub_id, version_id, quantity in rows:
        info = versions[version_id]
        items[sub_id].append((info.code, info.spec, quantity))
    return items


def terms_for(sub: Subscription, loader: TermsLoader | None = None) -> SubscriptionTerms:
    """``sub``'s terms; with ``loader``, what it has loaded already is not read again (a use
    case that builds the terms of one subscription several times, e.g. subscribing)."""
    if loader is None:
        loader = TermsLoader()
        loader.load([sub])
    return loader.terms(sub)


def index_of_period_starting(terms: SubscriptionTerms, start) -> int:
    """The index of the period that starts exactly at ``start`` (a boundary of the anchor)."""
    index = first_index_starting_at_or_after(terms.anchor, terms.interval, terms.interval_count, start, terms.tz)
    if terms.boundary(index) != start:
        raise ValueError(f"{start.isoformat()} is not a period boundary of this subscription")
    return index
