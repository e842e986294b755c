"""``assina invoice list`` (see ``assina.cli_support.CliBuilder``); paying, refunding and the
payment attempts of an invoice are the payments app's commands.

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import EMAIL, text


def register(cli) -> None:
    from assina.core.invoice_states import InvoiceStatus  # pure: no Django

    invoice = cli.group("invoice", "invoices")
    p = cli.add("list", "list invoices", invoice)
    p.add_argument("--customer", type=text(EMAIL))
    p.add_argument("--status", choices=[s.value for s in InvoiceStatus])

    cli.command("invoice list", human=print_invoices)(cmd_invoice_list)


def invoice_json(inv) -> dict:
    from assina.cli_support import iso

    return {
        "id": inv.pk, "number": inv.number, "customer": inv.customer.email, "subscription": f"sub_{inv.subscription_id}" if inv.subscription_id else None,
        "status": inv.status, "billing_reason": inv.billing_reason, "currency": inv.currency,
        "period_start": iso(inv.period_start), "period_end": iso(inv.period_end),
        "subtotal": inv.subtotal, "discount": inv.discount, "total": inv.total, "credit_applied": inv.credit_applied,
        "amount_due": inv.amount_due, "amount_paid": inv.amount_paid, "created_at": iso(inv.created_at),
        "lines": [{"kind": l.kind, "description": l.description, "quantity": l.quantity, "amount": l.amount,
                   "period_start": iso(l.period_start), "period_end": iso(l.period_end)} for l in inv.lines.all()],
    }


def cmd_invoice_list(args):
    from assina.customers.services import get_customer

    from .models import Invoice

    query = Invoice.objects.select_related("customer").prefetch_related("lines").order_by("id")
    if args.customer:
        query = query.filter(customer=get_customer(args.customer))
    if args.status:
        query = query.filter(status=args.status)
    return {"invoices": [invoice_json(i) for i in query]}


def print_invoices(result: dict) -> None:
    """One line per invoice (number, status, customer, total, reason), then the count."""
    from django.utils.translation import gettext as _

    from assina.core.money import Money

    for inv in result["invoices"]:
        total = str(Money(inv["total"], inv["currency"]).to_decimal())
        print(f"{inv['number'] or '-':>12}  {inv['status']:<13} {inv['customer']:<30} "
              f"{total:>10} {inv['currency']}  {inv['billing_reason']}")
    print(_("%(count)d invoice(s)") % {"count": len(result["invoices"])})
