from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.dunning import (
    AWAITING_METHOD, CANCEL, PAUSE, RETRYING, UNPAID, WRITES_OFF, Policy, final_action_applies, schedule_after_failure,
)
from assina.core.states import SubscriptionStatus

STARTED = datetime(2027, 2, 1, 9, tzinfo=UTC)
POLICY = Policy(retry_days=(1, 3, 5, 7, 10, 14), hard_codes=frozenset({"stolen_card", "do_not_honor"}),
                soft_codes=frozenset({"do_not_honor"}), grace_days=7, final_action=CANCEL)


def day(n: int, hours: int = 0) -> datetime:
    return STARTED + timedelta(days=n, hours=hours)


def test_retries_count_from_the_first_failure() -> None:
    assert POLICY.next_retry(STARTED, STARTED) == day(1)
    assert POLICY.next_retry(STARTED, day(1)) == day(3)
    # An extra attempt in between (a new card) keeps the schedule.
    assert POLICY.next_retry(STARTED, day(2, 5)) == day(3)
    assert POLICY.next_retry(STARTED, day(10)) == day(14)
    assert POLICY.next_retry(STARTED, day(14)) is None


def test_hard_declines_are_the_hard_codes_not_listed_as_soft() -> None:
    assert POLICY.is_hard("stolen_card")
    assert not POLICY.is_hard("do_not_honor")  # listed as soft too: soft wins
    assert not POLICY.is_hard("insufficient_funds")  # unknown codes are retried


def test_grace_and_final_times() -> None:
    assert POLICY.grace_until(STARTED) == day(7)
    assert POLICY.final_at(STARTED) == day(14)
    assert POLICY.last_day == 14
    empty = Policy((), frozenset(), frozenset(), 0, UNPAID)
    assert empty.last_day == 0 and empty.final_at(STARTED) == STARTED and empty.next_retry(STARTED, STARTED) is None


def test_a_soft_failure_schedules_the_next_retry() -> None:
    assert schedule_after_failure(POLICY, STARTED, STARTED, hard=False) == (day(1), None, RETRYING, False)
    assert schedule_after_failure(POLICY, STARTED, day(7), hard=False) == (day(10), None, RETRYING, False)


def test_the_last_soft_failure_makes_the_final_action_due_at_once() -> None:
    assert schedule_after_failure(POLICY, STARTED, day(14), hard=False) == (None, day(14), RETRYING, True)


def test_a_hard_decline_waits_for_a_new_card_until_the_schedule_would_end() -> None:
    assert schedule_after_failure(POLICY, STARTED, day(3), hard=True) == (None, day(14), AWAITING_METHOD, False)
    # Past the schedule's end: due now.
    assert schedule_after_failure(POLICY, STARTED, day(20), hard=True) == (None, day(20), AWAITING_METHOD, True)


@given(st.integers(min_value=0, max_value=30 * 24), st.booleans())
def test_a_schedule_always_has_what_comes_next(hours: int, hard: bool) -> None:
    failed = STARTED + timedelta(hours=hours)
    next_retry, final_at, status, final = schedule_after_failure(POLICY, STARTED, failed, hard)
    # Exactly one of: a retry ahead, or a final action (due now or later).
    assert (next_retry is None) != (final_at is None)
    if next_retry is not None:
        assert next_retry > failed and not final and status == RETRYING
    else:
        assert final_at >= failed and final == (final_at <= failed)


def test_which_final_actions_write_the_invoice_off() -> None:
    assert WRITES_OFF == {CANCEL, PAUSE}
    assert UNPAID not in WRITES_OFF  # the invoice stays open: paying it reactivates the subscription


@pytest.mark.parametrize("status", list(SubscriptionStatus))
def test_the_final_action_acts_only_on_a_past_due_subscription(status: SubscriptionStatus) -> None:
    assert final_action_applies(status.value) == (status is SubscriptionStatus.PAST_DUE)
