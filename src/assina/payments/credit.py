"""The customer's credit balance is spent before a card is charged, on retries too: credit
granted after an invoice was issued (a credit note, a refund to balance, a downgrade) pays an
open invoice before the card is tried again."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils.translation import gettext_noop as N_

from assina.core.credit import spend_balance
from assina.core.dunning import RECOVERED
from assina.core.invoice_states import InvoiceStatus
from assina.customers.models import BalanceTransaction, Customer
from assina.dispatch import publish
from assina.events.services import record
from assina.i18n import CustomerTexts
from assina.invoices.events import InvoiceSettled
from assina.invoices.models import Invoice
from assina.invoices.services import invoice_event_data


def apply_credit_balance(invoice: Invoice, at: datetime) -> bool:
    """Use the customer's credit on the open ``invoice`` (locked by the caller). True when it
    paid the invoice in full."""
    if invoice.status != InvoiceStatus.OPEN.value or invoice.amount_due <= 0:
        return False
    # Read unlocked first: most customers have no credit, and locking them would order locks
    # against the billing run (which locks subscriptions, then customers) for nothing.
    if not Customer.objects.filter(pk=invoice.customer_id, credit_balance__gt=0).exists():
        return False
    # FOR NO KEY UPDATE: enough to keep two spenders of the credit apart, and it does not make
    # other transactions' FOREIGN KEY checks on this customer wait (see due_work).
    customer = Customer.objects.select_for_update(no_key=True).get(pk=invoice.customer_id)
    if customer.credit_balance <= 0 or customer.currency != invoice.currency:
        return False
    used, invoice.amount_due, settled = spend_balance(customer.credit_balance, invoice.amount_due)
    text = CustomerTexts().text(customer.locale, N_("Applied to invoice %(number)s"), {"number": invoice.number})
    BalanceTransaction.objects.create(customer=customer, kind=BalanceTransaction.Kind.APPLIED_TO_INVOICE, amount=-used,
                                      currency=invoice.currency, invoice=invoice, description=text, created_at=at)
    Customer.objects.filter(pk=customer.pk).update(credit_balance=F("credit_balance") - used)
    invoice.credit_applied += used
    fields = ["credit_applied", "amount_due"]
    if settled:
        invoice.status = InvoiceStatus.PAID.value
        invoice.paid_at = at
        invoice.next_payment_attempt = None
        invoice.dunning_final_at = None
        fields += ["status", "paid_at", "next_payment_attempt", "dunning_final_at"]
        if invoice.dunning_started_at:
            invoice.dunning_status = RECOVERED
            fields.append("dunning_status")
    invoice.save(update_fields=fields)
    record("invoice.credit_applied", invoice, at, {**invoice_event_data(invoice), "amount": used})
    if settled:
        record("invoice.paid", invoice, at, {**invoice_event_data(invoice), "credit_balance": used})
        if invoice.dunning_started_at:
            record("invoice.recovered", invoice, at, {**invoice_event_data(invoice), "credit_balance": used,
                                                      "failed_since": invoice.dunning_started_at.isoformat()})
        if invoice.subscription_id:
            publish(InvoiceSettled(invoice.pk, invoice.subscription_id, at))
    return settled
