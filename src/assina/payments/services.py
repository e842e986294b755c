"""Use cases of payments: keep cards, and collect open invoices without ever charging twice.

Collecting is three steps so that a crash at any point is safe:
1. in a transaction, write a pending attempt row with a deterministic idempotency key;
2. outside any transaction, call the gateway with that key;
3. in a transaction, apply the result to the attempt and the invoice, and state it
   (``events.PaymentResultsApplied``) for the subscriptions app, which changes the
   subscription's status in that same transaction.
A restart finds attempts still pending and asks the gateway by key (``reconcile_pending``).

Payments never reads a subscription. The one rule that seems to need one (the first invoice
of a new subscription is not retried: the subscription expires instead) is decided from the
invoice alone, by its billing reason: an open first invoice exists only while its
subscription is incomplete (the subscription leaves that status only when that invoice is
paid or settled, or when it ends, which voids it first). ``assina check`` verifies it. A read
port asking subscriptions for their statuses would cost a query per batch of results, for a
fact the invoice row already carries.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from assina.core.dunning import RECOVERED, schedule_after_failure
from assina.core.errors import DomainError
from assina.core.invoice_states import InvoiceStatus
from assina.core.payment_results import failure_enters_dunning, success_pays
from assina.customers.models import BalanceTransaction, Customer
from assina.db import insert_one, insert_rows, update_rows
from assina.dispatch import publish
from assina.events.models import Event
from assina.events.services import record
from assina.i18n import CustomerTexts, status_word
from assina.invoices.models import Invoice
from assina.invoices.services import add_balance, customer_locale

from .credit import apply_credit_balance
from .dunning import current_policy
from .events import PaymentOutcome, PaymentResultsApplied
from .gateway import AttachedCard, CardDetails, ChargeRequest, ChargeResult
from .gateways import get_gateway
from .models import GatewayCustomer, PaymentAttempt, PaymentMethod
from .queries import (locked_invoice_rows, mark_invoice_paid, pending_attempt_ids, pending_attempt_rows,
                      record_attempt_result, token_attached)

NO_PAYMENT_METHOD = "no_payment_method"
EVENT_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")
INVOICE_FIELDS = ("id", "status", "subscription_id", "customer_id", "billing_reason", "number", "total", "amount_due",
                  "amount_paid", "currency", "period_start", "dunning_started_at", "next_payment_attempt")
(I_ID, I_STATUS, I_SUB, I_CUSTOMER, I_REASON, I_NUMBER, I_TOTAL, I_DUE, I_PAID, I_CURRENCY, I_PERIOD,
 I_DSTART, I_NEXT) = range(len(INVOICE_FIELDS))
# Plain values, looked up once (the loop in apply_results runs once per renewal).
_OPEN, _PAID = InvoiceStatus.OPEN.value, InvoiceStatus.PAID.value
_SUCCEEDED, _FAILED = PaymentAttempt.Status.SUCCEEDED.value, PaymentAttempt.Status.FAILED.value


class PaymentError(DomainError):
    pass


class CardNumberRefused(PaymentError):
    """A card number was sent where only the gateway's payment method id is taken (live mode,
    or a gateway whose own fields collect cards). The number is not echoed back."""

    code = "card_number_refused"
    status = 400


def looks_like_card_number(value: str) -> bool:
    """Digits, perhaps grouped by spaces or dashes: what a card number (never a gateway id) is."""
    digits = value.replace(" ", "").replace("-", "")
    return digits.isascii() and digits.isdigit()


def check_card(card: str, at: datetime, *, exp_month: int | None = None, exp_year: int | None = None) -> AttachedCard:
    """The card ``card`` names at the gateway, checked there (raises CardError when it declines or
    is unknown; nothing local is written): a payment method id the gateway's own fields gave
    (``pm_...``), or, with the sandbox gateway outside live mode only, one of its test card
    numbers. Any other card number is refused: Assina never receives one in live mode."""
    gateway = get_gateway()
    card = card.strip()
    if not looks_like_card_number(card):
        return gateway.retrieve_card(card)
    if settings.ASSINA_MODE == "live" or not getattr(gateway, "accepts_test_numbers", False):
        raise CardNumberRefused(_("card numbers are not accepted here: collect the card with the payment gateway's own "
                                  "fields (Stripe.js) and send the payment method id it gives (pm_…)"))
    details = CardDetails(number=card, exp_month=exp_month or 12, exp_year=exp_year or at.year + 3)
    return gateway.attach_test_card(details, at)


def attach_card_token(customer: Customer, attached: AttachedCard, at: datetime, make_default: bool = True) -> PaymentMethod:
    """Keep only the gateway token, brand, last 4 digits and expiry (inside the caller's transaction)."""
    gateway = get_gateway()
    if token_attached(attached.token):
        raise PaymentError(_("this payment method is already attached to a customer"))
    if getattr(gateway, "needs_customer", False):
        remote = remote_customer(customer)
        if attached.customer_ref and attached.customer_ref != remote:
            raise PaymentError(_("this payment method belongs to another customer at the gateway"))
        if not attached.customer_ref:  # a SetupIntent at Stripe has attached it already
            gateway.attach_to_customer(attached.token, remote)
    # Fixed statements, not the ORM's: a checkout keeps its card under the write lock.
    method = insert_one(PaymentMethod(
        customer=customer, gateway=gateway.name, token=attached.token, brand=attached.brand,
        last4=attached.last4, exp_month=attached.exp_month, exp_year=attached.exp_year, created_at=at,
    ))
    if make_default:
        update_rows(Customer, ["default_payment_method_id"], [(method.pk, customer.pk)])
        customer.default_payment_method = method
    record("payment_method.attached", method, at, {"brand": method.brand, "last4": method.last4, "default": make_default,
                                                   "exp_month": method.exp_month, "exp_year": method.exp_year})
    return method


def remote_customer(customer: Customer) -> str:
    """The customer's id at the gateway, created there on first use."""
    gateway = get_gateway()
    known = GatewayCustomer.objects.filter(customer=customer, gateway=gateway.name).values_list("remote_id", flat=True).first()
    if known:
        return known
    remote_id = gateway.create_customer(email=customer.email, name=customer.name, reference=str(customer.pk))
    GatewayCustomer.objects.create(customer=customer, gateway=gateway.name, remote_id=remote_id)
    return remote_id


def adopt_remote_customer(customer: Customer, remote_id: str) -> None:
    """Make ``remote_id``, an account at the gateway opened before ``customer`` existed (the
    checkout's card setup: selling.services), this customer's account there (in the caller's
    transaction), so the card set up on it can be attached."""
    GatewayCustomer.objects.get_or_create(customer=customer, gateway=get_gateway().name, defaults={"remote_id": remote_id})


def attach_card(customer: Customer, card: str, at: datetime, *, exp_month: int | None = None,
                exp_year: int | None = None, make_default: bool = True) -> PaymentMethod:
    """Add a card (the default one unless ``make_default`` is false): a gateway payment method
    id, or a sandbox test card number (``check_card``). The customer's open invoices are
    retried at once with it: a customer who fixes their card is charged now, not at the next
    scheduled retry."""
    attached = check_card(card, at, exp_month=exp_month, exp_year=exp_year)
    with transaction.atomic():
        method = attach_card_token(customer, attached, at, make_default)
    retry_open_invoices(customer.pk, at, method=method)
    return method


def retry_open_invoices(customer_id: int, at: datetime, *, method: PaymentMethod | None = None) -> int:
    """A customer added or changed a card: try every open invoice of theirs now (with that
    card), whatever the schedule said; their credit balance first. Returns how many were tried."""
    with transaction.atomic():
        invoices = list(Invoice.objects.select_for_update(skip_locked=True, of=("self",))
                        .filter(customer_id=customer_id, status=_OPEN, amount_due__gt=0).order_by("pk"))
        if not invoices:
            return 0
        in_flight = set(PaymentAttempt.objects.filter(invoice_id__in_list=[i.pk for i in invoices],
                                                      status=PaymentAttempt.Status.PENDING).values_list("invoice_id", flat=True))
        due = [i for i in invoices if i.pk not in in_flight and not apply_credit_balance(i, at)]
        update_rows(Invoice, ["next_payment_attempt"], [(None, i.pk) for i in due])
        chosen = methods_for(due) if method is None else {i.pk: method for i in due}
        charges = start_attempts(due, {}, at, by_invoice=chosen)
    collect(charges, at)
    return len(charges)


def idempotency_key(invoice_id: int, number: int) -> str:
    return f"assina_inv_{invoice_id}_attempt_{number}"


class PendingCharge(NamedTuple):
    """A payment attempt written as pending, as the gateway call needs it (a named tuple: the
    billing run makes one per renewal, and a frozen dataclass costs several times more to build)."""

    idempotency_key: str
    invoice_number: str
    payment_method_id: int | None
    token: str
    amount: int
    currency: str
    created_at: datetime
    customer_ref: str = ""  # the customer's id at the gateway, for gateways that need it
    # The attempt's number and its invoice as the attempt's transaction wrote it (a row in
    # INVOICE_FIELDS order), when that transaction also issued the invoice (the billing run).
    # An invoice cannot change while it has a pending attempt (voiding, crediting, paying,
    # retrying and final actions all refuse or skip it), so applying the result needs no
    # re-read of it as long as the attempt is still pending.
    number: int = 0
    invoice: tuple | None = None


ATTEMPT_INSERT_FIELDS = ("invoice_id", "number", "idempotency_key", "payment_method_id", "gateway", "amount", "currency",
                         "status", "decline_code", "message", "gateway_charge_id", "created_at", "completed_at")


def start_attempts(invoices: Iterable[Invoice], methods: dict[int, PaymentMethod | None], at: datetime | None = None,
                   *, times: dict[int, datetime] | None = None,
                   by_invoice: dict[int, PaymentMethod | None] | None = None,
                   counted: bool = False) -> list[PendingCharge]:
    """Step 1 (inside the caller's transaction): write one pending attempt per open invoice.

    ``methods`` maps customer id -> payment method to charge. An invoice whose customer has no
    card gets an attempt too; ``collect`` fails it at once (``no_payment_method``) so the
    failure is recorded like any other and dunning takes over. ``by_invoice`` (invoice id ->
    method) overrides ``methods`` (retries: a subscription may have its own card). The attempt's time is ``at``,
    else ``times[invoice id]`` (retries due at different moments), else the invoice's creation.

    ``counted``: the invoices were just issued with ``attempt_count`` already counting this
    first attempt (``issue_invoices(..., first_attempt=True)``), so no UPDATE of the invoices;
    the charges then carry the invoice as written (``PendingCharge.invoice``), which spares
    ``apply_results`` reading it back.
    """
    rows, counts, charges = [], [], []
    invoices = list(invoices)
    remote = _remote_customers(invoices, methods if by_invoice is None else
                               {i.customer_id: by_invoice.get(i.pk) for i in invoices})
    open_status, pending = InvoiceStatus.OPEN.value, PaymentAttempt.Status.PENDING.value
    for invoice in invoices:
        if invoice.status != open_status or invoice.amount_due <= 0:
            continue
        invoice_id = invoice.pk
        if counted:
            number = invoice.attempt_count
        else:
            number = invoice.attempt_count = invoice.attempt_count + 1
            counts.append((number, invoice_id))
        method = by_invoice.get(invoice_id) if by_invoice is not None else methods.get(invoice.customer_id)
        key = f"assina_inv_{invoice_id}_attempt_{number}"  # idempotency_key(), inlined: once per renewal
        created = at or (times.get(invoice_id) if times else None) or invoice.created_at
        if method is None:
            method_id, gateway, token = None, "", ""
        else:
            method_id, gateway, token = method.pk, method.gateway, method.token
        rows.append((invoice_id, number, key, method_id, gateway, invoice.amount_due,
                     invoice.currency, pending, "", "", "", created, None))
        snapshot = (invoice_id, invoice.status, invoice.subscription_id, invoice.customer_id, invoice.billing_reason,
                    invoice.number, invoice.total, invoice.amount_due, invoice.amount_paid, invoice.currency,
                    invoice.period_start, invoice.dunning_started_at, invoice.next_payment_attempt) if counted else None
        charges.append(PendingCharge(key, invoice.number or "", method_id, token,
                                     invoice.amount_due, invoice.currency, created,
                                     remote.get(invoice.customer_id, "") if remote else "", number, snapshot))
    insert_rows(PaymentAttempt, ATTEMPT_INSERT_FIELDS, rows)
    update_rows(Invoice, ["attempt_count"], counts)
    return charges


def _remote_customers(invoices, methods) -> dict[int, str]:
    """Customer id -> the gateway's customer id, for gateways that charge a customer's card
    (Stripe); the sandbox needs none, so the hot path reads nothing."""
    gateway = get_gateway()
    if not getattr(gateway, "needs_customer", False):
        return {}
    ids = {c for c, m in methods.items() if m is not None} | {i.customer_id for i in invoices}
    return dict(GatewayCustomer.objects.filter(gateway=gateway.name, customer_id__in=ids).values_list("customer_id", "remote_id"))


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
                          at=at or c.created_at, description=f"Invoice {c.invoice_number}", customer_ref=c.customer_ref)
            for c in with_card
        ]
        for result in get_gateway().charge_many(requests):
            results[result.idempotency_key] = result
    for c in charges:
        if not c.payment_method_id:
            results[c.idempotency_key] = ChargeResult(
                idempotency_key=c.idempotency_key, succeeded=False, decline_code=NO_PAYMENT_METHOD,
                message=N_("The customer has no payment method."))  # stored in English, shown translated
    apply_results(list(results), results, at, {c.idempotency_key: c for c in charges if c.invoice is not None})


def apply_results(keys: list[str], results: dict[str, ChargeResult], when: datetime | None = None,
                  written: dict[str, PendingCharge] | None = None) -> None:
    """Step 3: apply gateway results to the pending attempts with these idempotency keys, and
    schedule dunning for the failures (next retry, or the wait for a new card, or the final action).

    Attempts no longer pending (resolved by another worker) are skipped. Plain rows, not model
    instances: this runs once per renewal in the billing run. ``written``: charges (by key) that
    carry their attempt and invoice as written; only the ids of their attempts are read back
    (locked, to see which are still pending), not the rows.

    What the results mean for subscriptions is stated as one fact for the whole batch
    (``PaymentResultsApplied``), before the invoices are written: the subscriptions app reacts
    to it, locking the subscriptions it changes before the invoice rows are locked by their
    UPDATE (the order every billing transaction takes), and adds its events to each outcome's
    own, so the log keeps the order of the results.
    """
    with transaction.atomic():
        attempts, invoices = _pending_attempts(keys, written or {})
        if not attempts:
            return
        policy = current_policy() if any(not getattr(results.get(a[1]), "succeeded", True) for a in attempts) else None
        outcomes: list[PaymentOutcome] = []
        late: list[tuple] = []  # charges that landed on a closed invoice: (invoice, amount, at)
        attempt_rows, invoice_rows, dunning_rows = [], [], []
        # Paid invoices with no retry scheduled (every renewal paid at once) leave the indexed
        # next_payment_attempt out of their UPDATE: SQLite rewrites an index entry for every
        # indexed column set, even to the value it already has.
        paid_rows = []
        period_texts: dict = {}  # a batch shares a few period starts
        for pk, key, invoice_id, number, amount, currency, created_at in attempts:
            result = results.get(key)
            if result is None:
                continue
            at = when or created_at
            invoice = invoices[invoice_id]
            payment = {"attempt": number, "amount": amount, "currency": currency,
                       "decline_code": result.decline_code, "charge": result.charge_id}
            events: list[tuple] = []
            next_retry = grace_until = None
            entered_dunning = paid = False
            if result.succeeded:
                status = _SUCCEEDED
                paid = success_pays(invoice[I_STATUS])
                if paid:
                    invoice[I_STATUS] = _PAID
                    invoice[I_PAID] += amount
                    if invoice[I_NEXT] is None:
                        paid_rows.append((_PAID, invoice[I_PAID], at, invoice_id))
                    else:
                        invoice_rows.append((_PAID, invoice[I_PAID], at, None, invoice_id))
                    events.append(("invoice.paid", at, invoice[I_CUSTOMER], "invoice", invoice_id,
                                   {**_invoice_row_data(invoice, period_texts), "payment": payment}))
                    if invoice[I_DSTART] is not None:
                        dunning_rows.append((None, RECOVERED, invoice[I_DSTART], None, invoice_id))
                        events.append(("invoice.recovered", at, invoice[I_CUSTOMER], "invoice", invoice_id,
                                       {**_invoice_row_data(invoice), "payment": payment,
                                        "failed_since": invoice[I_DSTART].isoformat()}))
                else:
                    # The card was charged but the invoice was closed meanwhile: the money is the
                    # customer's, kept as credit for the next invoice and visible in the ledger.
                    late.append((invoice, amount, at))
                    events.append(("payment.credited_to_balance", at, invoice[I_CUSTOMER], "invoice", invoice_id,
                                   {**_invoice_row_data(invoice), "amount": amount}))
            else:
                status = _FAILED
                final = False
                hard = policy.is_hard(result.decline_code)
                # A subscription's first invoice is not retried: the subscription expires after
                # 23 hours (Stripe's rule), voiding it.
                entered_dunning = failure_enters_dunning(invoice[I_STATUS], invoice[I_REASON], invoice[I_SUB] is not None)
                if entered_dunning:
                    started = invoice[I_DSTART] or at
                    invoice[I_DSTART] = started
                    next_retry, final_at, dunning_status, final = schedule_after_failure(policy, started, at, hard)
                    dunning_rows.append((next_retry, dunning_status, started, final_at, invoice_id))
                    grace_until = policy.grace_until(started)
                events.append(("payment.failed", at, invoice[I_CUSTOMER], "paymentattempt", pk,
                               {**payment, "invoice": invoice_id, "number": invoice[I_NUMBER], "message": result.message,
                                "hard_decline": hard, "next_retry_at": next_retry.isoformat() if next_retry else None,
                                "final": final, "subscription": invoice[I_SUB]}))
                if next_retry:
                    events.append(("payment.retry_scheduled", at, invoice[I_CUSTOMER], "invoice", invoice_id,
                                   {"invoice": invoice_id, "number": invoice[I_NUMBER], "attempt": number,
                                    "next_retry_at": next_retry.isoformat(), "decline_code": result.decline_code,
                                    "amount": amount, "currency": currency}))
            attempt_rows.append((status, result.decline_code, result.message[:300], result.charge_id, at, next_retry, pk))
            outcomes.append(PaymentOutcome(invoice[I_SUB], invoice_id, result.succeeded, paid, entered_dunning,
                                           grace_until, at, events))
        publish(PaymentResultsApplied(outcomes))
        for invoice, amount, at in late:
            # After the reaction: a customer row is locked after its subscriptions.
            _credit_late_payment(invoice, amount, at)
        if len(attempt_rows) == 1:  # one charge (a checkout, a card payment): no bulk preparation
            (*result_values, attempt_id), = attempt_rows
            record_attempt_result(attempt_id, *result_values)
        else:
            update_rows(PaymentAttempt, ["status", "decline_code", "message", "gateway_charge_id", "completed_at",
                                         "next_retry_at"], attempt_rows)
        if len(paid_rows) == 1:
            (_, amount_paid, paid_at, paid_id), = paid_rows
            mark_invoice_paid(paid_id, amount_paid, paid_at)
        else:
            update_rows(Invoice, ["status", "amount_paid", "paid_at"], paid_rows)
        update_rows(Invoice, ["status", "amount_paid", "paid_at", "next_payment_attempt"], invoice_rows)
        update_rows(Invoice, ["next_payment_attempt", "dunning_status", "dunning_started_at", "dunning_final_at"], dunning_rows)
        insert_rows(Event, EVENT_FIELDS, [event for outcome in outcomes for event in outcome.events])


def _pending_attempts(keys: list[str], written: dict[str, PendingCharge]) -> tuple[list[tuple], dict[int, list]]:
    """The attempts among ``keys`` still pending, locked in id order, as (pk, key, invoice id,
    number, amount, currency, created_at), and their invoices (id -> row in INVOICE_FIELDS
    order, locked too)."""
    if written and all(key in written for key in keys):
        # Times as a read would give them (UTC): they end up in event texts.
        utc = _to_utc_cache()
        attempts = []
        invoices: dict[int, list] = {}
        for pk, key in pending_attempt_ids(keys):
            charge = written[key]
            row = list(charge.invoice)
            start, created = row[I_PERIOD], charge.created_at
            if start is not None and start.tzinfo is not timezone.utc:
                row[I_PERIOD] = utc(start)
            if created.tzinfo is not timezone.utc:
                created = utc(created)
            invoices[row[I_ID]] = row
            attempts.append((pk, key, row[I_ID], charge.number, charge.amount, charge.currency, created))
        # Not read nor locked here: while their attempts are pending (and now locked) nothing
        # else changes these invoices, so they hold what the attempts' transaction wrote; the
        # UPDATE that applies the results locks them.
        return attempts, invoices
    attempts = pending_attempt_rows(keys)
    if not attempts:
        return attempts, {}
    invoices = {row[0]: list(row) for row in locked_invoice_rows(sorted({a[2] for a in attempts}), INVOICE_FIELDS)}
    return attempts, invoices


def _to_utc_cache():
    """A converter of aware datetimes to UTC that converts each distinct value once."""
    seen: dict = {}

    def to_utc(value: datetime | None) -> datetime | None:
        if value is None:
            return None
        key = (value, value.tzinfo)
        found = seen.get(key)
        if found is None:
            found = seen[key] = value.astimezone(timezone.utc)
        return found
    return to_utc


def _invoice_row_data(invoice: list, period_texts: dict | None = None) -> dict:
    start = invoice[I_PERIOD]
    if start is None:
        text = None
    elif period_texts is None:
        text = start.isoformat()
    else:
        # Keyed with the time zone too: equal instants in two zones read differently.
        text = period_texts.get((start, start.tzinfo))
        if text is None:
            text = period_texts[(start, start.tzinfo)] = start.isoformat()
    return {
        "invoice": invoice[I_ID], "number": invoice[I_NUMBER], "subscription": invoice[I_SUB], "total": invoice[I_TOTAL],
        "amount_due": invoice[I_DUE], "currency": invoice[I_CURRENCY], "billing_reason": invoice[I_REASON],
        "period_start": text,
    }


def _credit_late_payment(invoice: list, amount: int, at: datetime) -> None:
    description = CustomerTexts().text(customer_locale(invoice[I_CUSTOMER]),
                                       N_("Payment for invoice %(number)s received after it was closed"),
                                       {"number": invoice[I_NUMBER]})
    add_balance(invoice[I_CUSTOMER], amount, invoice[I_CURRENCY], BalanceTransaction.Kind.ADJUSTMENT,
                at, Invoice(pk=invoice[I_ID]), description)


def method_for(invoice: Invoice) -> PaymentMethod | None:
    """The card an invoice is charged to: its subscription's own (when still attached), else
    the customer's default. (The subscription's card is read through the invoice's relation:
    payments knows a subscription may name a card, not what a subscription is.)"""
    if invoice.subscription_id:
        own = (PaymentMethod.objects.filter(pk=Invoice.objects.filter(pk=invoice.pk)
                                            .values("subscription__payment_method_id")[:1], detached_at__isnull=True)
               .first())
        if own:
            return own
    default_id = Customer.objects.filter(pk=invoice.customer_id).values_list("default_payment_method_id", flat=True).first()
    return PaymentMethod.objects.filter(pk=default_id, detached_at__isnull=True).first() if default_id else None


def methods_for(invoices: list[Invoice]) -> dict[int, PaymentMethod | None]:
    """Invoice id -> the card to charge, as ``method_for`` chooses it, for a batch (three
    queries for the whole batch)."""
    sub_methods = dict(Invoice.objects.filter(pk__in_list=[i.pk for i in invoices if i.subscription_id],
                                              subscription__payment_method_id__isnull=False)
                       .values_list("subscription_id", "subscription__payment_method_id").distinct())
    defaults = dict(Customer.objects.filter(pk__in_list=list({i.customer_id for i in invoices}))
                    .values_list("pk", "default_payment_method_id"))
    wanted = {m for m in [*sub_methods.values(), *defaults.values()] if m}
    methods = {m.pk: m for m in PaymentMethod.objects.filter(pk__in_list=list(wanted), detached_at__isnull=True)}
    chosen = {}
    for invoice in invoices:
        own = methods.get(sub_methods.get(invoice.subscription_id))
        chosen[invoice.pk] = own or methods.get(defaults.get(invoice.customer_id))
    return chosen


def pay_invoice(invoice_id: int, at: datetime, *, method: PaymentMethod | None = None) -> PaymentAttempt | None:
    """Try to collect one open (or written-off) invoice now: the customer's credit balance
    first, then the card (``method``, else the subscription's own card, else the default).

    Returns the attempt, or None when the credit balance paid it all."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).filter(pk=invoice_id).first()
        if invoice is None:
            raise PaymentError(_("unknown invoice %(invoice)s") % {"invoice": invoice_id})
        if invoice.status not in (InvoiceStatus.OPEN.value, InvoiceStatus.UNCOLLECTIBLE.value):
            raise PaymentError(_("invoice %(invoice)s is %(status)s; only open invoices can be paid")
                               % {"invoice": invoice, "status": status_word(invoice.status)})
        if PaymentAttempt.objects.filter(invoice=invoice, status=PaymentAttempt.Status.PENDING).exists():
            raise PaymentError(_("a payment of invoice %(invoice)s is already in progress") % {"invoice": invoice})
        if method is not None and (method.customer_id != invoice.customer_id or method.detached_at is not None):
            raise PaymentError(_("this payment method does not belong to the invoice's customer"))
        if invoice.status == InvoiceStatus.OPEN.value and apply_credit_balance(invoice, at):
            return None
        # The schedule goes on from this attempt (a success ends it, a failure is scheduled again).
        Invoice.objects.filter(pk=invoice.pk).update(next_payment_attempt=None)
        charges = _start_uncollectible_aware(invoice, method or method_for(invoice), at)
    collect(charges, at)
    return PaymentAttempt.objects.get(idempotency_key=charges[0].idempotency_key) if charges else None


def _start_uncollectible_aware(invoice: Invoice, method: PaymentMethod | None, at: datetime) -> list[PendingCharge]:
    """start_attempts charges open invoices; a written-off invoice the customer pays is charged too."""
    if invoice.status == InvoiceStatus.UNCOLLECTIBLE.value:
        invoice.status = InvoiceStatus.OPEN.value  # only for building the attempt; the row keeps its status
        try:
            return start_attempts([invoice], {invoice.customer_id: method}, at)
        finally:
            invoice.status = InvoiceStatus.UNCOLLECTIBLE.value
    return start_attempts([invoice], {invoice.customer_id: method}, at)


def reconcile_pending(at: datetime | None = None, limit: int = 1000) -> int:
    """Resolve attempts a crash left pending: ask the gateway by idempotency key and apply what
    it says; a key it never saw is charged now with that same key (the gateway deduplicates it,
    and the attempt row keeps anything else from charging that invoice meanwhile)."""
    attempts = list(PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING)
                    .select_related("payment_method", "invoice").order_by("pk")[:limit])
    if not attempts:
        return 0
    gateway = get_gateway()
    known: dict[str, ChargeResult] = {}
    for a in attempts:
        if a.payment_method_id and a.gateway == gateway.name:
            found = gateway.find_charge(a.idempotency_key)
            if found is not None:
                known[a.idempotency_key] = found
    if known:
        apply_results(list(known), known, at)
    remote = _remote_customers([a.invoice for a in attempts], {a.invoice.customer_id: a.payment_method for a in attempts})
    collect([
        PendingCharge(a.idempotency_key, a.invoice.number or "", a.payment_method_id,
                      a.payment_method.token if a.payment_method_id else "", a.amount, a.currency, a.created_at,
                      remote.get(a.invoice.customer_id, ""))
        for a in attempts if a.idempotency_key not in known
    ], at)
    return len(attempts)
