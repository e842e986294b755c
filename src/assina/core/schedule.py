"""When the billing run must next look at a subscription: its next action time.

Every piece of billing work (renewal, trial end, scheduled change, period-end cancellation,
resume, incomplete expiry) is found through this one time, stored as
``Subscription.next_action_at`` and indexed. It is derived from the subscription's other
fields and its first pending scheduled change, by this rule only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .states import NEVER_DUE, NEXT_ACTION_AT_PERIOD_END, SubscriptionStatus

# Stripe gives a subscription whose first payment failed 23 hours before it expires.
INCOMPLETE_EXPIRES_AFTER = timedelta(hours=23)


def next_action_time(status: str | SubscriptionStatus, current_period_end: datetime, resumes_at: datetime | None,
                     created_at: datetime | None, first_change_at: datetime | None = None, *,
                     held: bool = False) -> datetime | None:
    """The next action time (None: no work will ever fall due by itself).

    ``first_change_at``: the earliest pending scheduled change, if any (it counts only for the
    statuses whose next action is the end of the period). ``held``: held for the operator after
    too many periods fell due at once (``core.catch_up``): nothing is due until it is released.
    """
    if held:
        return None
    if status in NEXT_ACTION_AT_PERIOD_END:  # the common case first: a plain set lookup of the text
        return current_period_end if first_change_at is None else min(current_period_end, first_change_at)
    current = SubscriptionStatus(status)
    if current is SubscriptionStatus.PAUSED:
        return resumes_at
    if current is SubscriptionStatus.INCOMPLETE:
        return created_at + INCOMPLETE_EXPIRES_AFTER
    # Never due (canceled; unpaid: no new periods until the open invoice is paid, then billing
    # goes on from the period that was not paid, like Stripe's unpaid subscriptions).
    assert current in NEVER_DUE, current
    return None
