"""The owner's rules for the cancel flow: which reasons are shown, in which order and words, and
which offer fits a reason for a given customer and subscription.

The defaults are written on first use (when the settings row is made), so a new installation
has a working flow and the owner edits rows instead of starting from nothing; an owner who
deletes a default offer keeps it deleted (the settings row marks the seeding as done).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import translation

from assina.catalog.models import Plan
from assina.core.mrr import monthly
from assina.core.pricing import price_amount
from assina.core.states import SubscriptionStatus as S

from .models import REASON_CODES, REASONS, CancelOffer, CancelReason, CancelSession, OfferKind, RetentionSettings

# reason -> (kind, pause periods, percent off, discount periods); see docs/portal.md "Cancel flow".
DEFAULT_OFFERS = {
    "unused": (OfferKind.PAUSE, 1, None, None),
    "too_expensive": (OfferKind.DISCOUNT, None, Decimal("20"), 3),
    "missing_features": (OfferKind.FEEDBACK, None, None, None),
    "low_quality": (OfferKind.FEEDBACK, None, None, None),
    "customer_service": (OfferKind.FEEDBACK, None, None, None),
    "switched_service": (OfferKind.NONE, None, None, None),
    "too_complex": (OfferKind.FEEDBACK, None, None, None),
    "other": (OfferKind.FEEDBACK, None, None, None),
}
MAX_PAUSE_PERIODS = 3


def settings_row() -> RetentionSettings:
    """The settings (pk 1); made with the default reasons and offers the first time."""
    found = RetentionSettings.objects.filter(pk=1).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            found = RetentionSettings.objects.create(pk=1)
            _seed()
    except IntegrityError:  # another request made it first
        found = RetentionSettings.objects.get(pk=1)
    return found


def _seed() -> None:
    CancelReason.objects.bulk_create([CancelReason(code=code, position=(i + 1) * 10) for i, code in enumerate(REASON_CODES)],
                                     ignore_conflicts=True)
    CancelOffer.objects.bulk_create([
        CancelOffer(reason=reason, variant=CancelOffer.Variant.A, kind=kind, pause_periods=periods, percent_off=percent,
                    discount_periods=discount_periods)
        for reason, (kind, periods, percent, discount_periods) in DEFAULT_OFFERS.items()
    ], ignore_conflicts=True)


# --- reasons ------------------------------------------------------------------------------------

def reason_label(row: CancelReason | None, code: str, language: str) -> str:
    """The reason in ``language`` ("en" or "pt-br"): the owner's words if set, else the standard ones."""
    own = (row.label_pt_br if language == "pt-br" else row.label_en) if row is not None else ""
    if own:
        return own
    with translation.override(language):
        return str(dict(REASONS)[code])


def shown_reasons(seed: str, language: str) -> list[tuple[str, str]]:
    """(code, label) of the visible reasons in the order this visit shows them: the owner's
    order, or shuffled by ``seed`` (the same seed, the same order: a page reloaded or posted
    again shows what was shown). "Other" stays last when shuffled: it is the way out."""
    config = settings_row()
    rows = {row.code: row for row in CancelReason.objects.all()}
    visible = sorted((row for row in rows.values() if not row.hidden and row.code in REASON_CODES),
                     key=lambda row: (row.position, row.pk))
    codes = [row.code for row in visible] or list(REASON_CODES)  # every reason hidden: show them all rather than none
    if config.shuffle_reasons:
        last = [c for c in codes if c == "other"]
        codes = [c for c in codes if c != "other"]
        random.Random(hashlib.sha256(seed.encode()).hexdigest()).shuffle(codes)
        codes += last
    return [(code, reason_label(rows.get(code), code, language)) for code in codes]


# --- offers -------------------------------------------------------------------------------------

def variant_for(customer_id: int, reason: str) -> str:
    """"a" or "b": random across customers, always the same for one customer and reason."""
    digest = hashlib.sha256(f"assina.retention.variant:{customer_id}:{reason}".encode()).digest()
    return "ab"[digest[0] % 2]


@dataclass
class Offered:
    """What the flow offers: the rule it came from (None when no rule applies), its variant, the
    kind of offer and its terms as shown (kind "none": nothing is shown; ``terms`` says why)."""

    offer: CancelOffer | None
    variant: str
    kind: str
    terms: dict = field(default_factory=dict)

    @property
    def shown(self) -> bool:
        return self.kind != OfferKind.NONE


def accepted_recently(customer_id: int, at: datetime, days: int) -> int:
    return CancelSession.objects.filter(customer_id=customer_id, offer_accepted_at__gt=at - timedelta(days=days)).count()


def offer_for(sub, reason: str, at: datetime) -> Offered:
    """The offer for ``reason`` to this subscription's customer now."""
    config = settings_row()
    if config.offer_limit == 0 or accepted_recently(sub.customer_id, at, config.offer_window_days) >= config.offer_limit:
        return Offered(None, "", OfferKind.NONE, {"withheld": "offer_limit"})
    rules = {o.variant: o for o in CancelOffer.objects.filter(reason=reason, active=True)}
    if not rules:
        return Offered(None, "", OfferKind.NONE, {"withheld": "no_rule"})
    variant = variant_for(sub.customer_id, reason) if len(rules) == 2 else next(iter(rules))
    rule = rules[variant]
    kind, terms = rule.kind, _terms(rule, sub, at)
    if terms is None:
        return Offered(rule, variant, OfferKind.NONE, {"withheld": "not_applicable", "rule": rule.kind})
    return Offered(rule, variant, kind, terms)


def _terms(rule: CancelOffer, sub, at: datetime) -> dict | None:
    """The rule's terms for this subscription, or None when it cannot apply to it."""
    if rule.kind == OfferKind.NONE:
        return None
    if rule.kind == OfferKind.PAUSE:
        if sub.status != S.ACTIVE.value or sub.cancel_at_period_end:
            return None
        return {"periods": max(1, min(MAX_PAUSE_PERIODS, rule.pause_periods or 1))}
    if rule.kind == OfferKind.PLAN_CHANGE:
        plan = cheaper_plan(sub, rule.plan_code)
        return None if plan is None else {"plan": plan.code}
    if rule.kind == OfferKind.DISCOUNT:
        return _discount_terms(rule, sub, at)
    if rule.kind == OfferKind.FEEDBACK:
        discount = _discount_terms(rule, sub, at) if rule.percent_off else None
        return {"discount": discount} if discount else {}
    return None


def _discount_terms(rule: CancelOffer, sub, at: datetime) -> dict | None:
    percent = rule.percent_off
    if percent is None or not (Decimal(0) < percent <= Decimal(100)):
        return None
    if sub.status not in (S.ACTIVE.value, S.TRIALING.value, S.PAST_DUE.value):
        return None
    if sub.coupon_id and (sub.discount_applies_until is None or sub.discount_applies_until > sub.current_period_start):
        # A discount on this period or the next ones already: one at a time (subscriptions.discounts
        # refuses to replace the current period's, and a new one would take away the next ones').
        return None
    return {"percent_off": str(percent.normalize()) if percent == percent.to_integral() else str(percent),
            "periods": rule.discount_periods or None}


def base_amount(plan: Plan, quantity: int) -> int:
    return price_amount(plan.current_version().price_spec(), quantity)


def cheaper_plan(sub, code: str = "") -> Plan | None:
    """The plan to offer: ``code`` if it is an active plan in the subscription's currency that
    costs less at its quantity; without a code, the dearest of the active plans in the same
    currency and interval that cost less (the next cheaper one). None when there is none."""
    if sub.status not in (S.ACTIVE.value, S.TRIALING.value):
        return None
    item = sub.items.select_related("plan_version__plan").filter(plan_version__plan__kind=Plan.Kind.BASE).first()
    if item is None:
        return None
    current = price_amount(item.plan_version.price_spec(), item.quantity)
    candidates = Plan.objects.filter(kind=Plan.Kind.BASE, active=True, currency=sub.currency).exclude(pk=sub.plan_id)
    if code:
        candidates = candidates.filter(code=code)
    else:
        candidates = candidates.filter(interval=sub.interval, interval_count=sub.interval_count)
    # Compared per month: a plan named by code may bill in another interval.
    current = monthly(current, sub.interval, sub.interval_count)
    priced = [(monthly(base_amount(plan, item.quantity), plan.interval, plan.interval_count), plan) for plan in candidates]
    cheaper = [(amount, plan) for amount, plan in priced if amount < current]
    if not cheaper:
        return None
    return max(cheaper, key=lambda pair: (pair[0], -pair[1].pk))[1]
