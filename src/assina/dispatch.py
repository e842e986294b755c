"""Facts one app states and the apps above it react to, in the same transaction.

The layers run one way: ``invoices`` and ``payments`` never import ``subscriptions``. When
something they did matters to a subscription (an invoice settled, a batch of payment results
applied, a dunning schedule exhausted), they ``publish`` a fact, a frozen dataclass declared in
their ``events.py``; the app above registers a handler for its type with ``on`` at start-up
(``AppConfig.ready``), and ``publish`` calls it at once, inside the publisher's transaction, so
the reaction commits or rolls back with the change that caused it (cosmicpython's message bus,
without a queue). Facts on a hot path are batch-shaped: one fact for a batch of payment
results, not one per payment.

This is not the durable log: the ``events`` table and its outbox still carry facts to mail and
webhooks. A handler must not call the gateway or send anything; it changes rows and records
events. This module imports no app.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, TypeVar

F = TypeVar("F")

_HANDLERS: dict[type, list[Callable[[Any], Any]]] = defaultdict(list)


def on(fact_type: type[F], handler: Callable[[F], Any]) -> None:
    """Call ``handler(fact)`` whenever a fact of ``fact_type`` is published (registering the
    same handler twice keeps one)."""
    handlers = _HANDLERS[fact_type]
    if handler not in handlers:
        handlers.append(handler)


def publish(fact: Any) -> None:
    """Run every handler of this fact's type, in registration order, in the caller's
    transaction. A handler's exception propagates to the publisher (and rolls back its
    transaction), as a failure of the change itself would."""
    for handler in _HANDLERS.get(type(fact), ()):
        handler(fact)


def handlers_of(fact_type: type) -> list[Callable[[Any], Any]]:
    return list(_HANDLERS.get(fact_type, ()))
