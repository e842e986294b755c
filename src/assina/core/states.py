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

_WITH_ACCESS = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE})


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
    return current in _WITH_ACCESS
