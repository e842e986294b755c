"""Subscription lifecycle: which status changes are allowed."""

from __future__ import annotations

from enum import StrEnum

from assina.core.errors import N_, IllegalTransition


class SubscriptionStatus(StrEnum):
    INCOMPLETE = "incomplete"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELED = "canceled"


S = SubscriptionStatus

ALLOWED: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    S.INCOMPLETE: frozenset({S.ACTIVE, S.CANCELED}),
    # A trial that ends without a usable payment method goes back to incomplete.
    S.TRIALING: frozenset({S.ACTIVE, S.PAST_DUE, S.PAUSED, S.CANCELED, S.INCOMPLETE}),
    S.ACTIVE: frozenset({S.PAST_DUE, S.PAUSED, S.CANCELED}),
    S.PAST_DUE: frozenset({S.ACTIVE, S.PAUSED, S.CANCELED}),
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


def has_access(status: str | SubscriptionStatus) -> bool:
    """Whether the customer may use the product (past_due keeps access during dunning)."""
    return _status(status) in _WITH_ACCESS
