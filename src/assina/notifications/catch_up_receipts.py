"""One receipt for a catch-up, not one per period (issue 14, docs/billing.md "Catch-up").

When a worker back from downtime bills several missed periods of a subscription in one pass,
or the operator releases a held subscription by billing its missed periods, every invoice of
that catch-up is issued at the same moment (the time of the pass). Those invoices, a
subscription's cycle invoices created at one instant, are told in one receipt: it lists each
period's lines and the sum, and is made when the last of them is paid (an invoice still open
waits for its retries; a void one is left out). A renewal billed on its own, and every renewal
of the sandbox test clock (each issued when it fell due), keeps its own receipt.
"""

from __future__ import annotations

from assina.invoices.models import Invoice

from .context import local_date, money


def catch_up_group(invoice) -> list | None:
    """The invoices of ``invoice``'s catch-up, in period order, or None when it was billed alone."""
    if invoice.subscription_id is None or invoice.billing_reason != Invoice.Reason.SUBSCRIPTION_CYCLE:
        return None
    if invoice.period_start is None or invoice.created_at <= invoice.period_start:
        # Issued when its period began (the test clock, a renewal on time): billed alone. Only
        # a period billed after it began can belong to a catch-up; just those cost a query.
        return None
    group = list(Invoice.objects.filter(subscription_id=invoice.subscription_id, created_at=invoice.created_at,
                                        billing_reason=Invoice.Reason.SUBSCRIPTION_CYCLE)
                 .exclude(status="void").prefetch_related("lines").order_by("period_start", "pk"))
    return group if len(group) > 1 else None


def catch_up_receipt(group: list, customer) -> tuple[str, dict] | None:
    """(message key, invoice variables) of the one receipt of ``group``, or None while one of
    its invoices is still open (the receipt waits for the last payment) or nothing was paid."""
    if any(i.status == "open" for i in group):
        return None
    paid = [i for i in group if i.status == "paid" and i.total > 0]
    if not paid:
        return None
    locale, tz = customer.locale, customer.time_zone
    currency = paid[0].currency
    lines = []
    for invoice in paid:
        span = f"{local_date(invoice.period_start, locale, tz)} – {local_date(invoice.period_end, locale, tz)}"
        lines += [{"description": f"{line.description} ({span})", "amount": money(line.amount, currency, locale)}
                  for line in invoice.lines.all()]
    first = group[0]
    key = f"receipt:catch_up:{first.subscription_id}:{first.created_at.isoformat()}"
    return key, {
        "number": ", ".join(i.number or "" for i in paid),
        "total": money(sum(i.total for i in paid), currency, locale),
        "amount_due": money(sum(i.amount_due for i in paid), currency, locale),
        "amount_paid": money(sum(i.amount_paid for i in paid), currency, locale),
        "paid_on": local_date(max(i.paid_at for i in paid), locale, tz),
        "period_start": local_date(paid[0].period_start, locale, tz),
        "period_end": local_date(paid[-1].period_end, locale, tz),
        "lines": lines,
    }
