"""The dunning policy's arithmetic: when a failed payment is retried, which declines are never
retried, how long a past-due subscription keeps access, and what happens when every retry failed.

The schedule counts from the invoice's first failure (``started_at``, stored as
``dunning_started_at``): with retry days 1, 3, 5, 7, 10, 14, an invoice that fails on the 1st is
retried on the 2nd, 4th, 6th, 8th, 11th and 15th, and the final action follows the last
failure. Counting from the first failure (not from the attempt number) keeps the schedule when
an extra attempt happens in between (a new card, a manual payment).

A hard decline (lost or stolen card, fraud...) is never retried with the same card: the invoice
waits for a new payment method until the day the schedule would have ended, then the final
action is taken.

Reading the policy (the admin's row, else the settings) is ``assina.payments.dunning``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from .states import SubscriptionStatus

# What happens when the schedule is over.
CANCEL, UNPAID, PAUSE = "cancel", "unpaid", "pause"
FINAL_ACTION_CODES = (CANCEL, UNPAID, PAUSE)
# Final actions that write the invoice off (it stays payable: an uncollectible invoice can be
# paid). "unpaid" keeps it open: paying it makes the subscription active again.
WRITES_OFF = frozenset({CANCEL, PAUSE})

# An invoice's dunning status (``Invoice.dunning_status``).
RETRYING = "retrying"
AWAITING_METHOD = "awaiting_method"
RECOVERED = "recovered"
EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class Policy:
    retry_days: tuple[int, ...]
    hard_codes: frozenset[str]
    soft_codes: frozenset[str]
    grace_days: int
    final_action: str

    def is_hard(self, decline_code: str) -> bool:
        # A code listed as soft wins over the hard list; unknown codes are retried (soft).
        return decline_code in self.hard_codes and decline_code not in self.soft_codes

    @property
    def last_day(self) -> int:
        return self.retry_days[-1] if self.retry_days else 0

    def next_retry(self, started_at: datetime, failed_at: datetime) -> datetime | None:
        """The first scheduled retry after ``failed_at`` (None: the schedule is over)."""
        for day in self.retry_days:
            when = started_at + timedelta(days=day)
            if when > failed_at:
                return when
        return None

    def final_at(self, started_at: datetime) -> datetime:
        """When a hard-declined invoice still unpaid gets the final action."""
        return started_at + timedelta(days=self.last_day)

    def grace_until(self, started_at: datetime) -> datetime:
        """Until when a past-due subscription keeps access."""
        return started_at + timedelta(days=self.grace_days)


class Schedule(NamedTuple):
    """What comes after a failed charge of an invoice in dunning."""

    next_retry: datetime | None  # the next scheduled retry (None: no retry with this card)
    final_at: datetime | None  # when the final action is due (None while retries remain)
    status: str  # RETRYING, or AWAITING_METHOD after a hard decline
    final: bool  # the final action is due already (the schedule is over)


def schedule_after_failure(policy: Policy, started_at: datetime, failed_at: datetime, hard: bool) -> Schedule:
    """The schedule of an invoice whose charge failed at ``failed_at``, in dunning since
    ``started_at`` (the first failure: ``failed_at`` itself when this is it)."""
    if hard:
        final_at = max(policy.final_at(started_at), failed_at)
        return Schedule(None, final_at, AWAITING_METHOD, final_at <= failed_at)
    next_retry = policy.next_retry(started_at, failed_at)
    if next_retry is None:
        return Schedule(None, failed_at, RETRYING, True)
    return Schedule(next_retry, None, RETRYING, False)


def final_action_applies(subscription_status: str) -> bool:
    """Whether the final action acts on a subscription in this status: only a past-due one (a
    subscription paid meanwhile, paused or canceled is left as it is)."""
    return subscription_status == SubscriptionStatus.PAST_DUE.value

