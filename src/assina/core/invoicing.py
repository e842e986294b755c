"""Pure invoice generation, Kill Bill style.

Subscription terms + a target date + the period starts already billed -> draft
invoices for whatever is due. It reads nothing and writes nothing, so re-running it
can never bill a period twice: a period is identified by its start, and the caller
stores that start with a unique constraint (subscription, period start).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from assina.core.bundles import BundlePart
from assina.core.discounts import Coupon, discount_amount
from assina.core.errors import N_, CurrencyMismatch, InvalidPrice
from assina.core.money import Money, english_text, normalize_currency
from assina.core.periods import (
    Interval,
    Period,
    boundary,
    first_index_starting_at_or_after,
    period_at,
    to_utc,
    validate_interval,
    zone,
)
from assina.core.pricing import PriceSpec, PricingModel, display_unit_amount, price_amount
from assina.core.shipping import ShippingTerms, shipping_fee

PART_TEXT = N_("Included: %(part)s (worth %(value)s)")
SHIPPING_TEXT = N_("Shipping")
FREE_SHIPPING_TEXT = N_("Shipping: free from %(threshold)s")
SKIPPED_TEXT = N_("Delivery skipped: %(plan)s (not billed)")


class LineKind(StrEnum):
    SUBSCRIPTION = "subscription"
    ADDON = "addon"
    DISCOUNT = "discount"
    PRORATION = "proration"
    CREDIT = "credit"
    # A bundle's part, shown under the bundle's line (amount 0: the bundle's line carries the price).
    BUNDLE_PART = "bundle_part"
    # One delivery's shipping (``core.shipping``): not prorated, not counted in MRR.
    SHIPPING = "shipping"


@dataclass(frozen=True, slots=True)
class ItemTerms:
    """One billed item; ``code`` is the plan or add-on code (coupons match on it)."""

    code: str
    description: str
    price: PriceSpec
    quantity: int = 1
    kind: LineKind = LineKind.SUBSCRIPTION
    # A bundle's parts (``core.bundles``), shown under its line; empty for any other item.
    parts: tuple[BundlePart, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LineKind(self.kind))
        object.__setattr__(self, "parts", tuple(self.parts))
        if self.kind in (LineKind.DISCOUNT, LineKind.BUNDLE_PART, LineKind.SHIPPING):
            raise InvalidPrice(N_("discounts come from coupons, not from items"))
        if not isinstance(self.quantity, int) or isinstance(self.quantity, bool):
            raise InvalidPrice(N_("quantity must be a whole number"))
        if self.quantity < 0:
            raise InvalidPrice(N_("quantity cannot be negative"))


@dataclass(frozen=True, slots=True)
class DiscountTerms:
    """A redeemed coupon, applied to periods whose start is in [from, until)."""

    coupon: Coupon
    applies_from: datetime
    applies_until: datetime | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "applies_from", to_utc(self.applies_from, "discount start"))
        if self.applies_until is not None:
            object.__setattr__(self, "applies_until", to_utc(self.applies_until, "discount end"))

    def applies_to_period_starting(self, start: datetime) -> bool:
        return self.applies_from <= start and (
            self.applies_until is None or start < self.applies_until
        )


@dataclass(frozen=True, slots=True)
class SubscriptionTerms:
    currency: str
    anchor: datetime
    interval: Interval
    interval_count: int
    items: tuple[ItemTerms, ...]
    billing_starts_at: datetime
    ends_at: datetime | None = None
    discount: DiscountTerms | None = None
    tz: str = "UTC"
    # Physical goods: each period is one delivery with this shipping (None: nothing ships).
    shipping: ShippingTerms | None = None

    def __post_init__(self) -> None:
        currency = normalize_currency(self.currency)
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "interval", validate_interval(self.interval, self.interval_count))
        object.__setattr__(self, "anchor", to_utc(self.anchor, "anchor"))
        starts = to_utc(self.billing_starts_at, "billing start")
        object.__setattr__(self, "billing_starts_at", starts)
        if self.ends_at is not None:
            object.__setattr__(self, "ends_at", to_utc(self.ends_at, "end"))
        zone(self.tz)  # fail at construction, not in the middle of a billing run
        object.__setattr__(self, "items", tuple(self.items))
        if not self.items:
            raise InvalidPrice(N_("a subscription needs at least one item to bill"))
        for item in self.items:
            if item.price.currency != currency:
                raise CurrencyMismatch(
                    N_("item %(item)s is priced in %(item_currency)s but the subscription bills in %(currency)s"),
                    item=item.code, item_currency=item.price.currency, currency=currency,
                )

    def boundary(self, n: int) -> datetime:
        return boundary(self.anchor, self.interval, self.interval_count, n, self.tz)

    def period(self, n: int) -> Period:
        return period_at(self.anchor, self.interval, self.interval_count, n, self.tz)

    def is_billable(self, start: datetime) -> bool:
        return start >= self.billing_starts_at and (self.ends_at is None or start < self.ends_at)


@dataclass(frozen=True, slots=True)
class DraftLine:
    kind: LineKind
    description: str
    amount: int
    quantity: int = 1
    unit_amount: int | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    item_code: str = ""
    # The English ``description`` as a message template and its values (when it is one), so
    # the invoice can say it in the customer's language: description ==
    # ``money.english_text(template, params)`` (amounts as an English customer reads them).
    description_template: str = field(default="", compare=False)
    description_params: Mapping[str, object] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class DraftInvoice:
    currency: str
    period_index: int
    period: Period
    lines: tuple[DraftLine, ...]

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines if line.kind is not LineKind.DISCOUNT)

    @property
    def discount(self) -> int:
        return sum(line.amount for line in self.lines if line.kind is LineKind.DISCOUNT)

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def prorated_total(self) -> int:
        """The total a change mid-period prorates: all but the shipping (the period's delivery
        has shipped; a change neither refunds nor charges it again)."""
        return sum(line.amount for line in self.lines if line.kind is not LineKind.SHIPPING)


def _item_line(item: ItemTerms, period: Period) -> DraftLine:
    amount = price_amount(item.price, item.quantity)
    quantity = item.quantity
    if item.price.model is PricingModel.FLAT:
        # A flat fee is one unit of its amount whatever the seat count, so that
        # quantity x unit_amount == amount holds on every line that shows a unit.
        quantity = min(item.quantity, 1)
    return DraftLine(
        kind=item.kind,
        description=item.description,
        amount=amount,
        quantity=quantity,
        unit_amount=display_unit_amount(item.price, item.quantity),
        period_start=period.start,
        period_end=period.end,
        item_code=item.code,
    )


def _part_lines(item: ItemTerms, period: Period, currency: str) -> list[DraftLine]:
    lines = []
    for part in item.parts:
        quantity = part.quantity * max(item.quantity, 1)
        params = {"part": part.description, "value": Money(part.value * max(item.quantity, 1), currency)}
        lines.append(DraftLine(kind=LineKind.BUNDLE_PART, description=english_text(PART_TEXT, params), amount=0, quantity=quantity,
                               unit_amount=None, period_start=period.start, period_end=period.end, item_code=part.code,
                               description_template=PART_TEXT, description_params=params))
    return lines


def _shipping_line(shipping: ShippingTerms, spend: int, period: Period, currency: str) -> DraftLine:
    fee = shipping_fee(shipping, spend)
    if fee == 0 and shipping.free_from is not None:
        template, params = FREE_SHIPPING_TEXT, {"threshold": Money(shipping.free_from, currency)}
    else:
        template, params = SHIPPING_TEXT, None
    return DraftLine(kind=LineKind.SHIPPING, description=english_text(template, params), amount=fee,
                     quantity=1, unit_amount=fee, period_start=period.start, period_end=period.end, item_code="shipping",
                     description_template=template, description_params=params)


def draft_for_period(terms: SubscriptionTerms, index: int, period: Period | None = None) -> DraftInvoice:
    """The invoice for period ``index``: one line per item (a bundle's parts under it, at 0),
    then the discount line, then the shipping line when the plan ships goods (free when the
    items after the discount reach the plan's threshold, ``core.shipping``).

    ``period`` may be passed when the caller already computed ``terms.period(index)``."""
    period = period or terms.period(index)
    item_lines = [_item_line(item, period) for item in terms.items]
    lines: list[DraftLine] = []
    for item, line in zip(terms.items, item_lines, strict=True):
        lines.append(line)
        if item.parts:
            lines += _part_lines(item, period, terms.currency)
    discount = terms.discount
    if discount is not None and discount.applies_to_period_starting(period.start):
        coupon = discount.coupon
        base = sum(
            line.amount
            for item, line in zip(terms.items, item_lines, strict=True)
            if coupon.applies_to(item.code)
        )
        off = discount_amount(coupon, base, terms.currency)
        if off > 0:
            template, params = coupon.line_description()
            lines.append(
                DraftLine(
                    kind=LineKind.DISCOUNT,
                    description=english_text(template, params),
                    amount=-off,
                    quantity=1,
                    unit_amount=-off,
                    period_start=period.start,
                    period_end=period.end,
                    item_code=coupon.code,
                    description_template=template,
                    description_params=params,
                )
            )
    if terms.shipping is not None:
        lines.append(_shipping_line(terms.shipping, sum(l.amount for l in lines), period, terms.currency))
    return DraftInvoice(terms.currency, index, period, tuple(lines))


def skipped_lines(draft: DraftInvoice, plan_code: str, plan_name: str) -> tuple[DraftLine, ...]:
    """A skipped delivery's period: not billed. One line at 0 in place of the items, the
    discount and the shipping (the period still has its invoice, so it is accounted for)."""
    params = {"plan": plan_name}
    return (DraftLine(kind=LineKind.SUBSCRIPTION, description=SKIPPED_TEXT % params, amount=0, quantity=1,
                      unit_amount=0, period_start=draft.period.start, period_end=draft.period.end, item_code=plan_code,
                      description_template=SKIPPED_TEXT, description_params=params),)


def due_invoices(
    terms: SubscriptionTerms,
    target: datetime,
    billed_period_starts: frozenset[datetime] | set[datetime] | Set[datetime],
) -> list[DraftInvoice]:
    """Drafts for every billable period starting at or before ``target`` not yet billed.

    In time order. Feeding the returned period starts back in yields [].
    """
    target = to_utc(target, "target")
    # Naive starts would silently never match; UTC keeps the membership test exact.
    billed = {to_utc(start, "billed period start") for start in billed_period_starts}
    drafts: list[DraftInvoice] = []
    if target < terms.billing_starts_at or target < terms.anchor:
        return drafts
    n = first_index_starting_at_or_after(
        terms.anchor, terms.interval, terms.interval_count, terms.billing_starts_at, terms.tz
    )
    start = terms.boundary(n)
    while start <= target and terms.is_billable(start):
        if start not in billed:
            drafts.append(draft_for_period(terms, n))
        n += 1
        start = terms.boundary(n)
    return drafts
