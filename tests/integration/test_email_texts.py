"""What a customer reads never carries an internal text: every message kind is rendered in both
languages, the payment-failed message once for every decline and error code a gateway or the
dunning settings know, and no gateway or service message (English, owner-facing), exception
text or raw code shows up; a Portuguese message has no English sentence in it."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from factories import FAILING_CARD, make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.notifications import producing
from assina.notifications.catalog import MESSAGES
from assina.notifications.models import Message
from assina.notifications.outbox import build_row
from assina.notifications.outbox import test_context as sample_context
from assina.notifications.producing import produce_from_events
from assina.notifications.rendering import LOCALES, TemplateCache, compiled, default_source, wrap
from assina.payments.dunning import parse_codes
from assina.payments.models import PaymentAttempt
from assina.payments.sandbox import DECLINE_MESSAGES, INVALID_PAYMENT_METHOD

# The texts gateways and services store with an attempt: for the owner, in English.
INTERNAL = [*DECLINE_MESSAGES.values(), INVALID_PAYMENT_METHOD, "The customer has no payment method.",
            "No such PaymentMethod: 'pm_1Nx'", "Request req_8a2: Your card was declined.",
            "stripe.error.CardError", "Traceback"]
CODES = sorted({*parse_codes(settings.ASSINA_DUNNING_HARD_CODES), *parse_codes(settings.ASSINA_DUNNING_SOFT_CODES),
                *DECLINE_MESSAGES, "no_payment_method", "invalid_payment_method", "authentication_required",
                "api_connection_error", ""})
# English words an English sentence cannot do without; none is a Portuguese word.
ENGLISH = re.compile(r"\b(the|your|card|payment|declined|customer|has|error|failed|invalid|method|funds|expired)\b", re.I)
RAW_CODE = re.compile(r"\b[a-z]+(_[a-z]+)+\b")
EXCEPTION = re.compile(r"Error\b|Exception|Traceback|None\b|\{\{|\}\}|\{%")


def _readable(text: str) -> str:
    """The words a person reads: without links (their tokens are not words)."""
    return re.sub(r"https?://\S+", " ", text)


def assert_clean(text: str, locale: str, where: str) -> None:
    readable = _readable(text)
    for internal in INTERNAL:
        assert internal.rstrip(".") not in readable, (where, internal)
    assert not RAW_CODE.search(readable), (where, RAW_CODE.search(readable).group(0))
    assert not EXCEPTION.search(readable), (where, EXCEPTION.search(readable).group(0))
    if locale == "pt-BR":
        assert not ENGLISH.search(readable), (where, ENGLISH.search(readable).group(0))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_shipped_message_reads_clean(key, locale):
    rendered = compiled(default_source(key, locale)).render(sample_context(key, locale))
    html, text = wrap(rendered, locale, marketing=False)
    for part, value in (("subject", rendered.subject), ("text", text), ("html", re.sub(r"<[^>]+>", " ", html))):
        assert_clean(value, locale, f"{key}.{locale} {part}")


@pytest.fixture
def failed_invoice():
    """A customer per language whose first charge failed, with its attempt and invoice."""
    start_clock(utc(2027, 3, 1, 9))
    make_plan("pro", 4990, name="Pro")
    found = {}
    for locale in LOCALES:
        customer = make_customer(card=FAILING_CARD, locale=locale, email=f"{locale.lower()}@example.com")
        sub = subscribe(customer, "pro")
        invoice = Invoice.objects.prefetch_related("lines").get(subscription=sub)
        found[locale] = (customer, invoice, PaymentAttempt.objects.filter(invoice=invoice).latest("id"))
    return found


@real_transactions
@pytest.mark.parametrize("code", CODES)
def test_the_payment_failed_message_reads_clean_for_every_code(failed_invoice, code):
    templates = TemplateCache()
    for locale, (customer, invoice, attempt) in failed_invoice.items():
        attempt.decline_code = code
        for internal in ("The customer has no payment method.", "No such PaymentMethod: 'pm_1Nx'"):
            attempt.message = internal
            event = Event(pk=10_000, type="payment.failed", customer_id=customer.pk, subject_type="paymentattempt",
                          subject_id=attempt.pk, occurred_at=utc(2027, 3, 1, 9),
                          data={"attempt": 1, "amount": 4990, "currency": "BRL", "decline_code": code, "message": internal,
                                "next_retry_at": (utc(2027, 3, 2, 9)).isoformat()})
            [draft] = producing._payment_failed(event, customer, attempts={attempt.pk: attempt},
                                                invoices={invoice.pk: invoice}, at=event.occurred_at)
            row = build_row(draft, templates.get("payment_failed", locale), event.occurred_at)
            for part, value in (("subject", row.subject), ("text", row.text), ("html", re.sub(r"<[^>]+>", " ", row.html))):
                assert_clean(value, locale, f"payment_failed.{locale} {code!r} {part}")
            assert draft.context["payment"]["reason"] in row.text


@real_transactions
def test_no_card_on_file_is_told_as_such_not_as_the_services_error():
    """The issue's case: a charge without a card stores "The customer has no payment method."."""
    start_clock(utc(2027, 3, 1, 9))
    make_plan("pro", 4990, name="Pro")
    for locale in LOCALES:
        subscribe(make_customer(card=None, locale=locale, email=f"{locale.lower()}@example.com"), "pro")
    produce_from_events(utc(2027, 3, 1, 9) + timedelta(minutes=1), at_due_time=True)
    texts = {m.locale: m.text for m in Message.objects.filter(template="payment_failed")}
    assert "but the payment failed: there is no card on file." in " ".join(texts["en"].split())
    assert "mas o pagamento não foi aprovado: não há cartão cadastrado." in " ".join(texts["pt-BR"].split())
    for locale, text in texts.items():
        assert_clean(text, locale, f"payment_failed.{locale}")
