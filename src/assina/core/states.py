"""Subscription lifecycle: which status changes are allowed."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from assina.core.errors import N_, IllegalTransition


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    # Dunning gave up and the final action is "mark unpaid": no access, no new periods, the
    # open invoice stays payable and paying it makes the subscription active again.
    UNPAID = "unpaid"
    PAUSED = "paused"
    CANCELED = "canceled"


S = SubscriptionStatus

ALLOWED: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    S.INCOMPLETE: frozenset({S.ACTIVE, S.CANCELED}),
    # A trial that ends without a usable payment method goes back to incomplete.
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED, S.INCOMPLETE}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.UNPAID, S.PAUSED, S.CANCELED}),
    S.UNPAID: frozenset({S.ACTIVE, S.PAUSED, S.CANCELED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELED}),
    S.CANCELED: frozenset(),  # terminal: a returning customer gets a new subscription
}

# The status sets, written once. Members are the strings stored in the database, so a set also
# serves as a query filter (``status__in=LIVE``) and answers ``"active" in LIVE``.

# Live: the subscription runs and renews. Only these can be changed (plan, quantity) or
# paused, count in customer segments, and get renewal reminders.
LIVE = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE})
# Paying: billed for its periods now, so worth its price in MRR (a trial is not yet).
PAYING = frozenset({S.ACTIVE, S.PAST_DUE})
# The customer may use the product (past due: within the dunning grace period, see has_access).
WITH_ACCESS = LIVE
# The next action is the end of the current period (a renewal, a trial end, a period-end
# cancellation), unless a scheduled change comes first.
NEXT_ACTION_AT_PERIOD_END = LIVE
# Nothing falls due by itself: ended, or waiting for its open invoice to be paid.
NEVER_DUE = frozenset({S.CANCELED, S.UNPAID})
# Waiting for a payment: made active again when its open invoices are settled.
AWAITING_PAYMENT = frozenset({S.PAST_DUE, S.INCOMPLETE, S.UNPAID})


def _status(value: str | SubscriptionStatus) -> SubscriptionStatus:
    try:
        return SubscriptionStatus(value)
    except ValueError:
        raise IllegalTransition(N_("%(status)s is not a subscription status"), status=repr(value)) from None


def can_transition(current: str | SubscriptionStatus, target: str | SubscriptionStatus) -> bool:
    return _status(target) in ALLOWED[_status(current)]


def transition(
    current: str | SubscriptionStatus, target: str | SubscriptionStatus
) -> SubscriptionStatus:
    """Return ``target`` if the move is allowed, else raise IllegalTransition."""
    source, destination = _status(current), _status(target)
    if destination not in ALLOWED[source]:
        raise IllegalTransition(
            N_("cannot move a subscription from %(source)s to %(target)s"),
            source=source, target=destination,  # statuses: the edge may translate them
        )
    return destination


def has_access(status: str | SubscriptionStatus, grace_until: datetime | None = None,
               at: datetime | None = None) -> bool:
    """Whether the customer may use the product.

    A past-due subscription keeps access during the dunning grace period: until
    ``grace_until`` when both it and ``at`` are given (without them, past_due has access).
    """
    current = _status(status)
    if current is S.PAST_DUE and grace_until is not None and at is not None:
        return at < grace_until
    return current in WITH_ACCESS
