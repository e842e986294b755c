"""Settling a period that stops early, on pause or cancel-now (core.early_end)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from assina.core.early_end import UnusedTimeLine, credits_unused_time, settle_early_end, stops_within_period
from assina.core.invoicing import DraftLine, LineKind

START = datetime(2027, 1, 10, tzinfo=UTC)
END = datetime(2027, 2, 10, tzinfo=UTC)
AT = datetime(2027, 1, 25, tzinfo=UTC)
USAGE = DraftLine(kind=LineKind.SUBSCRIPTION, description="API calls", amount=700)
CARRIED = DraftLine(kind=LineKind.PRORATION, description="Remaining time on Pro", amount=1200)
LINE = UnusedTimeLine(template="Unused time on %(plan)s after pause", params={"plan": "Pro"}, item_code="pro", period_end=END)


def test_unused_time_is_credited_inside_the_running_period_when_asked_and_not_during_a_trial() -> None:
    assert credits_unused_time("active", True, START, END, AT)
    assert credits_unused_time("past_due", True, START, END, START)
    assert not credits_unused_time("active", False, START, END, AT)  # cancel now without prorate
    assert not credits_unused_time("trialing", True, START, END, AT)  # nothing was paid
    assert not credits_unused_time("active", True, START, END, END)  # nothing left
    assert not credits_unused_time("paused", True, START, AT - timedelta(days=1), AT)  # a pause ended it already
    assert stops_within_period(START, END, START) and not stops_within_period(START, END, END)


def test_without_carried_items_the_unused_time_is_a_credit_note_on_the_periods_invoice() -> None:
    settled = settle_early_end(1500, AT, creditable=3000, carried=[], usage=[], unused_line=LINE)
    assert (settled.credit_note, settled.to_balance, settled.final_lines) == (1500, 0, ())


def _split(unused: int, creditable: int | None) -> tuple[int, int]:
    settled = settle_early_end(unused, AT, creditable=creditable, carried=[], usage=[], unused_line=LINE)
    return settled.credit_note, settled.to_balance


def test_what_the_invoice_cannot_take_goes_to_the_credit_balance() -> None:
    assert _split(5000, 3000) == (3000, 2000)
    assert _split(5000, 0) == (0, 5000)  # credited in full already
    assert _split(5000, -10) == (0, 5000)
    assert _split(5000, None) == (0, 5000)  # the period has no invoice


def test_the_periods_usage_is_a_final_invoice_of_its_own() -> None:
    settled = settle_early_end(0, AT, creditable=3000, carried=[], usage=[USAGE], unused_line=LINE)
    assert (settled.credit_note, settled.to_balance, settled.final_lines) == (0, 0, (USAGE,))
    assert not settled.takes_carried_items


def test_carried_items_go_on_a_final_invoice_with_the_usage_and_the_unused_time_as_a_negative_line() -> None:
    settled = settle_early_end(2000, AT, creditable=None, carried=[CARRIED], usage=[USAGE], unused_line=LINE)
    assert (settled.credit_note, settled.to_balance, settled.takes_carried_items) == (0, 0, True)
    assert settled.final_lines[:2] == (CARRIED, USAGE)
    credit = settled.final_lines[2]
    assert (credit.kind, credit.amount, credit.period_start, credit.period_end, credit.item_code) == \
        (LineKind.PRORATION, -2000, AT, END, "pro")
    assert credit.description == "Unused time on Pro after pause"
    assert credit.description_template == LINE.template and credit.description_params == {"plan": "Pro"}
    # Nothing unused (cancel now without prorate): only the carried items and the usage.
    assert settle_early_end(0, AT, creditable=None, carried=[CARRIED], usage=[], unused_line=LINE).final_lines == (CARRIED,)


@given(st.integers(0, 10**6), st.one_of(st.none(), st.integers(-1000, 10**6)))
def test_no_money_is_lost_or_made(unused, creditable) -> None:
    settled = settle_early_end(unused, AT, creditable=creditable, carried=[], usage=[], unused_line=LINE)
    assert settled.credit_note + settled.to_balance == unused
    assert 0 <= settled.credit_note <= max(creditable or 0, 0)
