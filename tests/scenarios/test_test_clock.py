"""The sandbox test clock: advancing is idempotent, never goes backwards, and a live database
refuses to move its clock at all."""

import pytest
from factories import (
    FAILING_CARD,
    advance,
    counts,
    make_customer,
    make_plan,
    real_transactions,
    start_clock,
    subscribe,
    utc,
)

from assina.clock.services import ClockError, freeze_clock
from assina.scheduler import advance_clock
from assina.time import now
from assina.invoices.models import Invoice

pytestmark = real_transactions


def _busy_sandbox():
    start_clock(utc(2027, 1, 31, 10))
    make_plan("basic", 4990)
    make_plan("trial", 4990, trial_days=14)
    return (
        subscribe(make_customer(), "basic"),
        subscribe(make_customer(), "trial"),
        subscribe(make_customer(card=None), "trial"),
        subscribe(make_customer(card=FAILING_CARD), "basic"),
    )


def test_advancing_again_to_the_same_time_creates_nothing():
    _busy_sandbox()
    advance(utc(2027, 6, 1))
    before = counts()
    assert before["invoices"] > 5 and before["attempts"] > 5

    summary = advance(utc(2027, 6, 1))

    assert counts() == before
    assert summary.get("renewals", 0) == 0
    assert [k for k, v in summary.items() if k != "clock" and v] == []

    # Going forward one second past nothing due creates nothing either.
    advance(utc(2027, 6, 1, 0, 0, 1))
    assert counts() == before


def test_advancing_in_repeated_small_steps_bills_each_period_exactly_once():
    paying, trial, trial_without_card, declined = (s.pk for s in _busy_sandbox())
    for month in range(2, 7):
        advance(utc(2027, month, 1))
        advance(utc(2027, month, 1))  # repeated on purpose

    invoiced = sorted(Invoice.objects.values_list("subscription_id", "period_start", "status"))
    ends = [utc(2027, 1, 31, 10), utc(2027, 2, 28, 10), utc(2027, 3, 31, 10), utc(2027, 4, 30, 10), utc(2027, 5, 31, 10)]
    trial_months = [utc(2027, m, 14, 10) for m in range(2, 6)]
    assert invoiced == sorted(
        [(paying, p, "paid") for p in ends]
        + [(trial, p, "paid") for p in trial_months]
        # No card at the trial's end: dunning waits 14 days for one, then cancels (the default
        # final action) and writes the invoice off.
        + [(trial_without_card, trial_months[0], "uncollectible")]
        + [(declined, utc(2027, 1, 31, 10), "void")]
    )


def test_the_clock_refuses_to_go_backwards_and_changes_nothing():
    _busy_sandbox()
    advance(utc(2027, 3, 1))
    before = counts()
    with pytest.raises(ClockError, match="the clock cannot go backwards"):
        advance_clock(utc(2027, 2, 28, 23, 59, 59))
    assert now() == utc(2027, 3, 1)
    assert counts() == before
    with pytest.raises(ClockError, match="cannot go back before events that already happened"):
        freeze_clock(utc(2027, 2, 1))
    assert now() == utc(2027, 3, 1)


def test_the_clock_refuses_a_time_without_a_time_zone():
    start_clock(utc(2027, 1, 1))
    from datetime import datetime

    with pytest.raises(ClockError, match="must include a time zone"):
        advance_clock(datetime(2027, 2, 1))
    assert now() == utc(2027, 1, 1)


def test_a_live_database_refuses_to_move_or_freeze_its_clock(settings):
    _busy_sandbox()
    before = counts()
    settings.ASSINA_MODE = "live"
    with pytest.raises(ClockError, match="the clock of a live database cannot be moved"):
        advance_clock(utc(2030, 1, 1))
    with pytest.raises(ClockError, match="the clock of a live database cannot be moved"):
        freeze_clock(utc(2030, 1, 1))
    assert counts() == before
    # A live database reads the real time, never the sandbox's frozen one.
    assert now() != utc(2027, 1, 31, 10)
    settings.ASSINA_MODE = "sandbox"
    assert now() == utc(2027, 1, 31, 10)


def test_one_long_jump_issues_invoices_in_time_order_so_numbers_follow_dates():
    start_clock(utc(2027, 1, 1))
    make_plan("basic", 4990)
    make_plan("weekly", 990, interval="week")
    subscribe(make_customer(), "basic")   # renews on the 1st of each month
    subscribe(make_customer(), "weekly")  # renews every Friday
    advance(utc(2027, 3, 15))

    issued = list(Invoice.objects.order_by("number").values_list("number", "created_at"))
    assert len(issued) == 3 + 11
    # "Processing every piece of due work on the way, in time order": a later number never
    # carries an earlier date.
    dates = [created for _, created in issued]
    assert dates == sorted(dates)
