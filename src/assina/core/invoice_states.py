"""Invoice lifecycle: which status changes are allowed."""

from __future__ import annotations

from enum import StrEnum

from assina.core.errors import N_, IllegalTransition


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


I = InvoiceStatus  # noqa: E741

INVOICE_ALLOWED: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    I.DRAFT: frozenset({I.OPEN, I.VOID}),
    I.OPEN: frozenset({I.PAID, I.VOID, I.UNCOLLECTIBLE}),
    # Written off, but the customer may still pay (or it may be voided).
    I.UNCOLLECTIBLE: frozenset({I.PAID, I.VOID}),
    I.PAID: frozenset(),  # refunds are credit notes, not status changes
    I.VOID: frozenset(),
}


def _status(value: str | InvoiceStatus) -> InvoiceStatus:
    try:
        return InvoiceStatus(value)
    except ValueError:
        raise IllegalTransition(N_("%(status)s is not an invoice status"), status=repr(value)) from None


def can_transition_invoice(current: str | InvoiceStatus, target: str | InvoiceStatus) -> bool:
    return _status(target) in INVOICE_ALLOWED[_status(current)]


def transition_invoice(current: str | InvoiceStatus, target: str | InvoiceStatus) -> InvoiceStatus:
    """Return ``target`` if the move is allowed, else raise IllegalTransition."""
    source, destination = _status(current), _status(target)
    if destination not in INVOICE_ALLOWED[source]:
        raise IllegalTransition(
            N_("cannot move an invoice from %(source)s to %(target)s"),
            source=source, target=destination,  # statuses: the edge may translate them
        )
    return destination
