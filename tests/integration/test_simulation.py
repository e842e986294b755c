"""``assina simulate``: a seeded synthetic business, replayed through the real services.

Runs commit (payments collect after their transaction), hence ``transaction=True``.
"""

from collections import defaultdict
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from assina.time import now
from assina.customers.models import Customer
from assina.customers.services import create_customer
from assina.events.models import Event
from assina.invoices.models import Invoice, InvoiceLine
from assina.payments.models import PaymentAttempt, SandboxCharge
from assina.simulation.runner import SimulationError, simulate

pytestmark = pytest.mark.django_db(transaction=True)

# A fixed end keeps the simulated history the same whatever day the tests run.
END = datetime(2027, 3, 1, 15, 30, tzinfo=UTC)
SMALL = {"customers": 40, "months": 6, "seed": 14, "end": END}


def _comparable(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key != "seconds"}


def _books_errors() -> list[str]:
    """The invariants of the billing books; an empty list when they all hold."""
    errors = []
    twice = (Invoice.objects.filter(subscription__isnull=False, period_start__isnull=False)
             .values("subscription_id", "period_start").annotate(n=Count("pk")).filter(n__gt=1))
    errors += [f"period billed twice: {row}" for row in twice]
    by_year = defaultdict(list)
    for number in Invoice.objects.values_list("number", flat=True):
        year, sequence = number.split("-")
        by_year[year].append(int(sequence))
    for year, numbers in by_year.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            errors.append(f"invoice numbers of {year} are not 1..{len(numbers)} without gaps")
    line_sums = dict(InvoiceLine.objects.values_list("invoice_id").annotate(total=Sum("amount")).order_by())
    for pk, number, total, subtotal, discount in Invoice.objects.values_list("pk", "number", "total", "subtotal", "discount"):
        if total != line_sums.get(pk, 0) or total != subtotal + discount:
            errors.append(f"invoice {number}: total {total} != its lines {line_sums.get(pk, 0)}")
    paid = Invoice.objects.filter(status="paid").aggregate(s=Sum("amount_paid"))["s"] or 0
    collected = PaymentAttempt.objects.filter(status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
    charged = SandboxCharge.objects.filter(succeeded=True).aggregate(s=Sum("amount"))["s"] or 0
    if not paid == collected == charged:
        errors.append(f"paid invoices {paid} != succeeded attempts {collected} != gateway charges {charged}")
    if Invoice.objects.exclude(status="paid").filter(amount_paid__gt=0).exists():
        errors.append("an unpaid invoice records a payment")
    return errors


def _fingerprint() -> dict:
    """The simulated books in full, without database ids (which may differ between databases)."""
    return {
        "customers": list(Customer.objects.order_by("email").values_list("email", "name", "locale", "created_at")),
        "invoices": list(Invoice.objects.order_by("number").values_list(
            "number", "customer__email", "status", "billing_reason", "period_start", "total", "amount_paid")),
        "events": Event.objects.count(),
    }


def test_seeded_run_has_varied_history_balanced_books_and_replays_identically(capsys):
    summary = simulate(**SMALL, progress=True)

    months = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert months == ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02"]
    assert summary["start"] == "2026-09-01T00:00:00Z" and summary["end"] == "2027-03-01T00:00:00Z"
    assert now() == datetime(2027, 3, 1, tzinfo=UTC)
    assert summary["customers"] == 40
    statuses = summary["subscriptions"]
    assert statuses.get("active", 0) > 20 and statuses.get("canceled", 0) >= 1 and len(statuses) >= 3
    assert summary["invoices_paid"] > 40 and summary["revenue"]["BRL"] > 0
    assert summary["invoices_issued"] == Invoice.objects.count() >= summary["invoices_paid"]
    went_past_due = Event.objects.filter(type="subscription.updated", data__status="past_due").exists()
    started_incomplete = Event.objects.filter(type="subscription.created", data__status="incomplete").exists()
    assert went_past_due or started_incomplete
    assert PaymentAttempt.objects.filter(status="failed").exists()
    actions = summary["actions"]
    assert actions["signups"] == 40 and actions["price_changes"] == 1 and actions["coupons_redeemed"] >= 1
    assert actions.get("invoices_paid_late", 0) >= 1  # a customer whose payment failed added a card and paid
    assert actions.get("canceled_at_period_end", 0) + actions.get("canceled_now", 0) >= 1
    changes = ("upgrades", "downgrades", "downgrades_at_period_end", "seats_added", "seats_removed", "switched_to_annual")
    assert sum(actions.get(name, 0) for name in changes) >= 1
    assert _books_errors() == []
    books = _fingerprint()

    call_command("flush", interactive=False, verbosity=0)
    again = simulate(**SMALL)

    assert _comparable(again) == _comparable(summary)
    assert _fingerprint() == books
    assert capsys.readouterr().out == ""  # no progress unless asked


def test_another_seed_gives_another_business():
    first = simulate(customers=12, months=3, seed=1, end=END)
    call_command("flush", interactive=False, verbosity=0)
    second = simulate(customers=12, months=3, seed=2, end=END)
    assert _comparable(first) != _comparable(second)


def test_refuses_a_database_that_already_has_customers():
    simulate(customers=5, months=1, seed=3, end=END)
    invoices = Invoice.objects.count()

    with pytest.raises(SimulationError, match="already has customers"):
        simulate(customers=5, months=1, seed=3, end=END)
    assert Invoice.objects.count() == invoices


def test_refuses_before_touching_a_database_with_a_customer():
    create_customer(email="someone@example.com", at=datetime(2026, 1, 1, tzinfo=UTC))

    with pytest.raises(SimulationError, match="already has customers"):
        simulate(customers=5, months=1, seed=3, end=END)
    assert Event.objects.filter(type="plan.created").count() == 0
