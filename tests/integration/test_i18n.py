"""Operators read refusals in their language; customers read their invoices in theirs.

Errors keep their English text (``str(err)``) and are translated where they are shown
(``localized_message``, in the active language); invoice texts are written in the customer's
locale when the invoice is issued, on every path that issues one.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from factories import (
    advance,
    make_customer,
    make_plan,
    real_transactions,
    start_clock,
    utc,
)

from assina.catalog.services import create_coupon, get_plan
from assina.time import now
from assina.core.errors import (
    CurrencyMismatch,
    DomainError,
    IllegalTransition,
    InvalidAmount,
)
from assina.core.invoice_states import transition_invoice
from assina.core.money import Money, parse_amount
from assina.customers.models import BalanceTransaction
from assina.i18n import localized_message
from assina.invoices.models import CreditNote, Invoice, InvoiceLine, PendingItem
from assina.subscriptions.changes import change_subscription
from assina.subscriptions.services import cancel_now, create_subscription, pause, resume

# --- errors: English text, translated where shown ---------------------------------------------


def _refusal(action) -> DomainError:
    with pytest.raises(DomainError) as refused:
        action()
    return refused.value


@pytest.mark.parametrize(("action", "english", "portuguese"), [
    (lambda: parse_amount("49.999", "BRL"), "BRL amounts have at most 2 decimals",
     "valores em BRL têm no máximo 2 casas decimais"),
    (lambda: parse_amount("abc", "BRL"), "'abc' is not a valid amount; use digits and a dot, like 49.90",
     "'abc' não é um valor válido; use dígitos e ponto decimal, como 49.90"),
    (lambda: Money(100, "BRL") + Money(100, "USD"), "cannot combine BRL and USD amounts",
     "não é possível combinar valores em BRL e em USD"),
    # Statuses are words of the sentence: translated too.
    (lambda: transition_invoice("paid", "void"), "cannot move an invoice from paid to void",
     "uma fatura paga não pode se tornar anulada"),
], ids=["too many decimals", "not a number", "currency mismatch", "illegal transition"])
def test_core_errors_are_english_and_shown_in_portuguese_when_that_is_the_language(action, english, portuguese):
    error = _refusal(action)
    assert isinstance(error, (InvalidAmount, CurrencyMismatch, IllegalTransition))
    assert str(error) == error.message == english
    assert localized_message(error) == english
    with translation.override("pt-br"):
        assert localized_message(error) == portuguese
        assert str(error) == english  # the error itself stays English (logs, events)
    assert error.template % error.params == english


@pytest.mark.django_db
def test_service_errors_are_in_the_language_active_when_raised():
    english = _refusal(lambda: get_plan("nope"))
    assert str(english) == localized_message(english) == "unknown plan 'nope'"
    with translation.override("pt-br"):
        portuguese = _refusal(lambda: get_plan("nope"))
        assert localized_message(portuguese) == str(portuguese) == "plano desconhecido 'nope'"
        # A core error raised inside a service keeps its template: translated where shown.
        assert localized_message(_refusal(lambda: make_plan("bad", 100, currency="XYZ"))) == \
            "'XYZ' não é um código de moeda ISO 4217 conhecido"


# --- invoices: in the customer's language -------------------------------------------------------

ENGLISH = {
    "first": ["Pro", "Discount welcome10 (10% off)"],
    "carried": ["Unused time on Pro × 1 (with discount)", "Remaining time on Max × 1 (with discount)"],
    "renewal": ["Max", "Discount welcome10 (10% off)", "Unused time on Pro × 1 (with discount)",
                "Remaining time on Max × 1 (with discount)"],
    "paused": ["Unused time on Max × 1 (with discount)", "Remaining time on Pro × 1 (with discount)",
               "Unused time on Pro after pause"],
    "resumed": ["Pro", "Discount welcome10 (10% off)"],
    "fixed": ["Max", "Discount r10 (R$10.00 off)"],
    "credit_note": "Unused time after cancellation",
    "balance": ["Credit from invoice {paused}", "Applied to invoice {resumed}", "Applied to invoice {fixed}",
                "Credit note {note}"],
}
PORTUGUESE = {
    "first": ["Pro", "Desconto do cupom welcome10 (10%)"],
    "carried": ["Tempo não utilizado em Pro × 1 (com desconto)", "Tempo restante em Max × 1 (com desconto)"],
    "renewal": ["Max", "Desconto do cupom welcome10 (10%)", "Tempo não utilizado em Pro × 1 (com desconto)",
                "Tempo restante em Max × 1 (com desconto)"],
    "paused": ["Tempo não utilizado em Max × 1 (com desconto)", "Tempo restante em Pro × 1 (com desconto)",
               "Tempo não utilizado em Pro após a pausa"],
    "resumed": ["Pro", "Desconto do cupom welcome10 (10%)"],
    "fixed": ["Max", "Desconto do cupom r10 (R$\xa010,00)"],  # amounts as Brazilians write them (Babel)
    "credit_note": "Tempo não utilizado após o cancelamento",
    "balance": ["Crédito da fatura {paused}", "Aplicado à fatura {resumed}", "Aplicado à fatura {fixed}",
                "Nota de crédito {note}"],
}


def _descriptions(invoice: Invoice) -> list[str]:
    return list(InvoiceLine.objects.filter(invoice=invoice).order_by("id").values_list("description", flat=True))


@real_transactions
@pytest.mark.parametrize(("locale", "texts"), [("pt-BR", PORTUGUESE), ("en", ENGLISH)], ids=["pt-BR", "en"])
def test_invoice_texts_are_in_the_customers_language_on_every_billing_path(locale, texts):
    start_clock(utc(2027, 1, 1, 10))
    make_plan("pro", 10000, name="Pro")
    make_plan("max", 20000, name="Max")
    create_coupon(code="welcome10", duration="forever", percent_off="10", at=now())
    create_coupon(code="r10", duration="forever", amount_off=1000, currency="BRL", at=now())
    customer = make_customer(locale=locale)
    # The operator's language plays no part: the customer's does.
    with translation.override("en" if locale != "en" else "pt-br"):
        sub = create_subscription(customer=customer, plan_code="pro", coupon_code="welcome10")  # first invoice
        first = Invoice.objects.get(subscription=sub)
        assert _descriptions(first) == texts["first"]

        advance(utc(2027, 1, 16, 10))
        change_subscription(sub.pk, plan_code="max")  # carried to the renewal
        pending = list(PendingItem.objects.filter(subscription=sub).order_by("id").values_list("description", flat=True))
        assert pending == texts["carried"]

        advance(utc(2027, 2, 1, 10))  # the billing run renews it with the carried items
        renewal = Invoice.objects.filter(subscription=sub).order_by("id").last()
        assert (renewal.billing_reason, _descriptions(renewal)) == ("subscription_cycle", texts["renewal"])

        advance(utc(2027, 2, 10, 10))
        change_subscription(sub.pk, plan_code="pro")
        advance(utc(2027, 2, 12, 10))
        pause(sub.pk)  # a final invoice settles the carried items and credits the unused time
        paused = Invoice.objects.filter(subscription=sub).order_by("id").last()
        assert paused.total < 0 and _descriptions(paused) == texts["paused"]

        advance(utc(2027, 2, 20, 10))
        resume(sub.pk)  # paid with the credit the pause left
        resumed = Invoice.objects.filter(subscription=sub).order_by("id").last()
        assert resumed.credit_applied > 0 and _descriptions(resumed) == texts["resumed"]

        other = create_subscription(customer=customer, plan_code="max", coupon_code="r10")  # the rest of the credit
        fixed = Invoice.objects.get(subscription=other)
        assert fixed.credit_applied > 0 and _descriptions(fixed) == texts["fixed"]
        advance(utc(2027, 2, 25, 10))
        cancel_now(other.pk, prorate=True)  # a credit note on the paid invoice, to the balance
        note = CreditNote.objects.get()
        assert note.reason == texts["credit_note"]

    balance = list(BalanceTransaction.objects.filter(customer=customer).order_by("id").values_list("description", flat=True))
    assert balance == [text.format(paused=paused.number, resumed=resumed.number, fixed=fixed.number, note=note.number)
                       for text in texts["balance"]]


def test_amounts_in_customer_texts_are_written_the_customers_way():
    from assina.core.money import Money
    from assina.i18n import CustomerTexts, format_money

    assert format_money(Money(4990, "BRL"), "pt-BR") == "R$\xa049,90"
    assert format_money(Money(123456, "BRL"), "pt-BR") == "R$\xa01.234,56"
    assert format_money(Money(1234, "BHD"), "pt-BR").endswith("1,234")  # three decimals
    texts = CustomerTexts()
    template, params = "Discount %(coupon)s (%(amount)s off)", {"coupon": "r10", "amount": Money(1000, "BRL")}
    assert texts.text("en", template, params) == "Discount r10 (R$10.00 off)"
    assert texts.text("pt-BR", template, params) == "Desconto do cupom r10 (R$\xa010,00)"
    assert format_money(Money(123456, "USD"), "en") == "$1,234.56"
    assert str(Money(1000, "BRL")) == "10.00 BRL"  # logs and CLI tables keep the plain form


def test_english_invoice_lines_filled_by_core_write_amounts_as_customers_read_them():
    from datetime import datetime, timezone

    from assina.core.bundles import BundlePart
    from assina.core.invoicing import ItemTerms, SubscriptionTerms, draft_for_period
    from assina.core.periods import Interval
    from assina.core.pricing import PriceSpec, PricingModel
    from assina.core.shipping import ShippingTerms

    start = datetime(2027, 1, 1, tzinfo=timezone.utc)
    duo = ItemTerms(code="duo", description="Duo", price=PriceSpec(PricingModel.FLAT, "BRL", 6783), quantity=1,
                    parts=(BundlePart("mug", "Mug", 1, 2990),))
    terms = SubscriptionTerms(currency="BRL", anchor=start, interval=Interval.MONTH, interval_count=1, items=(duo,),
                              billing_starts_at=start, shipping=ShippingTerms(fee=1500, free_from=5000))
    assert [l.description for l in draft_for_period(terms, 0).lines] == [
        "Duo", "Included: Mug (worth R$29.90)", "Shipping: free from R$50.00"]
