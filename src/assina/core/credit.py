"""How credit settles an invoice: the customer's credit balance and credit notes.

A customer's credit balance (from credit notes, refunds to balance, downgrades, payments that
landed after their invoice was closed) pays invoices before any card is charged. Amounts are
integer minor units in the invoice's currency; nothing here reads or writes anything.
"""

from __future__ import annotations

from typing import NamedTuple


class CreditUse(NamedTuple):
    """Credit spent on an open invoice."""

    used: int  # taken from the balance (0: nothing to spend, or nothing left to pay)
    amount_due: int  # what the invoice still asks for
    settled: bool  # the credit paid the invoice in full


def spend_balance(balance: int, amount_due: int) -> CreditUse:
    """Spend a credit ``balance`` on an open invoice that asks for ``amount_due``."""
    if balance <= 0 or amount_due <= 0:
        return CreditUse(0, amount_due, False)
    used = min(balance, amount_due)
    return CreditUse(used, amount_due - used, used == amount_due)


def credit_on_issue(total: int, balance: int) -> tuple[int, int, int]:
    """An invoice of ``total`` issued to a customer with ``balance``: (credit applied to it, its
    amount due, what it takes from the balance). A negative total (a downgrade's credit) asks
    for nothing and gives its amount to the balance (a negative take).

    A plain tuple: the billing run issues one invoice per renewal."""
    if total > 0 and balance > 0:
        credit = min(balance, total)
        return credit, total - credit, credit
    if total < 0:
        return 0, 0, total
    return 0, total, 0


class CreditNoteEffect(NamedTuple):
    """What a credit note does to its invoice and to the customer's balance."""

    reduced: int  # taken off the invoice's amount due
    amount_due: int  # what the invoice still asks for
    settled: bool  # the note paid the rest of an open invoice
    to_balance: int  # the rest of the credit, added to the customer's balance


def credit_note_effect(amount: int, amount_due: int, invoice_open: bool) -> CreditNoteEffect:
    """A credit note of ``amount`` on an invoice: an open invoice asks for less (and is settled
    when nothing is left to pay); what it does not need (all of it, on a paid invoice) becomes
    credit balance."""
    if not invoice_open:
        return CreditNoteEffect(0, amount_due, False, amount)
    reduced = min(amount, amount_due)
    left = amount_due - reduced
    return CreditNoteEffect(reduced, left, left == 0, amount - reduced)
