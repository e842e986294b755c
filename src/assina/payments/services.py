"""Use cases of payments: keep cards, and collect open invoices without ever charging twice.

Collecting is three steps so that a crash at any point is safe:
1. in a transaction, write a pending attempt row with a deterministic idempotency key;
2. outside any transaction, call the gateway with that key;
3. in a transaction, apply the result to the attempt, the invoice and the subscription.
A restart finds attempts still pending and asks the gateway by key (``reconcile_pending``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from assina.core.errors import DomainError
from assina.core.invoice_states import InvoiceStatus
from assina.core.states import SubscriptionStatus, transition
from assina.customers.models import Customer
from assina.db import fetch_values, insert_rows, update_many, update_rows
from assina.events.models import Event
from assina.events.services import record
from assina.i18n import status_word
from assina.invoices.models import Invoice
from assina.subscriptions.models import Subscription

from .gateway import AttachedCard, CardDetails, ChargeRequest, ChargeResult
from .models import PaymentAttempt, PaymentMethod
from .sandbox import get_gateway

NO_PAYMENT_METHOD = "no_payment_method"
EVENT_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")
INVOICE_FIELDS = ("id", "status", "subscription_id", "customer_id", "billing_reason", "number", "total", "amount_due",
                  "amount_paid", "currency", "period_start")
I_ID, I_STATUS, I_SUB, I_CUSTOMER, I_REASON, I_NUMBER, I_TOTAL, I_DUE, I_PAID, I_CURRENCY, I_PERIOD = range(len(INVOICE_FIELDS))
SUBSCRIPTION_FIELDS = ("id", "status", "customer_id", "current_period_end", "resumes_at", "created_at", "next_action_at")


class PaymentError(DomainError):
    pass


def check_card(number: str, at: datetime, *, exp_month: int | None = None, exp_year: int | None = None) -> AttachedCard:
    """Attach a card at the gateway (raises CardError when it declines; nothing local is written)."""
    card = CardDetails(number=number, exp_month=exp_month or 12, exp_year=exp_year or at.year + 3)
    return get_gateway().attach_card(card, at)


def attach_card_token(customer: Customer, attached: AttachedCard, at: datetime, make_default: bool = True) -> PaymentMethod:
    """Keep only the gateway token, brand, last 4 digits and expiry (inside the caller's transaction)."""
    method = PaymentMethod.objects.create(
        customer=customer, gateway=get_gateway().name, token=attached.token, brand=attached.brand,
        last4=attached.last4, exp_month=attached.exp_month, exp_year=attached.exp_year, created_at=at,
    )
    if make_default:
        Customer.objects.filter(pk=customer.pk).update(default_payment_method=method)
        customer.default_payment_method = method
    record("payment_method.attached", method, at, {"brand": method.brand, "last4": method.last4, "default": make_default})
    return method


def attach_card(customer: Customer, number: str, at: datetime, *, exp_month: int | None = None,
                exp_year: int | None = None, make_default: bool = True) -> PaymentMethod:
    attached = check_card(number, at, exp_month=exp_month, exp_year=exp_year)
    with transaction.atomic():
        return attach_card_token(customer, attached, at, make_default)


def idempotency_key(invoice_id: int, number: int) -> str:
    return f"assina_inv_{invoice_id}_attempt_{number}"


@dataclass(frozen=True, slots=True)
class PendingCharge:
    """A payment attempt written as pending, as the gateway call needs it."""

    idempotency_key: str
    invoice_number: str
    payment_method_id: int | None
    token: str
    amount: int
    currency: str
    created_at: datetime


ATTEMPT_INSERT_FIELDS = ("invoice_id", "number", "idempotency_key", "payment_method_id", "gateway", "amount", "currency",
                         "status", "decline_code", "message", "gateway_charge_id", "created_at", "completed_at")


def start_attempts(invoices: Iterable[Invoice], methods: dict[int, PaymentMethod | None], at: datetime | None = None) -> list[PendingCharge]:
    """Step 1 (inside the caller's transaction): write one pending attempt per open invoice.

    ``methods`` maps customer id -> default payment method. An invoice whose customer has no
    card gets an attempt too; ``collect`` fails it at once (``no_payment_method``) so the
    failure is recorded like any other and the subscription goes past due.
    """
    rows, counts, charges = [], [], []
    for invoice in invoices:
        if invoice.status != InvoiceStatus.OPEN.value or invoice.amount_due <= 0:
            continue
        number = invoice.attempt_count + 1
        invoice.attempt_count = number
        method = methods.get(invoice.customer_id)
        key = idempotency_key(invoice.pk, number)
        created = at or invoice.created_at
        method_id = method.pk if method else None
        rows.append((invoice.pk, number, key, method_id, method.gateway if method else "", invoice.amount_due,
                     invoice.currency, PaymentAttempt.Status.PENDING.value, "", "", "", created, None))
        counts.append((number, invoice.pk))
        charges.append(PendingCharge(key, invoice.number or "", method_id, method.token if method else "",
                                     invoice.amount_due, invoice.currency, created))
    insert_rows(PaymentAttempt, ATTEMPT_INSERT_FIELDS, rows)
    update_rows(Invoice, ["attempt_count"], counts)
    return charges


def collect(charges: list[PendingCharge], at: datetime | None = None) -> None:
    """Steps 2 and 3 for attempts written by ``start_attempts`` (call outside a transaction).

    ``at`` is the time of the charge; by default each attempt's own time (the test clock bills
    every renewal at the moment it fell due)."""
    if not charges:
        return
    results: dict[str, ChargeResult] = {}
    with_card = [c for c in charges if c.payment_method_id]
    if with_card:
        requests = [
            ChargeRequest(idempotency_key=c.idempotency_key, token=c.token, amount=c.amount, currency=c.currency,
                          at=at or c.created_at, description=f"Invoice {c.invoice_number}")
            for c in with_card
        ]
        for result in get_gateway().charge_many(requests):
            results[result.idempotency_key] = result
    for c in charges:
        if not c.payment_method_id:
            results[c.idempotency_key] = ChargeResult(
                idempotency_key=c.idempotency_key, succeeded=False, decline_code=NO_PAYMENT_METHOD,
                message=N_("The customer has no payment method."))  # stored in English, shown translated
    apply_results(list(results), results, at)


def apply_results(keys: list[str], results: dict[str, ChargeResult], when: datetime | None = None) -> None:
    """Step 3: apply gateway results to the pending attempts with these idempotency keys.

    Attempts no longer pending (resolved by another worker) are skipped. Plain rows, not model
    instances: this runs once per renewal in the billing run.
    """
    with transaction.atomic():
        attempts = fetch_values(
            PaymentAttempt.objects.select_for_update().filter(idempotency_key__in_list=keys, status=PaymentAttempt.Status.PENDING)
            .order_by("pk"), ("pk", "idempotency_key", "invoice_id", "number", "amount", "currency", "created_at")
        )
        if not attempts:
            return
        invoices = {
            row[0]: list(row) for row in fetch_values(
                Invoice.objects.select_for_update().filter(pk__in_list=[a[2] for a in attempts]).order_by("pk"), INVOICE_FIELDS)
        }
        # Only subscriptions whose status may change are loaded: a renewal paid by an active
        # subscription (the common case) touches no subscription row.
        failed_subs = {invoices[a[2]][I_SUB] for a in attempts if not getattr(results.get(a[1]), "succeeded", True)}
        paid_subs = {i[I_SUB] for i in invoices.values()} - failed_subs
        subs = {s.pk: s for s in Subscription.objects.select_for_update()
                .filter(Q(pk__in_list=list(failed_subs - {None})) | (Q(pk__in_list=list(paid_subs - {None})) & ~Q(status=SubscriptionStatus.ACTIVE.value)))
                .only(*SUBSCRIPTION_FIELDS).order_by("pk")}
        events: list[tuple] = []
        attempt_rows, invoice_rows, changed_subs = [], [], {}
        for pk, key, invoice_id, number, amount, currency, created_at in attempts:
            result = results.get(key)
            if result is None:
                continue
            at = when or created_at
            invoice = invoices[invoice_id]
            status = PaymentAttempt.Status.SUCCEEDED if result.succeeded else PaymentAttempt.Status.FAILED
            attempt_rows.append((status, result.decline_code, result.message[:300], result.charge_id, at, pk))
            payment = {"attempt": number, "amount": amount, "currency": currency,
                       "decline_code": result.decline_code, "charge": result.charge_id}
            sub = subs.get(invoice[I_SUB])
            if result.succeeded:
                if invoice[I_STATUS] == InvoiceStatus.OPEN.value:
                    invoice[I_STATUS] = InvoiceStatus.PAID.value
                    invoice[I_PAID] += amount
                    invoice_rows.append((InvoiceStatus.PAID.value, invoice[I_PAID], at, None, invoice_id))
                    events.append(("invoice.paid", at, invoice[I_CUSTOMER], "invoice", invoice_id,
                                   {**_invoice_row_data(invoice), "payment": payment}))
                else:
                    # The card was charged but the invoice was closed meanwhile: the money is the
                    # customer's, kept as credit for the next invoice and visible in the ledger.
                    _credit_late_payment(invoice, amount, at, events)
                if sub and sub.status in (SubscriptionStatus.PAST_DUE.value, SubscriptionStatus.INCOMPLETE.value) \
                        and not _has_other_unpaid(sub.pk, invoice_id, invoices):
                    _set_status(sub, SubscriptionStatus.ACTIVE, at, events, "payment_succeeded")
                    changed_subs[sub.pk] = sub
            else:
                events.append(("payment.failed", at, invoice[I_CUSTOMER], "paymentattempt", pk,
                               {**payment, "invoice": invoice_id, "number": invoice[I_NUMBER], "message": result.message}))
                if sub:
                    if invoice[I_REASON] == Invoice.Reason.SUBSCRIPTION_CREATE and sub.status == SubscriptionStatus.INCOMPLETE.value:
                        pass  # stays incomplete until paid or expired
                    elif sub.status in (SubscriptionStatus.ACTIVE.value, SubscriptionStatus.TRIALING.value):
                        _set_status(sub, SubscriptionStatus.PAST_DUE, at, events, "payment_failed")
                        changed_subs[sub.pk] = sub
        update_rows(PaymentAttempt, ["status", "decline_code", "message", "gateway_charge_id", "completed_at"], attempt_rows)
        update_rows(Invoice, ["status", "amount_paid", "paid_at", "next_payment_attempt"], invoice_rows)
        if changed_subs:
            from assina.subscriptions.lifecycle import next_action_at

            for sub in changed_subs.values():
                sub.next_action_at = next_action_at(sub)
            update_many(changed_subs.values(), ["status", "next_action_at"])
        insert_rows(Event, EVENT_FIELDS, events)


def _invoice_row_data(invoice: list) -> dict:
    return {
        "invoice": invoice[I_ID], "number": invoice[I_NUMBER], "subscription": invoice[I_SUB], "total": invoice[I_TOTAL],
        "amount_due": invoice[I_DUE], "currency": invoice[I_CURRENCY], "billing_reason": invoice[I_REASON],
        "period_start": invoice[I_PERIOD].isoformat() if invoice[I_PERIOD] else None,
    }


def _credit_late_payment(invoice: list, amount: int, at: datetime, events: list[tuple]) -> None:
    from assina.customers.models import BalanceTransaction
    from assina.i18n import CustomerTexts
    from assina.invoices.services import add_balance, customer_locale

    description = CustomerTexts().text(customer_locale(invoice[I_CUSTOMER]),
                                       N_("Payment for invoice %(number)s received after it was closed"),
                                       {"number": invoice[I_NUMBER]})
    add_balance(invoice[I_CUSTOMER], amount, invoice[I_CURRENCY], BalanceTransaction.Kind.ADJUSTMENT,
                at, Invoice(pk=invoice[I_ID]), description)
    events.append(("payment.credited_to_balance", at, invoice[I_CUSTOMER], "invoice", invoice[I_ID],
                   {**_invoice_row_data(invoice), "amount": amount}))


def _has_other_unpaid(sub_id: int, paid_id: int, batch: dict[int, list]) -> bool:
    """Whether the subscription still has an open invoice besides ``paid_id`` (counting this batch's results)."""
    others = Invoice.objects.filter(subscription_id=sub_id, status=InvoiceStatus.OPEN.value).exclude(pk=paid_id)
    return any(pk not in batch or batch[pk][I_STATUS] == InvoiceStatus.OPEN.value for pk in others.values_list("pk", flat=True))


def _set_status(sub: Subscription, target: SubscriptionStatus, at: datetime, events: list[tuple], reason: str) -> None:
    previous = sub.status
    sub.status = transition(SubscriptionStatus(previous), target).value
    events.append(("subscription.updated", at, sub.customer_id, "subscription", sub.pk,
                   {"status": sub.status, "previous_status": previous, "reason": reason}))


def pay_invoice(invoice_id: int, at: datetime) -> PaymentAttempt | None:
    """Try to collect one open invoice now, with its subscription's card or else the customer's default."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("customer__default_payment_method").get(pk=invoice_id)
        if invoice.status != InvoiceStatus.OPEN.value:
            raise PaymentError(_("invoice %(invoice)s is %(status)s; only open invoices can be paid")
                               % {"invoice": invoice, "status": status_word(invoice.status)})
        if PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.PENDING).exists():
            raise PaymentError(_("a payment of invoice %(invoice)s is already in progress") % {"invoice": invoice})
        method = invoice.customer.default_payment_method
        if invoice.subscription_id:
            own = Subscription.objects.filter(pk=invoice.subscription_id).values_list("payment_method_id", flat=True).first()
            if own:
                method = PaymentMethod.objects.get(pk=own)
        charges = start_attempts([invoice], {invoice.customer_id: method}, at)
    collect(charges, at)
    return PaymentAttempt.objects.get(idempotency_key=charges[0].idempotency_key) if charges else None


def reconcile_pending(at: datetime | None = None, limit: int = 1000) -> int:
    """Resolve attempts a crash left pending: ask the gateway by idempotency key; if it never
    saw the key, charging with the same key now is safe (the gateway deduplicates it)."""
    attempts = list(PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING).select_related("payment_method", "invoice").order_by("pk")[:limit])
    collect([
        PendingCharge(a.idempotency_key, a.invoice.number or "", a.payment_method_id,
                      a.payment_method.token if a.payment_method_id else "", a.amount, a.currency, a.created_at)
        for a in attempts
    ], at)
    return len(attempts)
