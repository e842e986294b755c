from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assina.core.discounts import Coupon, CouponDuration
from assina.core.errors import CurrencyMismatch
from assina.core.invoicing import (
    DiscountTerms,
    DraftInvoice,
    ItemTerms,
    LineKind,
    SubscriptionTerms,
    draft_for_period,
    due_invoices,
)
from assina.core.periods import Interval
from assina.core.pricing import PriceSpec, PricingModel, Tier

ANCHOR = datetime(2027, 1, 31, 13, tzinfo=UTC)  # 10:00 in São Paulo
PRO = ItemTerms("pro", "Pro plan", PriceSpec(PricingModel.FLAT, "BRL", unit_amount=4990))
SEATS = ItemTerms(
    "seats", "Extra seats", PriceSpec(PricingModel.PER_UNIT, "BRL", unit_amount=1000),
    quantity=3, kind=LineKind.ADDON,
)  # fmt: skip


def terms(**overrides: object) -> SubscriptionTerms:
    values: dict[str, object] = {
        "currency": "BRL",
        "anchor": ANCHOR,
        "interval": Interval.MONTH,
        "interval_count": 1,
        "items": (PRO, SEATS),
        "billing_starts_at": ANCHOR,
        "tz": "America/Sao_Paulo",
    }
    values.update(overrides)
    return SubscriptionTerms(**values)  # type: ignore[arg-type]


def test_draft_has_one_line_per_item_for_the_period() -> None:
    draft = draft_for_period(terms(), 1)
    assert draft.period_index == 1
    assert draft.period.start == datetime(2027, 2, 28, 13, tzinfo=UTC)
    assert draft.period.end == datetime(2027, 3, 31, 13, tzinfo=UTC)
    assert [(line.kind, line.item_code, line.amount, line.quantity, line.unit_amount)
            for line in draft.lines] == [
        (LineKind.SUBSCRIPTION, "pro", 4990, 1, 4990),
        (LineKind.ADDON, "seats", 3000, 3, 1000),
    ]  # fmt: skip
    assert all(line.period_start == draft.period.start for line in draft.lines)
    assert (draft.subtotal, draft.discount, draft.total) == (7990, 0, 7990)


def test_percent_discount_only_on_plans_the_coupon_covers() -> None:
    coupon = Coupon("PRO20", CouponDuration.FOREVER, percent_off=Decimal(20),
                    applies_to_plans=frozenset({"pro"}))  # fmt: skip
    draft = draft_for_period(terms(discount=DiscountTerms(coupon, ANCHOR, None)), 0)
    discount_line = draft.lines[-1]
    assert discount_line.kind is LineKind.DISCOUNT
    assert discount_line.amount == -998  # 20% of 49.90, seats excluded
    assert (draft.subtotal, draft.discount, draft.total) == (7990, -998, 6992)


def test_once_coupon_discounts_only_the_first_period() -> None:
    coupon = Coupon("FIRST", CouponDuration.ONCE, amount_off=10_000, currency="BRL")
    t = terms(discount=DiscountTerms(coupon, ANCHOR, datetime(2027, 2, 28, 13, tzinfo=UTC)))
    first, second = draft_for_period(t, 0), draft_for_period(t, 1)
    assert first.total == 0  # capped at the subtotal: never negative
    assert first.discount == -7990
    assert second.discount == 0
    assert all(line.kind is not LineKind.DISCOUNT for line in second.lines)


def test_item_priced_in_another_currency_is_rejected() -> None:
    usd = ItemTerms("x", "X", PriceSpec(PricingModel.FLAT, "USD", unit_amount=1))
    with pytest.raises(CurrencyMismatch):
        terms(items=(usd,))


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        terms(anchor=datetime(2027, 1, 31))
    with pytest.raises(ValueError):
        due_invoices(terms(), datetime(2027, 5, 1), frozenset())


def test_due_invoices_bills_every_period_up_to_target_once() -> None:
    t = terms()
    target = datetime(2027, 4, 30, 13, tzinfo=UTC)  # exactly the 4th boundary: due
    drafts = due_invoices(t, target, frozenset())
    local = ZoneInfo("America/Sao_Paulo")
    assert [d.period.start.astimezone(local).date().isoformat() for d in drafts] == [
        "2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30",
    ]  # fmt: skip
    assert [d.period_index for d in drafts] == [0, 1, 2, 3]
    billed = {d.period.start for d in drafts}
    assert due_invoices(t, target, billed) == []
    # A billed period is skipped even when earlier ones are missing.
    assert [d.period_index for d in due_invoices(t, target, {drafts[1].period.start})] == [0, 2, 3]


def test_billed_starts_match_across_time_zones() -> None:
    t = terms()
    target = datetime(2027, 3, 1, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    billed = {d.period.start.astimezone(tokyo) for d in due_invoices(t, target, set())}
    assert due_invoices(t, target, billed) == []


def test_nothing_is_due_before_billing_starts() -> None:
    trial_end = ANCHOR + timedelta(days=14)
    t = terms(billing_starts_at=trial_end)
    assert due_invoices(t, trial_end, frozenset()) == []
    first = due_invoices(t, datetime(2027, 3, 1, tzinfo=UTC), frozenset())
    assert [d.period_index for d in first] == [1]


def test_no_periods_are_billed_at_or_after_the_end() -> None:
    ends = datetime(2027, 3, 31, 13, tzinfo=UTC)  # start of period 2
    t = terms(ends_at=ends)
    drafts = due_invoices(t, datetime(2030, 1, 1, tzinfo=UTC), set())
    assert [d.period_index for d in drafts] == [0, 1]


def test_due_invoices_jumps_to_the_first_billable_period() -> None:
    # Anchored 1970, billing from 2027, daily: must not build 20,000 drafts first.
    anchor = datetime(1970, 1, 1, tzinfo=UTC)
    starts = datetime(2027, 1, 1, tzinfo=UTC)
    t = terms(anchor=anchor, interval=Interval.DAY, billing_starts_at=starts, tz="UTC")
    drafts = due_invoices(t, starts + timedelta(days=2), frozenset())
    assert [d.period.start for d in drafts] == [starts + timedelta(days=i) for i in range(3)]


tiered = PriceSpec(PricingModel.GRADUATED, "BRL", tiers=(Tier(5, 700, 100), Tier(None, 650)))
items_strategy = st.lists(
    st.builds(
        ItemTerms,
        code=st.sampled_from(["pro", "basic", "seats", "storage"]),
        description=st.just("item"),
        price=st.sampled_from([
            PriceSpec(PricingModel.FLAT, "BRL", unit_amount=4990),
            PriceSpec(PricingModel.PER_UNIT, "BRL", unit_amount=333),
            PriceSpec(PricingModel.PACKAGE, "BRL", unit_amount=500, package_size=10),
            tiered,
        ]),
        quantity=st.integers(0, 50),
        kind=st.sampled_from([LineKind.SUBSCRIPTION, LineKind.ADDON]),
    ),
    min_size=1,
    max_size=4,
)  # fmt: skip
coupons = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("0.01"), max_value=100, places=2).map(
        lambda p: Coupon("P", CouponDuration.FOREVER, percent_off=p)
    ),
    st.integers(1, 50_000).map(
        lambda a: Coupon("A", CouponDuration.FOREVER, amount_off=a, currency="BRL",
                         applies_to_plans=frozenset({"pro", "seats"}))
    ),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    items=items_strategy,
    coupon=coupons,
    unit=st.sampled_from(list(Interval)),
    start_offset_days=st.integers(0, 400),
    horizon_days=st.integers(0, 200),
)
def test_drafts_sum_and_due_invoices_is_idempotent(
    items: list[ItemTerms], coupon: Coupon | None, unit: Interval,
    start_offset_days: int, horizon_days: int,
) -> None:  # fmt: skip
    starts = ANCHOR + timedelta(days=start_offset_days)
    t = terms(
        items=tuple(items), interval=unit, billing_starts_at=starts,
        discount=None if coupon is None else DiscountTerms(coupon, ANCHOR, None),
    )  # fmt: skip
    target = starts + timedelta(days=horizon_days)
    drafts = due_invoices(t, target, frozenset())
    for draft in drafts:
        check_draft(draft)
        assert starts <= draft.period.start <= target
    starts_billed = [d.period.start for d in drafts]
    assert starts_billed == sorted(set(starts_billed))
    assert due_invoices(t, target, frozenset(starts_billed)) == []
    # Billing in two runs gives the same periods as one run.
    midway = starts + timedelta(days=horizon_days // 2)
    first_run = due_invoices(t, midway, frozenset())
    second_run = due_invoices(t, target, frozenset(d.period.start for d in first_run))
    assert first_run + second_run == drafts


def check_draft(draft: DraftInvoice) -> None:
    assert draft.total == sum(line.amount for line in draft.lines)
    assert draft.total == draft.subtotal + draft.discount
    assert draft.discount <= 0
    assert -draft.discount <= draft.subtotal
    assert draft.total >= 0
    for line in draft.lines:
        if line.unit_amount is not None:
            assert line.quantity * line.unit_amount == line.amount
