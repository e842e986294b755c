"""Erase (anonymise) a customer's personal data without touching their money records.

``erase_customer`` detaches their cards at the gateway (``payments.methods.remove``, one by one,
each its own transaction, as an operator removing a card), then, in one transaction: replaces
the customer's name, email, tax id and metadata (``customers.services.erase_details``), blanks
the bodies and subjects of the messages sent to them and suppresses the queued ones, revokes
marketing consent, blanks cancellation reasons, empties the properties of their engagement events
and erases their notes' and tasks' texts (``engagement.services.erase_customer_engagement``),
scrubs personal values from the data of the events about them (webhook payloads are built from
those events, so later deliveries carry no personal data either) and records ``customer.erased`` with no personal data.

Invoices, lines, payments, refunds, the credit ledger and subscriptions keep every number:
``assina check`` stays clean. Running it again changes nothing and records nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from assina.core.errors import DomainError
from assina.core.invoice_states import InvoiceStatus
from assina.core.states import NEVER_DUE
from assina.customers.models import Customer
from assina.customers.services import erase_details, erased_email
from assina.engagement.services import erase_customer_engagement
from assina.events.models import Event
from assina.events.services import record
from assina.feedback.models import SurveyResponse, ThemeAssignment
from assina.invoices.models import Invoice
from assina.notifications.consent import set_consent
from assina.notifications.models import Message
from assina.payments.methods import remove
from assina.payments.models import PaymentMethod
from assina.retention.models import CancelSession
from assina.subscriptions.models import Subscription

ERASED = "[erased]"
# Keys of an event's data (at any depth) whose value is personal whatever it holds.
PERSONAL_KEYS = frozenset({"email", "name", "tax_id", "to", "to_email", "recipient", "address", "phone",
                           "metadata", "description", "reason", "cancel_reason", "text", "comment"})


class ErasureRefused(DomainError):
    status = 409  # the API's answer: the customer's state conflicts with an erasure now


def erase_customer(customer_id: int, at: datetime) -> dict[str, Any]:
    """Anonymise customer ``customer_id`` (see the module). Refused, with nothing changed, while
    a subscription can still bill them or an invoice is open: their contract is still running."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise ErasureRefused(_("unknown customer %(customer)s") % {"customer": repr(str(customer_id))})
    if customer.erased_at is not None:
        return _summary(customer, cards=0, messages=0, events=0, already=True)
    _refuse_while_billing(customer)
    cards = 0
    for method in PaymentMethod.objects.filter(customer=customer, detached_at__isnull=True).order_by("pk"):
        remove(customer, method.pk, at)  # the gateway forgets the card; the row keeps brand and last 4
        cards += 1
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        if customer.erased_at is not None:  # erased by a concurrent call meanwhile
            return _summary(customer, cards=cards, messages=0, events=0, already=True)
        _refuse_while_billing(customer)
        before = erase_details(customer, at)
        messages = _erase_messages(customer)
        set_consent(customer.pk, False, at, source="erased")
        Subscription.objects.filter(customer=customer).exclude(cancel_reason="").update(cancel_reason="")
        # Survey comments are the customer's own words: gone; the scores stay (anonymous counts).
        SurveyResponse.objects.filter(customer=customer).update(comment="", tags=[], themed_at=None)
        ThemeAssignment.objects.filter(response__customer=customer).delete()
        # What they wrote in the cancel flow; the reason codes and offers stay (anonymous counts).
        CancelSession.objects.filter(customer=customer).update(reason_text="", feedback_text="")
        # Engagement: event properties emptied (names and times stay), notes and task texts erased.
        erase_customer_engagement(customer.pk)
        events = _scrub_events(customer.pk, [v for v in before.values() if v and len(v) >= 3])
        record("customer.erased", customer, at, {})
    return _summary(customer, cards=cards, messages=messages, events=events, already=False)


def _refuse_while_billing(customer: Customer) -> None:
    billing = (Subscription.objects.filter(customer=customer).exclude(status__in=[s.value for s in NEVER_DUE])
               .values_list("pk", flat=True).first())
    if billing is not None:
        raise ErasureRefused(_("subscription %(sub)s can still bill this customer: cancel it before erasing their "
                               "personal data") % {"sub": f"sub_{billing}"})
    open_invoice = Invoice.objects.filter(customer=customer, status=InvoiceStatus.OPEN).first()
    if open_invoice is not None:
        raise ErasureRefused(_("invoice %(invoice)s is open: have it paid, voided or marked uncollectible before "
                               "erasing the customer's personal data")
                             % {"invoice": open_invoice.number or f"in_{open_invoice.pk}"})


def _erase_messages(customer: Customer) -> int:
    """Blank what the messages said and to whom; queued ones are never sent (suppressed)."""
    rows = Message.objects.filter(customer=customer)
    rows.filter(status__in=[Message.Status.QUEUED, Message.Status.SENDING]).update(
        status=Message.Status.SUPPRESSED, next_attempt_at=None, provider_response="customer erased")
    return rows.update(to_email=erased_email(customer.pk), subject=ERASED, html="", text="", unsubscribe_url="")


def _scrub_events(customer_id: int, values: list[str]) -> int:
    changed = []
    for event in Event.objects.filter(customer_id=customer_id).order_by("pk"):
        data = scrub(event.data or {}, values)
        if data != event.data:
            event.data = data
            changed.append(event)
    Event.objects.bulk_update(changed, ["data"], batch_size=500)
    return len(changed)


def scrub(value: Any, personal: list[str], key: str = "") -> Any:
    """``value`` with personal data replaced: anything under a key of ``PERSONAL_KEYS``, and any
    text that contains one of the ``personal`` values (the customer's old email, name, tax id)."""
    if key in PERSONAL_KEYS and value not in (None, "", {}, []):
        return ERASED
    if isinstance(value, dict):
        return {k: scrub(v, personal, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, personal) for v in value]
    if isinstance(value, str) and any(p.lower() in value.lower() for p in personal):
        return ERASED
    return value


def _summary(customer: Customer, *, cards: int, messages: int, events: int, already: bool) -> dict[str, Any]:
    return {"customer": f"cus_{customer.pk}", "erased_at": customer.erased_at, "already_erased": already,
            "cards_detached": cards, "messages_erased": messages, "events_scrubbed": events}
