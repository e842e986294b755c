"""At most three suggestions per customer: upsells and cross-sells, each with its reason in words.

Where they come from, in this order of strength:

1. **usage_upsell**: a higher plan (same currency and interval, a higher base price) would have
   cost less than the customer's plan for the usage of their last billed period (base price at
   their quantity plus each metered price of the plan, ``core.pricing``);
2. **limit_upsell**: they used at least 80 % of a metered price's free first tier (the units
   their plan includes) in their last billed period, and a higher plan includes more;
3. **cross_sell**: an add-on that the customers on the same plan who have one of this customer's
   add-ons most often also have (co-occurrence, at least 2 of them and at least 20 %);
4. **bundle**: an active, public bundle (same currency and interval) that has their plan as a
   part and costs less than its parts at today's prices: "Pro and Storage together as Duo:
   R$ 59,90 per month instead of R$ 69,80". At most one (``MAX_BUNDLES``): first one whose other
   parts include an add-on suggested or chosen, then the biggest saving. In the portal it is a plan
   change (``plan:<bundle>``, at quantity 1, a bundle the portal offers) and never one with a part
   the subscription already holds besides its plan (the change keeps that add-on: paid twice);
5. **popular**: the add-ons most subscriptions on their plan have (at least 2 and 10 %).

Never more than ``MAX_SUGGESTIONS`` (3), never an add-on they already have, never their own plan.

Entry points:

- ``suggestions_for(customer_id)``: every source, for every live subscription of the customer
  (the API, the owner's customer page).
- ``quick_suggestions(subscription, ...)``: the add-on sources and the bundle in two queries (a
  third only when a bundle on sale has the plan as a part), for the portal's home;
  ``for_plan(plan, ...)``: the add-on sources for a plan; ``checkout_bundles(plan, ...)``: the
  bundle for the checkout page (its rows kept a minute per process).
- ``usage_upsells(subscription, base version, quantity)``: the usage and limit upsells of one
  metered subscription in one fixed statement (``portal.queries.usage_facts``), for the portal's
  home; ``suggestions_for`` uses it too.

Shown and accepted are durable events (``suggestion.shown``, ``suggestion.accepted``):
``record_shown`` writes a suggestion once per customer per ``SHOWN_EVERY`` (24 h) whatever the
number of page views, ``record_accepted`` once per shown suggestion. ``report`` counts them.
"""

from __future__ import annotations

import json
import threading
import time as wall_time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from babel.lists import format_list
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils import translation
from django.utils.translation import gettext as _

from assina.catalog.models import IMPORTED_VERSIONS_FROM, BundleComponent, Plan, PlanVersion
from assina.core.bundles import part_value
from assina.core.errors import DomainError
from assina.core.mrr import monthly
from assina.core.pricing import PriceSpec, PricingModel, Tier, price_amount
from assina.core.states import LIVE
from assina.customers.models import Customer
from assina.events.models import Event
from assina.events.services import record
from assina.notifications.context import babel_locale, interval_word, money, number
from assina.notifications.rendering import django_language, message_locale
from assina.portal.models import PortalSettings
from assina.portal.queries import UsageFacts, usage_facts
from assina.subscriptions.models import Subscription, SubscriptionItem
from assina.time import now as clock_now

MAX_SUGGESTIONS = 3
NEAR_LIMIT = 0.8  # share of the included units that counts as "near the limit"
CROSS_MIN_SHARE = 0.2
POPULAR_MIN_SHARE = 0.1
MIN_CUSTOMERS = 2  # no "customers like you" out of one customer
SHOWN_EVERY = timedelta(hours=24)
ACCEPT_WITHIN = timedelta(days=30)
KINDS = ("usage_upsell", "limit_upsell", "cross_sell", "bundle", "popular")
MAX_BUNDLES = 1  # bundle suggestions per subscription (portal) or checkout page
BUNDLES_KEPT_SECONDS = 60  # how long a process keeps a plan's bundles for its checkout page
SURFACES = ("portal", "checkout", "api", "admin")


class SuggestionError(DomainError):
    pass


@dataclass(frozen=True)
class Suggestion:
    key: str  # "plan:team" (an upgrade or a bundle) or "addon:priority" (an add-on)
    kind: str  # one of KINDS
    plan: str  # the plan or add-on's code
    name: str
    price: str  # its price per period, formatted for the customer
    amount: int  # minor units per period
    monthly_amount: int  # the MRR it would add (an upgrade: the base prices' difference; an add-on: its price)
    currency: str
    reason: str  # in the active language
    subscription: int | None = None

    @property
    def url(self) -> str:
        """Where the customer takes it in the portal; at checkout (no subscription yet) a bundle's
        own checkout page (the page adds ``?lang=``), nothing for an add-on (a checkbox)."""
        if self.kind == "bundle":
            if self.subscription is None:
                return f"/checkout/{self.plan}/"
            return f"/portal/subscriptions/{self.subscription}/change/?plan={self.plan}&quantity=1&suggestion={self.key}"
        if self.subscription is None:
            return ""
        what = "addons" if self.key.startswith("addon:") else "change"
        return f"/portal/subscriptions/{self.subscription}/{what}/?suggestion={self.key}"

    def as_dict(self) -> dict:
        return {**asdict(self), "url": self.url}


# ---------------------------------------------------------------------------------------------
# Reading


def _latest_versions(plan_ids) -> dict[int, PlanVersion]:
    latest: dict[int, PlanVersion] = {}
    for version in PlanVersion.objects.filter(plan_id__in=list(plan_ids)).order_by("plan_id", "version"):
        if version.version < 1_000_000:  # imported versions are numbered apart
            latest[version.plan_id] = version
    return latest


def _live_count(plan_id: int, owned: tuple[int, ...] = ()):
    """A scalar subquery: live subscriptions of ``plan_id`` (with one of ``owned`` when given)."""
    subs = Subscription.objects.filter(plan_id=plan_id, status__in=list(LIVE))
    if owned:
        subs = subs.filter(items__plan_version__plan_id__in=list(owned))
    return Subquery(subs.order_by().values("plan_id").annotate(c=Count("pk", distinct=True)).values("c")[:1])


def _addon_counts(plan_id: int, owned: tuple[int, ...], bundles: bool = False) -> list[dict]:
    """One query: per add-on on live subscriptions of ``plan_id``, how many have it (``n``), how
    many of those also have one of ``owned`` (``together``), the live subscriptions of the plan
    (``total``) and those with one of ``owned`` (``owners``), and the add-on's code and name;
    with ``bundles``, whether a bundle on sale has the plan as a part (``bundled``)."""
    extra = {"together": Count("subscription_id", distinct=True,
                               filter=Q(subscription__items__plan_version__plan_id__in=list(owned))),
             "owners": _live_count(plan_id, owned)} if owned else {}
    query = (SubscriptionItem.objects.filter(subscription__plan_id=plan_id, subscription__status__in=list(LIVE),
                                             plan_version__plan__kind=Plan.Kind.ADDON, plan_version__plan__active=True)
             .values("plan_version__plan_id", "plan_version__plan__code", "plan_version__plan__name",
                     "plan_version__plan__currency", "plan_version__plan__interval", "plan_version__plan__interval_count")
             .annotate(n=Count("subscription_id", distinct=True), total=_live_count(plan_id), **extra))
    if bundles:
        query = query.annotate(bundled=Exists(_bundle_parts_of(plan_id)))
    return list(query)


def _addon_suggestions(plan: Plan, owned: dict[int, str], currency: str, interval: tuple, locale: str,
                       subscription_id: int | None, rows: list[dict]) -> list[Suggestion]:
    """Cross-sells then popular add-ons from ``_addon_counts`` rows (prices: one more query)."""
    candidates = [r for r in rows if r["plan_version__plan_id"] not in owned and r["plan_version__plan__currency"] == currency
                  and (r["plan_version__plan__interval"], r["plan_version__plan__interval_count"]) == interval]
    picked: list[tuple[str, dict, str]] = []
    owners_of_owned = max((r.get("owners") or 0 for r in rows), default=0)
    if owned and owners_of_owned:
        for r in sorted(candidates, key=lambda r: (-r.get("together", 0), r["plan_version__plan__code"])):
            if r.get("together", 0) >= MIN_CUSTOMERS and r["together"] / owners_of_owned >= CROSS_MIN_SHARE:
                picked.append(("cross_sell", r, ""))
    for r in sorted(candidates, key=lambda r: (-r["n"], r["plan_version__plan__code"])):
        total = r["total"] or 0
        if r["n"] >= MIN_CUSTOMERS and total and r["n"] / total >= POPULAR_MIN_SHARE and \
                all(p[1] is not r for p in picked):
            picked.append(("popular", r, ""))
    picked = picked[:MAX_SUGGESTIONS]
    if not picked:
        return []
    versions = _latest_versions(r["plan_version__plan_id"] for _k, r, _x in picked)
    owned_names = ", ".join(sorted(owned.values()))
    result = []
    for kind, r, _x in picked:
        version = versions.get(r["plan_version__plan_id"])
        if version is None:
            continue
        amount = price_amount(version.price_spec(), 1)
        name = r["plan_version__plan__name"]
        if kind == "cross_sell":
            reason = _("Customers on %(plan)s who have %(owned)s often add %(addon)s too (%(count)s of %(total)s).") % {
                "plan": plan.name, "owned": owned_names, "addon": name, "count": number(r["together"], locale),
                "total": number(owners_of_owned, locale)}
        else:
            share = round(100 * r["n"] / r["total"])
            reason = _("Popular on %(plan)s: %(percent)s%% of its customers have %(addon)s.") % {
                "plan": plan.name, "percent": share, "addon": name}
        result.append(Suggestion(key=f"addon:{r['plan_version__plan__code']}", kind=kind, plan=r["plan_version__plan__code"],
                                 name=name, price=money(amount, currency, locale), amount=amount,
                                 monthly_amount=monthly(amount, interval[0], interval[1]), currency=currency, reason=reason,
                                 subscription=subscription_id))
    return result


# ---------------------------------------------------------------------------------------------
# Bundles: a bundle on sale that has the customer's plan as a part, cheaper than its parts apart


def _bundle_parts_of(plan_id: int):
    """The parts of bundles that have ``plan_id`` as a part (a subquery: any version; the
    current one is checked by ``_bundle_rows``)."""
    return BundleComponent.objects.filter(component_id=plan_id, plan_version__plan__active=True,
                                          plan_version__plan__public=True)


def _bundle_rows(plan_id: int, currency: str, interval: str, count: int, subscription_id: int | None = None) -> list[tuple]:
    """One query: every part of the current version of each active, public bundle in ``currency``
    and the interval that has ``plan_id`` as a part, with the bundle's price and each part's
    current price. With ``subscription_id`` (the portal's plan change): only when that
    subscription holds one of ``plan_id`` (quantity 1) and the portal offers the bundle."""
    latest = PlanVersion.objects.filter(plan_id=OuterRef("component_id"), version__lt=IMPORTED_VERSIONS_FROM).order_by("-version")
    newer = PlanVersion.objects.filter(plan_id=OuterRef("plan_version__plan_id"), version__lt=IMPORTED_VERSIONS_FROM,
                                       version__gt=OuterRef("plan_version__version"))
    query = (BundleComponent.objects
             .filter(plan_version_id__in=_bundle_parts_of(plan_id).values("plan_version_id"),
                     plan_version__plan__kind=Plan.Kind.BASE, plan_version__plan__currency=currency,
                     plan_version__plan__interval=interval, plan_version__plan__interval_count=count)
             .exclude(plan_version__plan_id=plan_id).exclude(Exists(newer)))
    if subscription_id is not None:
        settings = PortalSettings.objects.filter(pk=1, any_base_plan=False)
        offered = PortalSettings.plans.through.objects.filter(portalsettings_id=1, plan_id=OuterRef("plan_version__plan_id"))
        query = query.filter(Exists(SubscriptionItem.objects.filter(subscription_id=subscription_id,
                                                                    plan_version__plan_id=plan_id, quantity=1)),
                             ~Exists(settings) | Exists(offered))
    query = query.annotate(part_model=Subquery(latest.values("pricing_model")[:1]),
                           part_unit=Subquery(latest.values("unit_amount")[:1]),
                           part_tiers=Subquery(latest.values("tiers")[:1]),
                           part_package=Subquery(latest.values("package_size")[:1]))
    return list(query.order_by("plan_version__plan__code", "plan_version_id", "position", "pk").values_list(
        "plan_version_id", "plan_version__plan__code", "plan_version__plan__name", "plan_version__pricing_model",
        "plan_version__unit_amount", "plan_version__tiers", "plan_version__package_size", "component_id",
        "component__name", "quantity", "part_model", "part_unit", "part_tiers", "part_package"))


def _spec(currency: str, model, unit, tiers, package) -> PriceSpec:
    if isinstance(tiers, str):  # a JSON column read through a subquery on some databases
        tiers = json.loads(tiers)
    return PriceSpec(model=PricingModel(model), currency=currency, unit_amount=unit or 0,
                     tiers=tuple(Tier(up_to=t.get("up_to"), unit_amount=t.get("unit_amount", 0),
                                      flat_amount=t.get("flat_amount", 0)) for t in tiers or ()),
                     package_size=package or 1)


def _bundle_suggestions(rows: list[tuple], plan_id: int, currency: str, interval: tuple, locale: str,
                        subscription_id: int | None = None, held: set[int] = frozenset(),
                        preferred: tuple[int, ...] = ()) -> list[Suggestion]:
    """Bundles from ``_bundle_rows`` that cost less than their parts at today's prices, at most
    ``MAX_BUNDLES``: first those whose other parts include one of ``preferred`` (add-ons chosen
    or suggested), then the biggest saving. In the portal (``subscription_id``) never one with a
    part the subscription already holds besides its plan: the plan change keeps that add-on, so
    it would be paid twice."""
    parts: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        parts[row[0]].append(row)
    found = []
    for version_id, bundle in parts.items():
        others = {r[7] for r in bundle} - {plan_id}
        if len(others) == len(bundle) or (subscription_id is not None and others & held):
            continue
        _v, code, name, model, unit, tiers, package = bundle[0][:7]
        amount = price_amount(_spec(currency, model, unit, tiers, package), 1)
        values = {r[7]: part_value(_spec(currency, *r[10:14]), r[9]) for r in bundle}
        apart = sum(values.values())
        if amount >= apart:
            continue
        rank = min((preferred.index(p) for p in others if p in preferred), default=len(preferred))
        found.append((rank, amount - apart, code, bundle, amount, apart, values[plan_id]))
    found.sort(key=lambda f: f[:3])
    result = []
    with translation.override(django_language(locale)):
        for _rank, _saving, code, bundle, amount, apart, plan_amount in found[:MAX_BUNDLES]:
            names = [r[8] if r[9] == 1 else f"{number(r[9], locale)} × {r[8]}" for r in bundle]
            reason = _("%(parts)s together as %(bundle)s: %(price)s per %(interval)s instead of %(total)s.") % {
                "parts": format_list(names, locale=babel_locale(locale)), "bundle": bundle[0][2],
                "price": money(amount, currency, locale), "interval": interval_word(interval[0], interval[1], locale),
                "total": money(apart, currency, locale)}
            added = amount - plan_amount if subscription_id is not None else amount  # the portal: in place of the plan
            result.append(Suggestion(key=f"plan:{code}", kind="bundle", plan=code, name=bundle[0][2],
                                     price=money(amount, currency, locale), amount=amount,
                                     monthly_amount=monthly(added, interval[0], interval[1]), currency=currency,
                                     reason=reason, subscription=subscription_id))
    return result


_KEPT_BUNDLES: dict[tuple, tuple[float, list[tuple]]] = {}
_KEPT_BUNDLES_LOCK = threading.Lock()


def forget_bundles() -> None:
    """Drop the bundles this process keeps for checkout pages (tests)."""
    with _KEPT_BUNDLES_LOCK:
        _KEPT_BUNDLES.clear()


def checkout_bundles(plan: Plan, locale: str, preferred: tuple[int, ...] = (), room: int = MAX_BUNDLES) -> list[Suggestion]:
    """Checkout: the bundle (``MAX_BUNDLES``) to offer instead of ``plan``, a link to its own
    checkout page; ``preferred``: the add-ons chosen or suggested on the page (ids), a bundle
    with one of them first; ``room``: how many suggestions the page has left (three in all). The
    bundles of a plan are read at most once a minute per process (one query)."""
    if room <= 0:
        return []
    key = (plan.pk, plan.currency, plan.interval, plan.interval_count)
    with _KEPT_BUNDLES_LOCK:
        kept = _KEPT_BUNDLES.get(key)
    if kept is None or wall_time.monotonic() - kept[0] > BUNDLES_KEPT_SECONDS:
        kept = (wall_time.monotonic(), _bundle_rows(plan.pk, plan.currency, plan.interval, plan.interval_count))
        with _KEPT_BUNDLES_LOCK:
            _KEPT_BUNDLES[key] = kept
    if not kept[1]:
        return []
    return _bundle_suggestions(kept[1], plan.pk, plan.currency, (plan.interval, plan.interval_count),
                               message_locale(locale), preferred=tuple(preferred))[:room]


def quick_suggestions(subscription, owned_addons: dict[int, str] | None = None, locale: str | None = None) -> list[Suggestion]:
    """The add-on suggestions (cross-sell, popular) and a bundle for one subscription: two
    queries (counts, prices; none for prices when nothing is suggested), one more for the bundles
    only when a bundle on sale has the plan as a part (the counts say so), one more for its add-ons when
    ``owned_addons`` is not given. ``owned_addons``: {add-on plan id: name} the caller has loaded already (the
    portal's summary has the items); ``locale``: the customer's (default: theirs)."""
    sub = subscription
    if owned_addons is None:
        owned_addons = dict(SubscriptionItem.objects.filter(subscription=sub, plan_version__plan__kind=Plan.Kind.ADDON)
                            .values_list("plan_version__plan_id", "plan_version__plan__name"))
    owned = tuple(sorted(owned_addons))
    locale = locale or sub.customer.locale
    interval = (sub.interval, sub.interval_count)
    rows = _addon_counts(sub.plan_id, owned, bundles=True)
    found = _addon_suggestions(sub.plan, owned_addons, sub.currency, interval, locale, sub.pk, rows) if rows else []
    if not rows or rows[0]["bundled"]:  # a bundle on sale has this plan as a part (or nobody holds an add-on)
        bundle_rows = _bundle_rows(sub.plan_id, sub.currency, sub.interval, sub.interval_count, sub.pk)
        preferred = tuple(s.plan for s in found)
        codes = {r["plan_version__plan__code"]: r["plan_version__plan_id"] for r in rows}
        found += _bundle_suggestions(bundle_rows, sub.plan_id, sub.currency, interval, locale, sub.pk,
                                     held=set(owned_addons), preferred=tuple(codes[c] for c in preferred if c in codes))
    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(found, key=lambda s: order[s.kind])[:MAX_SUGGESTIONS]


def for_plan(plan: Plan, locale: str, chosen_addons: dict[int, str] | None = None) -> list[Suggestion]:
    """Checkout: the add-ons to suggest to a new customer of ``plan`` (and the add-ons already
    chosen in the form, ``{plan id: name}``, for cross-sells). Two queries."""
    chosen = chosen_addons or {}
    owned = tuple(sorted(chosen))
    rows = _addon_counts(plan.pk, owned)
    if not rows:
        return []
    return _addon_suggestions(plan, chosen, plan.currency, (plan.interval, plan.interval_count), locale, None, rows)[:MAX_SUGGESTIONS]


def _usage_suggestions(sub: Subscription, locale: str) -> list[Suggestion]:
    """The usage upsells of ``sub`` (its base item: one query; the usage and prices: one more)."""
    base = (SubscriptionItem.objects.filter(subscription=sub, plan_version__plan__kind=Plan.Kind.BASE)
            .values_list("plan_version_id", "quantity").first())
    if base is None:
        return []
    return usage_upsells(sub, base[0], base[1], locale)


def usage_upsells(sub: Subscription, base_version_id: int, quantity: int, locale: str) -> list[Suggestion]:
    """Upsells from the last billed period's metered usage of ``sub`` (its pk, plan id and name,
    currency and interval; its base item's plan version and quantity): a higher plan that prices
    it better, or one that includes more of a metric whose included units are nearly used up.
    One fixed statement (``portal.queries.usage_facts``)."""
    facts = usage_facts(sub.pk, base_version_id, sub.plan_id, sub.currency, sub.interval, sub.interval_count)
    return usage_upsells_from(facts, sub, base_version_id, quantity, locale)


def usage_upsells_from(facts: UsageFacts, sub: Subscription, base_version_id: int, quantity: int,
                       locale: str) -> list[Suggestion]:
    """``usage_upsells`` from facts already read."""
    usage, names = facts.usage, facts.metric_names
    if not usage or base_version_id not in facts.versions:
        return []
    currency = sub.currency

    def base_amount(version_id: int) -> int:
        _plan, _code, _name, model, unit, tiers, package = facts.versions[version_id]
        return price_amount(_spec(currency, model, unit, tiers, package), quantity)

    def cost(version_id: int) -> int:
        total = base_amount(version_id)
        for code, used in usage.items():
            price = facts.metered.get(version_id, {}).get(code)
            if price is not None:
                total += price_amount(_spec(currency, *price), used)
        return total

    def included(version_id: int, code: str) -> int | None:
        price = facts.metered.get(version_id, {}).get(code)
        if price is None or not price[2]:
            return None
        first = price[2][0]
        free = not first.get("unit_amount") and not first.get("flat_amount") and first.get("up_to")
        return int(first["up_to"]) if free else None

    current_cost = cost(base_version_id)
    current_base = base_amount(base_version_id)
    result = []
    for version_id, (plan_id, plan_code, plan_name, *_price) in sorted(facts.versions.items(), key=lambda v: v[1][0]):
        if plan_id == sub.plan_id:
            continue
        amount = base_amount(version_id)
        if amount <= current_base:
            continue  # only a higher plan is an upsell
        added = monthly(amount - current_base, sub.interval, sub.interval_count)
        new_cost = cost(version_id)
        if new_cost < current_cost:
            code = max(usage, key=lambda c: usage[c])
            reason = _("With your usage last period (%(quantity)s %(metric)s), %(plan)s would have cost %(new)s instead of "
                       "%(old)s.") % {"quantity": number(usage[code], locale), "metric": names.get(code, code),
                                      "plan": plan_name, "new": money(new_cost, currency, locale),
                                      "old": money(current_cost, currency, locale)}
            result.append((0, new_cost - current_cost, Suggestion(
                key=f"plan:{plan_code}", kind="usage_upsell", plan=plan_code, name=plan_name,
                price=money(amount, currency, locale), amount=amount, monthly_amount=added, currency=currency,
                reason=reason, subscription=sub.pk)))
            continue
        for code, used in sorted(usage.items()):
            mine, theirs = included(base_version_id, code), included(version_id, code)
            if mine and used >= NEAR_LIMIT * mine and theirs and theirs > mine:
                reason = _("You used %(used)s of the %(included)s %(metric)s included in %(current)s; %(plan)s includes "
                           "%(more)s.") % {"used": number(used, locale), "included": number(mine, locale),
                                           "metric": names.get(code, code), "current": sub.plan.name, "plan": plan_name,
                                           "more": number(theirs, locale)}
                result.append((1, amount, Suggestion(
                    key=f"plan:{plan_code}", kind="limit_upsell", plan=plan_code, name=plan_name,
                    price=money(amount, currency, locale), amount=amount, monthly_amount=added, currency=currency,
                    reason=reason, subscription=sub.pk)))
                break
    return [s for _rank, _cost, s in sorted(result, key=lambda r: (r[0], r[1]))]


def suggestions_for(customer_id: int | str, locale: str | None = None) -> list[Suggestion]:
    """Every source, for each live subscription of the customer: at most three in all, the
    strongest first, one suggestion per plan or add-on."""
    raw = str(customer_id).removeprefix("cus_")
    customer = Customer.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
    if customer is None:
        raise SuggestionError(_("unknown customer %(customer)s") % {"customer": repr(customer_id)})
    locale = message_locale(locale or customer.locale)
    found: list[Suggestion] = []
    with translation.override("pt-br" if locale == "pt-BR" else "en"):  # the reasons in the customer's language
        for sub in Subscription.objects.select_related("plan", "customer").filter(
                customer=customer, status__in=list(LIVE), cancel_at_period_end=False).order_by("pk"):
            found += _usage_suggestions(sub, locale)
            found += quick_suggestions(sub, locale=locale)
    order = {kind: n for n, kind in enumerate(KINDS)}
    result, seen = [], set()
    for suggestion in sorted(found, key=lambda s: order[s.kind]):
        if suggestion.key not in seen:
            seen.add(suggestion.key)
            result.append(suggestion)
    return result[:MAX_SUGGESTIONS]


# ---------------------------------------------------------------------------------------------
# Shown and accepted


def record_shown(customer_id: int, suggestions: list[Suggestion], surface: str, at: datetime | None = None) -> int:
    """Record ``suggestion.shown`` for those not recorded for this customer in the last
    ``SHOWN_EVERY`` (one query when all were: a page viewed again writes nothing). Returns the
    number written."""
    if not suggestions:
        return 0
    if surface not in SURFACES:
        raise SuggestionError(_("unknown surface %(surface)s") % {"surface": repr(surface)})
    at = at or clock_now()
    recent = {data.get("key") for data in Event.objects.filter(
        customer_id=customer_id, type="suggestion.shown", occurred_at__gt=at - SHOWN_EVERY).values_list("data", flat=True)}
    fresh = [s for s in suggestions[:MAX_SUGGESTIONS] if s.key not in recent]
    if not fresh:
        return 0
    customer = Customer(pk=customer_id)
    with transaction.atomic():
        for s in fresh:
            record("suggestion.shown", customer, at, {"key": s.key, "kind": s.kind, "plan": s.plan, "surface": surface,
                                                      "monthly_amount": s.monthly_amount, "currency": s.currency,
                                                      "subscription": f"sub_{s.subscription}" if s.subscription else None},
                   customer_id=customer_id)
    return len(fresh)


def record_accepted(customer_id: int, key: str, surface: str, at: datetime | None = None) -> bool:
    """Record ``suggestion.accepted`` for the customer's latest shown ``key`` (within 30 days),
    once; call it when the customer takes a suggested plan or add-on. False when it was not
    shown to them lately or is already recorded."""
    at = at or clock_now()
    if surface not in SURFACES:
        raise SuggestionError(_("unknown surface %(surface)s") % {"surface": repr(surface)})
    with transaction.atomic():
        Customer.objects.select_for_update().filter(pk=customer_id).values_list("pk", flat=True).first()
        shown = (Event.objects.filter(customer_id=customer_id, type="suggestion.shown", data__key=key,
                                      occurred_at__gt=at - ACCEPT_WITHIN, occurred_at__lte=at).order_by("-id").first())
        if shown is None:
            return False
        if Event.objects.filter(customer_id=customer_id, type="suggestion.accepted", data__shown=shown.pk).exists():
            return False
        record("suggestion.accepted", Customer(pk=customer_id), at, {
            "key": key, "kind": shown.data.get("kind"), "plan": shown.data.get("plan"), "surface": surface,
            "shown": shown.pk, "monthly_amount": shown.data.get("monthly_amount", 0), "currency": shown.data.get("currency")},
               customer_id=customer_id)
    return True


def report(since: datetime | None = None, until: datetime | None = None) -> dict:
    """Shown, accepted, acceptance rate and added MRR (minor units per currency), overall and by
    kind, for suggestions shown in [since, until] (default: the last 90 days)."""
    until = until or clock_now()
    since = since or until - timedelta(days=90)
    shown = list(Event.objects.filter(type="suggestion.shown", occurred_at__gte=since, occurred_at__lte=until)
                 .values_list("id", "data"))
    ids = {pk for pk, _data in shown}
    accepted = [data for data in Event.objects.filter(type="suggestion.accepted", occurred_at__gte=since)
                .values_list("data", flat=True) if data.get("shown") in ids]
    by_kind: dict[str, Counter] = {kind: Counter() for kind in KINDS}
    mrr: dict[str, dict[str, int]] = {kind: defaultdict(int) for kind in KINDS}
    for _pk, data in shown:
        by_kind.setdefault(data.get("kind"), Counter())["shown"] += 1
    for data in accepted:
        kind = data.get("kind")
        by_kind.setdefault(kind, Counter())["accepted"] += 1
        mrr.setdefault(kind, defaultdict(int))[data.get("currency") or ""] += int(data.get("monthly_amount") or 0)

    def figures(counter: Counter, added: dict) -> dict:
        return {"shown": counter["shown"], "accepted": counter["accepted"],
                "acceptance_rate": round(counter["accepted"] / counter["shown"], 4) if counter["shown"] else None,
                "added_mrr": dict(added)}

    total = Counter()
    total_mrr: dict[str, int] = defaultdict(int)
    for kind, counter in by_kind.items():
        total.update(counter)
        for currency, amount in mrr.get(kind, {}).items():
            total_mrr[currency] += amount
    return {"from": since.isoformat(), "to": until.isoformat(), **figures(total, total_mrr),
            "by_kind": [{"kind": kind, **figures(by_kind[kind], mrr.get(kind, {}))} for kind in by_kind]}
