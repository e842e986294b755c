"""Use cases of invoices: issue them from drafts (in bulk), apply credit, void, credit notes.

Every function here runs inside the caller's transaction and records its events there.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from assina.core.credit import credit_note_effect, credit_on_issue
from assina.core.errors import DomainError
from assina.core.invoice_states import InvoiceStatus, transition_invoice
from assina.core.invoicing import DraftLine, LineKind
from assina.customers.models import BalanceTransaction, Customer
from assina.db import insert_rows, reserve_ids
from assina.dispatch import publish
from assina.events.models import Event
from assina.events.services import record
from assina.i18n import CustomerTexts, is_english, status_word

from . import queries
from .events import InvoiceChanging, InvoiceSettled
from .models import CreditNote, Invoice, InvoiceLine, PendingItem
from .numbering import business_year, take_numbers


EVENT_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")
LINE_FIELDS = ("invoice_id", "kind", "description", "item_code", "quantity", "unit_amount", "amount", "period_start", "period_end")


class InvoiceError(DomainError):
    pass


@dataclass
class InvoiceDraft:
    """Everything needed to issue one invoice; ``lines`` come from ``assina.core.invoicing``.

    ``locale`` is the customer's ('en', 'pt-BR'): lines with a description template (discounts,
    prorations) are written in it. None reads it from the customer.
    """

    customer_id: int
    subscription_id: int | None
    currency: str
    billing_reason: str
    at: datetime
    lines: list[DraftLine]
    period_start: datetime | None = None
    period_end: datetime | None = None
    pending_item_ids: list[int] = field(default_factory=list)
    locale: str | None = None


def customer_locale(customer_id: int) -> str:
    return Customer.objects.filter(pk=customer_id).values_list("locale", flat=True).first() or "en"


def invoice_event_data(invoice: Invoice | IssuedInvoice, period_texts: dict | None = None) -> dict:
    """What events about an invoice carry. ``period_texts`` caches the ISO texts of period
    starts across a batch."""
    start = invoice.period_start
    if start is None:
        text = None
    elif period_texts is None:
        text = start.isoformat()
    else:
        # Keyed with the time zone too: equal instants in two zones read differently.
        key = (start, start.tzinfo)
        text = period_texts.get(key)
        if text is None:
            text = period_texts[key] = start.isoformat()
    return {
        "invoice": invoice.pk, "number": invoice.number, "subscription": invoice.subscription_id,
        "total": invoice.total, "amount_due": invoice.amount_due, "currency": invoice.currency,
        "billing_reason": invoice.billing_reason, "period_start": text,
    }


class IssuedInvoice:
    """An invoice just written by ``issue_invoice_rows``: its columns as attributes (``pk`` is
    ``id``), without the cost of a model instance. Reads like an ``Invoice`` for the code that
    follows issuing (payment attempts, events)."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)

    @property
    def pk(self) -> int:
        return self.id

    def to_model(self) -> Invoice:
        invoice = Invoice(**self.__dict__)
        invoice._state.adding = False
        invoice._state.db = "default"
        return invoice


# The columns issuing decides (in the order ``_issue`` fills them); every other column of
# Invoice gets its model default.
_ISSUED_ORDER = (
    "id", "number", "customer_id", "subscription_id", "status", "billing_reason", "currency", "period_start",
    "period_end", "subtotal", "discount", "total", "credit_applied", "amount_due", "amount_paid", "created_at",
    "finalized_at", "paid_at",
)
_ISSUED_COLUMNS = frozenset(_ISSUED_ORDER)


def issue_invoices(drafts: list[InvoiceDraft], balances: dict[int, int] | None = None, *,
                   as_rows: bool = False, first_attempt: bool = False,
                   more_events: list[tuple] | None = None) -> list[Invoice] | list[IssuedInvoice]:
    """Create, number and finalize invoices in bulk; use customers' credit balance first.

    ``balances`` maps customer id -> credit balance for customers that have one (others are
    read from the database when missing). Invoices left with nothing to pay are marked paid.
    With ``as_rows`` (the billing run) the invoices come back as ``IssuedInvoice`` rows rather
    than model instances.

    A few statements per batch: ids come from the table's own sequence before the insert
    (``reserve_ids``), so invoices, lines and events are written without reading anything back.

    ``first_attempt``: the caller writes a payment attempt for every invoice left open at once
    (``start_attempts(..., counted=True)``); the invoices are written with ``attempt_count`` 1
    instead of being updated right after.

    ``more_events`` (rows in EVENT_FIELDS order, e.g. the batch's trial ends) are written after
    the invoices' events, in the same statement.
    """
    rows = _issue(drafts, balances, first_attempt, more_events or [])
    return rows if as_rows else [row.to_model() for row in rows]


def _issue(drafts: list[InvoiceDraft], balances: dict[int, int] | None, first_attempt: bool = False,
           more_events: list[tuple] = ()) -> list[IssuedInvoice]:
    if not drafts:
        insert_rows(Event, EVENT_FIELDS, more_events)
        return []
    if balances is None:
        balances = queries.credit_balances(sorted({d.customer_id for d in drafts}))
    else:
        balances = dict(balances)
    unknown = {d.customer_id for d in drafts if d.locale is None}
    locales = dict(Customer.objects.filter(pk__in=unknown).values_list("pk", "locale")) if unknown else {}
    texts = CustomerTexts()
    by_year: dict[int, list[int]] = defaultdict(list)
    years: dict[datetime, int] = {}  # a batch shares a few instants
    for index, draft in enumerate(drafts):
        year = years.get(draft.at)
        if year is None:
            year = years[draft.at] = business_year(draft.at)
        by_year[year].append(index)
    numbers: dict[int, str] = {}
    for year in sorted(by_year):
        for index, number in zip(by_year[year], take_numbers("invoice", year, len(by_year[year]))):
            numbers[index] = number
    invoice_ids = reserve_ids(Invoice, len(drafts))

    fields = [f for f in Invoice._meta.concrete_fields]
    names = [f.attname for f in fields]
    defaults = {f.attname: f.get_default() for f in fields if f.attname not in _ISSUED_COLUMNS}
    # Each row is built positionally from a template (the model defaults), not as a dict.
    template = [defaults.get(name) for name in names]
    position = {name: i for i, name in enumerate(names)}
    issued_positions = [position[name] for name in _ISSUED_ORDER]
    attempt_count_at = position["attempt_count"]
    paid_status, open_status = InvoiceStatus.PAID.value, InvoiceStatus.OPEN.value
    discount_kind = LineKind.DISCOUNT
    invoices: list[IssuedInvoice] = []
    invoice_rows: list[tuple] = []
    lines: list[tuple] = []
    events: list[tuple] = []
    balance_rows: list[BalanceTransaction] = []
    used_credit: dict[int, int] = defaultdict(int)
    pending_links: list[tuple[list[int], int]] = []
    languages: dict[str | None, bool] = {}
    period_texts: dict = {}  # a batch shares a few period starts
    # The billing run hands many drafts the same (immutable) lines: their sums and their row
    # values are computed once per object. Keyed by id(): the drafts keep the objects alive.
    sums: dict[int, tuple[int, int]] = {}
    line_values: dict[int, tuple] = {}
    for index, (draft, invoice_id) in enumerate(zip(drafts, invoice_ids)):
        found = sums.get(id(draft.lines))
        if found is None:
            subtotal = discount = 0
            for l in draft.lines:
                if l.kind == discount_kind:
                    discount += l.amount
                else:
                    subtotal += l.amount
            found = sums[id(draft.lines)] = (subtotal, discount)
        subtotal, discount = found
        total = subtotal + discount
        customer_id = draft.customer_id
        available = balances.get(customer_id, 0)
        # A negative invoice (e.g. a downgrade's credit) gives its amount to the balance (a
        # negative take).
        credit, amount_due, taken = credit_on_issue(total, available)
        if taken:
            balances[customer_id] = available - taken
            used_credit[customer_id] += taken
        paid = amount_due == 0
        at = draft.at
        row = template.copy()
        for i, value in zip(issued_positions, (
                invoice_id, numbers[index], customer_id, draft.subscription_id, paid_status if paid else open_status,
                draft.billing_reason, draft.currency, draft.period_start, draft.period_end, subtotal, discount, total,
                credit, amount_due, 0, at, at, at if paid else None)):
            row[i] = value
        if first_attempt and not paid:
            row[attempt_count_at] = 1
        invoice = IssuedInvoice(dict(zip(names, row)))
        invoices.append(invoice)
        invoice_rows.append(row)

        locale = draft.locale if draft.locale is not None else locales.get(customer_id)
        english = languages.get(locale)
        if english is None:
            english = languages[locale] = is_english(locale)
        if english:
            for l in draft.lines:
                values = line_values.get(id(l))
                if values is None:
                    values = line_values[id(l)] = _line_values(l)
                lines.append((invoice_id, *values))
        else:
            lines += [(invoice_id, *_line_values(l)) for l in texts.lines(locale, draft.lines)]
        if credit:
            balance_rows.append(BalanceTransaction(
                customer_id=customer_id, kind=BalanceTransaction.Kind.APPLIED_TO_INVOICE,
                amount=-credit, currency=draft.currency, invoice_id=invoice_id,
                description=texts.text(locale, N_("Applied to invoice %(number)s"), {"number": invoice.number}),
                created_at=at,
            ))
        if total < 0:
            balance_rows.append(BalanceTransaction(
                customer_id=customer_id, kind=BalanceTransaction.Kind.PRORATION_CREDIT,
                amount=-total, currency=draft.currency, invoice_id=invoice_id,
                description=texts.text(locale, N_("Credit from invoice %(number)s"), {"number": invoice.number}),
                created_at=at,
            ))
        data = invoice_event_data(invoice, period_texts)
        events.append(("invoice.created", at, customer_id, "invoice", invoice_id, data))
        if paid:
            events.append(("invoice.paid", at, customer_id, "invoice", invoice_id, data))
        if draft.pending_item_ids:
            pending_links.append((draft.pending_item_ids, invoice_id))
    insert_rows(Invoice, names, invoice_rows)
    insert_rows(InvoiceLine, LINE_FIELDS, lines)
    if balance_rows:
        BalanceTransaction.objects.bulk_create(balance_rows)
    for customer_id, delta in used_credit.items():
        Customer.objects.filter(pk=customer_id).update(credit_balance=F("credit_balance") - delta)
    for item_ids, invoice_id in pending_links:
        claimed = PendingItem.objects.filter(pk__in=item_ids, invoice__isnull=True).update(invoice_id=invoice_id)
        if claimed != len(item_ids):
            raise InvoiceError(_("a carried-over item was already billed on another invoice"))
    insert_rows(Event, EVENT_FIELDS, events + more_events if more_events else events)
    return invoices


def _line_values(l: DraftLine) -> tuple:
    """The columns of an invoice line after ``invoice_id`` (``LINE_FIELDS`` order)."""
    return (l.kind, l.description[:300], l.item_code, l.quantity, l.unit_amount, l.amount, l.period_start, l.period_end)


def pending_lines(subscription_id: int) -> tuple[list[DraftLine], list[int]]:
    """Carried-over items of a subscription not billed yet, as draft lines."""
    items = list(PendingItem.objects.filter(subscription_id=subscription_id, invoice__isnull=True).order_by("id"))
    return [carried_line(i) for i in items], [i.pk for i in items]


def carried_line(item: PendingItem) -> DraftLine:
    """A carried-over item as a line of the invoice that bills it (its text is already in the
    customer's language: it was written when the change was made)."""
    return DraftLine(kind=LineKind(item.kind), description=item.description, amount=item.amount, item_code=item.item_code,
                     period_start=item.period_start, period_end=item.period_end)


def _locked(invoice_id: int) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice_id)


def void_invoice(invoice_id: int, at: datetime) -> Invoice:
    with transaction.atomic():
        invoice = _locked(invoice_id)
        publish(InvoiceChanging(invoice))  # payments refuses while a charge is in flight
        invoice.status = transition_invoice(InvoiceStatus(invoice.status), InvoiceStatus.VOID).value
        invoice.voided_at = at
        invoice.next_payment_attempt = None
        invoice.save(update_fields=["status", "voided_at", "next_payment_attempt"])
        if invoice.credit_applied:
            description = CustomerTexts().text(customer_locale(invoice.customer_id),
                                               N_("Credit returned from voided invoice %(number)s"),
                                               {"number": invoice.number})
            add_balance(invoice.customer_id, invoice.credit_applied, invoice.currency, BalanceTransaction.Kind.ADJUSTMENT,
                         at, invoice, description)
        record("invoice.voided", invoice, at, invoice_event_data(invoice))
        return invoice


def mark_uncollectible(invoice_id: int, at: datetime) -> Invoice:
    with transaction.atomic():
        invoice = _locked(invoice_id)
        publish(InvoiceChanging(invoice))  # payments refuses while a charge is in flight
        invoice.status = transition_invoice(InvoiceStatus(invoice.status), InvoiceStatus.UNCOLLECTIBLE).value
        invoice.next_payment_attempt = None
        invoice.save(update_fields=["status", "next_payment_attempt"])
        record("invoice.marked_uncollectible", invoice, at, invoice_event_data(invoice))
        return invoice


def add_balance(customer_id: int, amount: int, currency: str, kind: str, at: datetime, invoice: Invoice | None, description: str) -> None:
    """Move the customer's credit balance by ``amount`` with its ledger line (caller's transaction)."""
    BalanceTransaction.objects.create(customer_id=customer_id, kind=kind, amount=amount, currency=currency,
                                      invoice=invoice, description=description, created_at=at)
    Customer.objects.filter(pk=customer_id).update(credit_balance=F("credit_balance") + amount)


def create_credit_note(invoice_id: int, amount: int, reason: str, at: datetime) -> CreditNote:
    """Credit part of a finalized invoice: an open invoice asks for less; the rest (or all of a
    paid invoice's credit) goes to the customer's credit balance."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise InvoiceError(_("a credit note amount must be a positive amount"))
    with transaction.atomic():
        invoice = _locked(invoice_id)
        publish(InvoiceChanging(invoice))  # payments refuses while a charge is in flight
        if invoice.status not in (InvoiceStatus.OPEN.value, InvoiceStatus.PAID.value):
            raise InvoiceError(_("invoice %(invoice)s is %(status)s; only open or paid invoices can be credited")
                               % {"invoice": invoice, "status": status_word(invoice.status)})
        already = sum(invoice.credit_notes.values_list("amount", flat=True))
        if amount > invoice.total - already:
            raise InvoiceError(_("the credit (%(amount)s) exceeds what is left to credit on invoice %(invoice)s (%(left)s)")
                               % {"amount": amount, "invoice": invoice, "left": invoice.total - already})
        number = take_numbers("credit-note", business_year(at), 1)[0]
        note = CreditNote.objects.create(number=number, invoice=invoice, customer_id=invoice.customer_id, amount=amount,
                                         currency=invoice.currency, reason=reason, created_at=at)
        is_open = invoice.status == InvoiceStatus.OPEN.value
        effect = credit_note_effect(amount, invoice.amount_due, is_open)
        to_balance = effect.to_balance
        if is_open:
            invoice.amount_due = effect.amount_due
            fields = ["amount_due"]
            if effect.settled:
                invoice.status = transition_invoice(InvoiceStatus.OPEN, InvoiceStatus.PAID).value
                invoice.paid_at = at
                invoice.next_payment_attempt = None
                fields += ["status", "paid_at", "next_payment_attempt"]
            invoice.save(update_fields=fields)
            if effect.settled:
                record("invoice.paid", invoice, at, {**invoice_event_data(invoice), "credit_note": number})
                if invoice.subscription_id:
                    publish(InvoiceSettled(invoice.pk, invoice.subscription_id, at))
        if to_balance:
            description = CustomerTexts().text(customer_locale(invoice.customer_id), N_("Credit note %(number)s"),
                                               {"number": number})
            add_balance(invoice.customer_id, to_balance, invoice.currency, BalanceTransaction.Kind.CREDIT_NOTE, at,
                         invoice, description)
        record("credit_note.created", note, at, {"invoice": invoice.pk, "amount": amount, "currency": invoice.currency,
                                                  "number": number, "to_balance": to_balance})
        return note
