"""The status sets, written once in core.states, and what they mean."""

from datetime import UTC, datetime, timedelta

from assina.core.states import (
    AWAITING_PAYMENT, LIVE, NEVER_DUE, NEXT_ACTION_AT_PERIOD_END, PAYING, WITH_ACCESS, SubscriptionStatus, has_access,
)  # fmt: skip

S = SubscriptionStatus


def test_the_sets() -> None:
    assert LIVE == {S.TRIALING, S.ACTIVE, S.PAST_DUE}
    assert PAYING == {S.ACTIVE, S.PAST_DUE}
    assert WITH_ACCESS == LIVE
    assert NEXT_ACTION_AT_PERIOD_END == LIVE
    assert NEVER_DUE == {S.CANCELED, S.UNPAID}
    assert AWAITING_PAYMENT == {S.PAST_DUE, S.INCOMPLETE, S.UNPAID}


def test_a_set_answers_for_the_stored_text_and_filters_by_it() -> None:
    assert "active" in LIVE and "paused" not in LIVE
    assert sorted(PAYING) == ["active", "past_due"]
    assert PAYING <= LIVE and not (LIVE & NEVER_DUE)


def test_access_follows_the_set_and_the_grace_period() -> None:
    at = datetime(2027, 1, 1, tzinfo=UTC)
    assert [s for s in S if has_access(s)] == [s for s in S if s in WITH_ACCESS]
    assert has_access("past_due", at + timedelta(days=1), at)
    assert not has_access("past_due", at, at)
