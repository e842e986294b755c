"""The invoice a subscription's next renewal will issue, previewed for the portal's home.

Drafted as the billing run drafts it (``subscriptions.due_work._renew``, and
``due_work.next_renewals`` for the renewal reminder): a change scheduled for the period's end
first, read by the run's own ``after_scheduled_change`` (a price migration's pinned plan version, a switch
of plan, a new interval's cycle); then the period's items and discount
(``core.invoicing.draft_for_period`` over ``subscriptions.terms``) with shipping; a skipped
delivery only while the renewing terms ship goods (the run's ``skipped_period_lines``: else the
period is billed in full); the closing period's metered usage so far (the usage port,
``subscriptions.metered``; the reminder leaves it out); the items carried from changes made
during the period (``invoices.services.pending_lines``); then the customer's credit balance
(``core.credit.credit_on_issue``).

A subscription with no change pending is drafted from its items as the page loaded them (no
query of its own); only one with a change reads what the change needs.

The metered lines come from the same function that bills them, which marks the usage it
counts; here it runs inside a savepoint that is always rolled back, so the preview writes
nothing (and only for subscriptions that have metered prices).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet

from assina.catalog.models import BundleComponent, Coupon, Plan
from assina.core.bundles import BundlePart
from assina.core.credit import credit_on_issue
from assina.core.invoicing import DiscountTerms, DraftLine, ItemTerms, LineKind, SubscriptionTerms, draft_for_period
from assina.core.periods import Interval, period_starting_at
from assina.core.pricing import price_amount
from assina.core.states import SubscriptionStatus as S
from assina.core.shipping import ShippingTerms
from assina.i18n import CustomerTexts
from assina.invoices.models import PendingItem
from assina.invoices.services import carried_line
# The renewal's own reading of a scheduled change and of a skip (``next_renewals`` is built from them).
from assina.subscriptions.due_work import after_scheduled_change, skipped_period_lines
from assina.subscriptions.metered import metered_lines
from assina.subscriptions.models import ScheduledChange, SkippedDelivery, Subscription, SubscriptionItem
from assina.subscriptions.queries import DUE_FIELDS, DueRow
from assina.subscriptions.terms import TermsLoader

RENEWING = (S.ACTIVE.value, S.TRIALING.value, S.PAST_DUE.value)


@dataclass(frozen=True)
class Upcoming:
    at: datetime  # when the renewal issues it (the current period's end)
    lines: tuple[DraftLine, ...]  # in the customer's language
    total: int
    credit: int  # taken from the credit balance
    amount_due: int  # what the card is charged
    usage: tuple[DraftLine, ...]  # the metered lines among ``lines`` (usage so far this period)
    change: ScheduledChange | None  # a change that takes effect at ``at``
    change_plan: str = ""  # the name of the plan it changes to
    # What the items cost per period once ``change`` applies (before discounts), and its interval.
    change_price: int | None = None
    change_interval: tuple[str, int] | None = None


def with_flags(subs: QuerySet) -> QuerySet:
    """``subs`` annotated with what ``upcoming_for`` would otherwise ask in queries of its own:
    whether each has metered prices, items carried to its next invoice, a pending change.
    Most have none of them, and then nothing more is read."""
    return subs.annotate(
        portal_metered=Exists(SubscriptionItem.objects.filter(subscription=OuterRef("pk"),
                                                              plan_version__metered_prices__isnull=False)),
        portal_carried=Exists(PendingItem.objects.filter(subscription=OuterRef("pk"), invoice__isnull=True)),
        portal_change=Exists(ScheduledChange.objects.filter(subscription=OuterRef("pk"),
                                                            status=ScheduledChange.Status.PENDING)),
        # The next delivery is skipped (issue 19): that period is not billed.
        portal_skipped=Exists(SkippedDelivery.objects.filter(subscription=OuterRef("pk"),
                                                             period_start=OuterRef("current_period_end"))),
    )


def items_with_flags(items: QuerySet) -> QuerySet:
    """Subscription items annotated with whether their plan version is a bundle (has parts), so
    that ``bundle_parts`` reads the parts only when one is."""
    return items.annotate(portal_bundle=Exists(BundleComponent.objects.filter(plan_version_id=OuterRef("plan_version_id"))))


def _flagged(subs: list[Subscription], flag: str) -> list[int]:
    return [s.pk for s in subs if getattr(s, flag, True)]  # without the annotation: ask


def bundle_parts(subs: list[Subscription]) -> dict[int, tuple[BundlePart, ...]]:
    """The parts of each bundle among ``subs``' items by plan version id, as an invoice lists them
    (``subscriptions.terms``): one query, none when no item is a bundle (items from
    ``items_with_flags``)."""
    versions = {item.plan_version_id for sub in subs for item in sub.items.all() if getattr(item, "portal_bundle", True)}
    return _parts_of(versions) if versions else {}


def _parts_of(version_ids) -> dict[int, tuple[BundlePart, ...]]:
    parts: dict[int, list[BundlePart]] = defaultdict(list)
    for part in (BundleComponent.objects.filter(plan_version_id__in=list(version_ids)).select_related("component")
                 .order_by("plan_version_id", "position", "pk")):
        parts[part.plan_version_id].append(BundlePart(code=part.component.code, description=part.component.name,
                                                      quantity=part.quantity, value=part.value))
    return {version: tuple(found) for version, found in parts.items()}


def upcoming_for(subs: list[Subscription], credit_balance: int, locale: str,
                 parts: dict[int, tuple[BundlePart, ...]] | None = None) -> dict[int, Upcoming]:
    """The next renewal's invoice of each of ``subs`` (one customer's, loaded with their items
    and the items' plan versions and plans, as ``summary`` does) that will renew; absent
    when none will come (cancelled at period end, paused, unpaid, incomplete, held for
    catch-up). A fixed number of queries for any number of subscriptions (fewer when ``subs``
    come from ``with_flags``), plus one savepoint per subscription with metered prices and a few
    queries per change scheduled for a period's end.
    ``parts``: ``bundle_parts(subs)`` when the caller has them already."""
    renewing = [s for s in subs if s.status in RENEWING and not s.cancel_at_period_end and s.catch_up_held_at is None]
    if not renewing:
        return {}
    coupon_ids = {s.coupon_id for s in renewing if s.coupon_id}
    coupons = ({c.pk: c.to_core() for c in Coupon.objects.filter(pk__in=coupon_ids).prefetch_related("plans")}
               if coupon_ids else {})
    changes: dict[int, ScheduledChange] = {}
    if ids := _flagged(renewing, "portal_change"):
        for change in (ScheduledChange.objects.filter(subscription_id__in=ids, status=ScheduledChange.Status.PENDING)
                       .order_by("pk")):
            changes[change.subscription_id] = change  # the latest wins, as in ``next_renewals``
    carried: dict[int, list[DraftLine]] = defaultdict(list)
    if ids := _flagged(renewing, "portal_carried"):
        for item in PendingItem.objects.filter(subscription_id__in=ids, invoice__isnull=True).order_by("pk"):
            carried[item.subscription_id].append(carried_line(item))
    metered = set(_flagged(renewing, "portal_metered"))
    skipped = set()
    if ids := _flagged(renewing, "portal_skipped"):
        ends = {s.pk: s.current_period_end for s in renewing}
        skipped = {sub_id for sub_id, start in SkippedDelivery.objects.filter(subscription_id__in=ids)
                   .values_list("subscription_id", "period_start") if ends.get(sub_id) == start}
    if parts is None:
        parts = bundle_parts(renewing)
    texts = CustomerTexts()
    balance = max(credit_balance, 0)
    loader = TermsLoader() if changes else None
    result = {}
    for sub in sorted(renewing, key=lambda s: (s.current_period_end, s.pk)):
        start = sub.current_period_end
        terms, plan_name = _terms(sub, coupons, parts), ""
        change = changes.get(sub.pk)
        if change is not None and change.effective_at == start and (found := _after(loader, sub, change)):
            terms, plan_name = found
        else:
            change = None  # none, one for a later moment, or one the renewal will drop (a retired plan)
        try:
            index, period = period_starting_at(terms.anchor, terms.interval, terms.interval_count, start, terms.tz)
        except ValueError:
            continue  # the period's end is no boundary of its anchor: nothing to foresee
        usage = _usage_so_far(sub) if sub.pk in metered else []
        # A skip counts only while the renewing terms ship goods: the billing run's own rule.
        draft_lines = skipped_period_lines(terms, index, period) if sub.pk in skipped else None
        if draft_lines is None:
            draft_lines = draft_for_period(terms, index, period).lines
        lines = [*draft_lines, *usage, *carried.get(sub.pk, ())]
        total = sum(line.amount for line in lines)
        credit, due, taken = credit_on_issue(total, balance)
        balance -= taken  # renewals at the same moment share the balance (in id order, as the run does)
        changed = {} if change is None else {
            "change_price": sum(price_amount(item.price, item.quantity) for item in terms.items),
            "change_interval": (terms.interval.value, terms.interval_count)}
        result[sub.pk] = Upcoming(at=start, lines=tuple(texts.lines(locale, lines)), total=total, credit=credit,
                                  amount_due=due, usage=tuple(texts.lines(locale, usage)), change=change,
                                  change_plan=plan_name, **changed)
    return result


def _terms(sub: Subscription, coupons: dict, parts: dict[int, tuple[BundlePart, ...]]) -> SubscriptionTerms:
    """``sub``'s terms as ``subscriptions.terms.TermsLoader`` builds them, from its items as
    loaded with it (``sub.items.all()``, with their plan versions) and the bundles' ``parts``
    (their lines go under the bundle's, as on the invoice): no query of its own."""
    items = tuple(ItemTerms(code=item.plan_version.plan.code, description=item.plan_version.plan.name,
                            price=item.plan_version.price_spec(), quantity=item.quantity,
                            kind=LineKind.ADDON if item.plan_version.plan.kind == Plan.Kind.ADDON else LineKind.SUBSCRIPTION,
                            parts=parts.get(item.plan_version_id, ()))
                  for item in sub.items.all())
    discount = None
    if sub.coupon_id and sub.discount_applies_from:
        discount = DiscountTerms(coupon=coupons[sub.coupon_id], applies_from=sub.discount_applies_from,
                                 applies_until=sub.discount_applies_until)
    # A plan that ships goods bills its shipping (issue 19), as ``subscriptions.terms`` does.
    shipped = next((item.plan_version.plan for item in sub.items.all() if item.plan_version.plan.ships_goods), None)
    return SubscriptionTerms(currency=sub.currency, anchor=sub.billing_anchor, interval=Interval(sub.interval),
                             interval_count=sub.interval_count, items=items, billing_starts_at=sub.billing_starts_at,
                             discount=discount, tz=settings.TIME_ZONE,
                             shipping=ShippingTerms(shipped.shipping_amount, shipped.free_shipping_from) if shipped else None)


def _usage_so_far(sub: Subscription) -> list[DraftLine]:
    """The closing period's metered lines, from the function that bills them, rolled back."""
    with transaction.atomic():
        savepoint = transaction.savepoint()
        try:
            return metered_lines([(sub.pk, sub.current_period_start, sub.current_period_end)]).get(sub.pk, [])
        finally:
            transaction.savepoint_rollback(savepoint)


def _after(loader: TermsLoader, sub: Subscription, change: ScheduledChange) -> tuple[SubscriptionTerms, str] | None:
    """``sub``'s terms once ``change`` (scheduled for its period's end) is applied, and the name of
    the plan it then bills, by the billing run's own reading of the change
    (``due_work.after_scheduled_change``, shared with the renewal reminder): a pinned plan version (a price
    migration's new price or plan), the newest price of another plan, a kept plan's version, a new
    interval starting its own cycle. None when the renewal will drop the change (a retired plan)."""
    found = after_scheduled_change(loader, DueRow(*(getattr(sub, name) for name in DUE_FIELDS)), change)
    if found is None:
        return None
    row, plan_name = found
    return loader.terms(row), plan_name
