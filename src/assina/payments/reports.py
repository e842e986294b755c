"""Recovery figures: how much failed, how much dunning recovered, by month and currency.

An invoice counts in the month (business time zone) of its first failed payment, with the
amount that failed then. It is *recovered* once paid afterwards (a retry, a new card, credit),
*lost* when the final action was taken or it was written off or voided, and *in progress*
otherwise. Amounts of different currencies are never added: each currency has its own rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import OuterRef, Subquery

from assina.core.invoice_states import InvoiceStatus
from assina.invoices.models import Invoice

from .models import PaymentAttempt


def recovery_report(start: datetime | None = None, end: datetime | None = None) -> dict:
    invoices = Invoice.objects.filter(dunning_started_at__isnull=False)
    if start is not None:
        invoices = invoices.filter(dunning_started_at__gte=start)
    if end is not None:
        invoices = invoices.filter(dunning_started_at__lt=end)
    first_failed = (PaymentAttempt.objects.filter(invoice=OuterRef("pk"), status=PaymentAttempt.Status.FAILED)
                    .order_by("number").values("amount")[:1])
    zone = ZoneInfo(settings.TIME_ZONE)
    months: dict[tuple[str, str], dict] = defaultdict(lambda: {
        "failed_invoices": 0, "failed_amount": 0, "recovered_invoices": 0, "recovered_amount": 0,
        "lost_invoices": 0, "lost_amount": 0, "in_progress_invoices": 0, "in_progress_amount": 0})
    rows = invoices.annotate(failed=Subquery(first_failed)).values_list("dunning_started_at", "currency", "status",
                                                                        "dunning_status", "failed", "amount_due")
    for started, currency, status, dunning, failed, due in rows:
        amount = failed if failed is not None else due
        row = months[(started.astimezone(zone).strftime("%Y-%m"), currency)]
        row["failed_invoices"] += 1
        row["failed_amount"] += amount
        if status == InvoiceStatus.PAID.value:
            kind = "recovered"
        elif status in (InvoiceStatus.VOID.value, InvoiceStatus.UNCOLLECTIBLE.value) or dunning == "exhausted":
            kind = "lost"
        else:
            kind = "in_progress"
        row[f"{kind}_invoices"] += 1
        row[f"{kind}_amount"] += amount
    result = []
    for (month, currency), row in sorted(months.items()):
        settled = row["recovered_amount"] + row["lost_amount"]
        result.append({"month": month, "currency": currency, **row,
                       # Of what failed; and of what is settled either way (in-progress excluded).
                       "recovery_rate": round(row["recovered_amount"] / row["failed_amount"], 4) if row["failed_amount"] else None,
                       "settled_recovery_rate": round(row["recovered_amount"] / settled, 4) if settled else None})
    totals: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for row in result:
        for key in ("failed_invoices", "failed_amount", "recovered_invoices", "recovered_amount", "lost_invoices",
                    "lost_amount", "in_progress_invoices", "in_progress_amount"):
            totals[row["currency"]][key] += row[key]
    for total in totals.values():
        total["recovery_rate"] = round(total["recovered_amount"] / total["failed_amount"], 4) if total["failed_amount"] else None
    return {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None,
            "months": result, "totals": {c: dict(t) for c, t in sorted(totals.items())}}
