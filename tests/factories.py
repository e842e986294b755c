"""Shared helpers for database tests: freeze and move the test clock, and build plans,
customers and subscriptions through the services (never by writing models directly).

Everything here goes through the same code paths as the CLI and the API, so a scenario
that passes here passes for an operator too.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings

from assina.catalog import services as catalog
from assina.clock.services import freeze_clock
from assina.scheduler import advance_clock
from assina.time import now
from assina.customers.models import BalanceTransaction, Customer
from assina.events.models import Event
from assina.invoices.models import CreditNote, Invoice, InvoiceLine, PendingItem
from assina.payments.models import PaymentAttempt
from assina.payments.new_customer import create_customer
from assina.subscriptions.models import Subscription
from assina.subscriptions.services import create_subscription

GOOD_CARD = "4242424242424242"
FAILING_CARD = "4000000000000341"  # attaches, then every charge is declined

# Transactional tests flush only Assina's own tables afterwards (not Django's auth, admin,
# sessions...): the flush is the slowest part of a transactional test on PostgreSQL.
# (assina.admin_site.AdminConfig is Django's admin app with Assina's site: not one of ours.)
ASSINA_APPS = [app for app in settings.INSTALLED_APPS if app.startswith("assina.") and not app.startswith("assina.admin_site")]
# For tests whose code commits before it charges (the payment flow): real transactions.
real_transactions = pytest.mark.django_db(transaction=True, available_apps=ASSINA_APPS)

_emails = itertools.count(1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def start_clock(at: datetime) -> datetime:
    """Freeze the sandbox clock at the start of a scenario."""
    freeze_clock(at)
    assert now() == at
    return at


def advance(to: datetime) -> dict:
    """Move the clock forward, processing every piece of due work on the way."""
    summary = advance_clock(to)
    assert now() == to
    return summary


def make_plan(code: str, amount: int, *, currency: str = "BRL", interval: str = "month", **kwargs):
    return catalog.create_plan(code=code, name=kwargs.pop("name", code.replace("-", " ").title()), amount=amount,
                               currency=currency, interval=interval, at=now(), **kwargs)


def make_addon(code: str, amount: int, **kwargs):
    return make_plan(code, amount, kind="addon", **kwargs)


def make_customer(*, card: str | None = GOOD_CARD, currency: str = "BRL", email: str | None = None, **kwargs) -> Customer:
    email = email or f"customer{next(_emails)}@example.com"
    return create_customer(email=email, at=now(), currency=currency, card=card, **kwargs)


def subscribe(customer: Customer, plan_code: str, **kwargs) -> Subscription:
    return create_subscription(customer=customer, plan_code=plan_code, **kwargs)


def reload(obj):
    obj.refresh_from_db()
    return obj


def invoices_of(sub: Subscription) -> list[Invoice]:
    return list(Invoice.objects.filter(subscription=sub).order_by("id"))


def lines_of(invoice: Invoice) -> list[tuple[str, int]]:
    """(kind, amount) of each line, in order."""
    return list(InvoiceLine.objects.filter(invoice=invoice).order_by("id").values_list("kind", "amount"))


def event_types(sub: Subscription | None = None, *, since_id: int = 0) -> list[str]:
    query = Event.objects.filter(id__gt=since_id)
    if sub is not None:
        query = query.filter(customer_id=sub.customer_id)
    return list(query.order_by("id").values_list("type", flat=True))


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def counts() -> dict[str, int]:
    """How many rows of each thing a bad input must not create."""
    return {
        "subscriptions": Subscription.objects.count(),
        "invoices": Invoice.objects.count(),
        "lines": InvoiceLine.objects.count(),
        "events": Event.objects.count(),
        "attempts": PaymentAttempt.objects.count(),
        "pending_items": PendingItem.objects.count(),
        "credit_notes": CreditNote.objects.count(),
        "balance_transactions": BalanceTransaction.objects.count(),
    }


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fraction_9(remaining_seconds: int, total_seconds: int) -> Decimal:
    """The unused share of a period, kept at 9 decimals (HALF_UP), computed by hand."""
    return (Decimal(remaining_seconds) / Decimal(total_seconds)).quantize(Decimal("0.000000001"), rounding=ROUND_HALF_UP)


def assert_invoice_sums(invoice: Invoice) -> None:
    """An issued invoice adds up: total == sum of lines, and credit only reduces what is due."""
    lines = list(InvoiceLine.objects.filter(invoice=invoice).values_list("kind", "amount"))
    assert invoice.total == sum(amount for _, amount in lines), invoice
    assert invoice.subtotal == sum(a for k, a in lines if k != "discount"), invoice
    assert invoice.discount == sum(a for k, a in lines if k == "discount"), invoice
    assert invoice.total == invoice.subtotal + invoice.discount, invoice
    if invoice.total > 0:
        assert 0 <= invoice.credit_applied <= invoice.total, invoice
        if CreditNote.objects.filter(invoice=invoice).exists():
            # A credit note on an open invoice lowers what it still asks for, never below zero.
            assert 0 <= invoice.amount_due <= invoice.total - invoice.credit_applied, invoice
        else:
            assert invoice.amount_due == invoice.total - invoice.credit_applied, invoice
    else:
        assert invoice.amount_due == 0 and invoice.credit_applied == 0, invoice


def assert_all_invoices_sum() -> None:
    for invoice in Invoice.objects.exclude(number=None):
        assert_invoice_sums(invoice)



def run_together(work, workers: int = 4) -> list[BaseException]:
    """Run ``work`` in ``workers`` threads released at the same moment, each with its own
    database connection (closed at the end), like that many worker processes. Returns what
    they raised, for the test to assert on."""
    from django.db import connection

    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def worker():
        try:
            start.wait()
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
