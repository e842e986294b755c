"""A subscription's next action time (core.schedule): the rule every write of a subscription uses."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assina.core.schedule import INCOMPLETE_EXPIRES_AFTER, next_action_time
from assina.core.states import LIVE, NEVER_DUE, NEXT_ACTION_AT_PERIOD_END, SubscriptionStatus

S = SubscriptionStatus
CREATED = datetime(2027, 1, 10, 9, tzinfo=UTC)
PERIOD_END = datetime(2027, 2, 10, 9, tzinfo=UTC)
RESUMES = datetime(2027, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("status", [S.TRIALING, S.ACTIVE, S.PAST_DUE])
def test_a_running_subscription_is_next_looked_at_when_its_period_ends(status: S) -> None:
    assert next_action_time(status, PERIOD_END, None, CREATED) == PERIOD_END
    assert next_action_time(status.value, PERIOD_END, None, CREATED) == PERIOD_END


@pytest.mark.parametrize("status", [S.TRIALING, S.ACTIVE, S.PAST_DUE])
def test_a_scheduled_change_before_the_period_end_comes_first(status: S) -> None:
    change = PERIOD_END - timedelta(days=3)
    assert next_action_time(status, PERIOD_END, None, CREATED, change) == change
    assert next_action_time(status, PERIOD_END, None, CREATED, PERIOD_END + timedelta(days=1)) == PERIOD_END


def test_a_paused_subscription_is_next_looked_at_when_it_resumes_and_never_without_a_date() -> None:
    change = PERIOD_END - timedelta(days=3)  # a pause cancels changes; one left would not count
    assert next_action_time(S.PAUSED, PERIOD_END, RESUMES, CREATED, change) == RESUMES
    assert next_action_time(S.PAUSED, PERIOD_END, None, CREATED) is None


def test_an_incomplete_subscription_expires_23_hours_after_it_was_created() -> None:
    assert INCOMPLETE_EXPIRES_AFTER == timedelta(hours=23)
    assert next_action_time(S.INCOMPLETE, PERIOD_END, None, CREATED) == CREATED + timedelta(hours=23)


@pytest.mark.parametrize("status", [S.CANCELED, S.UNPAID])
def test_canceled_and_unpaid_subscriptions_never_fall_due_by_themselves(status: S) -> None:
    assert next_action_time(status, PERIOD_END, RESUMES, CREATED, PERIOD_END) is None


def test_every_status_has_a_rule() -> None:
    covered = NEXT_ACTION_AT_PERIOD_END | NEVER_DUE | {S.PAUSED, S.INCOMPLETE}
    assert covered == set(S)
    assert NEXT_ACTION_AT_PERIOD_END == LIVE


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        next_action_time("gone", PERIOD_END, None, CREATED)


@given(st.sampled_from(sorted(LIVE)), st.timedeltas(min_value=timedelta(days=-60), max_value=timedelta(days=60)))
def test_a_running_subscription_is_never_looked_at_after_its_period_end_or_its_first_change(status, offset) -> None:
    change = PERIOD_END + offset
    at = next_action_time(status, PERIOD_END, None, CREATED, change)
    assert at == min(PERIOD_END, change)
