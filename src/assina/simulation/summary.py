"""What a simulation produced: the summary it returns and its monthly progress line."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from assina.core.invoice_states import InvoiceStatus
from assina.core.money import Money
from assina.core.states import SubscriptionStatus
from assina.customers.models import Customer
from assina.invoices.models import Invoice
from assina.subscriptions.models import Subscription


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def subscriptions_by_status() -> dict[str, int]:
    rows = Subscription.objects.values_list("status").annotate(n=Count("pk")).order_by("status")
    return dict(rows)


def summarize(*, start: datetime, end: datetime, actions: Counter, seconds: float) -> dict:
    invoices = dict(Invoice.objects.values_list("status").annotate(n=Count("pk")).order_by("status"))
    revenue = (
        Invoice.objects.filter(status=InvoiceStatus.PAID.value).values_list("currency")
        .annotate(total=Sum("amount_paid")).order_by("currency")
    )
    return {
        "customers": Customer.objects.count(),
        "subscriptions": subscriptions_by_status(),
        # Not "invoices": the CLI prints a result with that key as a list of invoices.
        "invoices_issued": sum(invoices.values()),
        "invoices_paid": invoices.get(InvoiceStatus.PAID.value, 0),
        "invoices_open": invoices.get(InvoiceStatus.OPEN.value, 0),
        "invoices_by_status": invoices,
        "revenue": dict(revenue),
        "actions": dict(sorted(actions.items())),
        "start": _iso(start),
        "end": _iso(end),
        "seconds": round(seconds, 2),
    }


def month_line(label: str, since: datetime, until: datetime, currency: str) -> str:
    """One line of progress: where the business stands at the end of a simulated month."""
    statuses = subscriptions_by_status()
    revenue = Invoice.objects.filter(status=InvoiceStatus.PAID.value, currency=currency, paid_at__gte=since,
                                     paid_at__lt=until).aggregate(total=Sum("amount_paid"))["total"] or 0
    s = SubscriptionStatus
    return _("%(month)s  customers %(customers)5d  active %(active)5d  trialing %(trialing)4d  past_due %(past_due)4d"
             "  canceled %(canceled)5d  collected %(collected)s %(currency)s") % {
        "month": label, "customers": Customer.objects.count(), "active": statuses.get(s.ACTIVE.value, 0),
        "trialing": statuses.get(s.TRIALING.value, 0), "past_due": statuses.get(s.PAST_DUE.value, 0),
        "canceled": statuses.get(s.CANCELED.value, 0), "collected": Money(revenue, currency).to_decimal(),
        "currency": currency}
