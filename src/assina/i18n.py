"""Translation at the edges: error messages for operators, invoice texts for customers.

``assina.core`` cannot translate (it never imports Django): its errors and invoice line
descriptions carry an English message template and its values. The admin and the CLI show
errors with ``localized_message`` (in the active language); invoices are written in the
customer's language with a ``CustomerTexts`` (see ``assina.invoices.services``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from functools import lru_cache

from django.utils import translation
from django.utils.translation import gettext, pgettext_lazy

from assina.core.invoice_states import InvoiceStatus
from assina.core.invoicing import DraftLine
from assina.core.money import Money, use_english_amounts
from assina.core.states import SubscriptionStatus

# Statuses as words inside a sentence ("a canceled subscription cannot be paused"): the status
# code itself in English, an adjective agreeing with "assinatura"/"fatura" in Portuguese.
STATUS_WORDS = {
    InvoiceStatus.DRAFT.value: pgettext_lazy("status in a sentence", "draft"),
    InvoiceStatus.OPEN.value: pgettext_lazy("status in a sentence", "open"),
    InvoiceStatus.PAID.value: pgettext_lazy("status in a sentence", "paid"),
    InvoiceStatus.VOID.value: pgettext_lazy("status in a sentence", "void"),
    InvoiceStatus.UNCOLLECTIBLE.value: pgettext_lazy("status in a sentence", "uncollectible"),
    SubscriptionStatus.INCOMPLETE.value: pgettext_lazy("status in a sentence", "incomplete"),
    SubscriptionStatus.TRIALING.value: pgettext_lazy("status in a sentence", "trialing"),
    SubscriptionStatus.ACTIVE.value: pgettext_lazy("status in a sentence", "active"),
    SubscriptionStatus.PAST_DUE.value: pgettext_lazy("status in a sentence", "past_due"),
    SubscriptionStatus.PAUSED.value: pgettext_lazy("status in a sentence", "paused"),
    SubscriptionStatus.CANCELED.value: pgettext_lazy("status in a sentence", "canceled"),
    SubscriptionStatus.UNPAID.value: pgettext_lazy("status in a sentence", "unpaid"),
}


def status_word(status: str) -> str:
    """A subscription or invoice status as a word in a sentence, in the active language."""
    word = STATUS_WORDS.get(str(status))
    return str(word) if word is not None else str(status)


def localized_message(exc: BaseException) -> str:
    """The message of ``exc`` in the active language.

    A ``DomainError`` raised with a template (every ``assina.core`` error) is translated here,
    statuses among its values too; one raised with an already translated message (the
    services') is returned as it is.
    """
    template = getattr(exc, "template", "")
    if not template:
        return str(exc)
    params = getattr(exc, "params", None)
    text = gettext(template)
    if not params:
        return text
    return text % {
        name: status_word(value) if isinstance(value, (SubscriptionStatus, InvoiceStatus)) else value
        for name, value in params.items()
    }


def gateway_message(message: str) -> str:
    """A payment message stored in English (the sandbox's, the gateway's), in the active language
    when the catalog has it."""
    return gettext(message) if message else ""  # gettext("") would be the catalog's header


def is_english(locale: str | None) -> bool:
    """Whether a customer locale ('en', 'pt-BR'...) is English, the language of the templates."""
    return not locale or locale.lower().split("-")[0] == "en"


def format_money(money: Money, locale: str) -> str:
    """An amount as a customer of ``locale`` writes it (pt-BR: "R$ 49,90", en: "R$49.90"), with Babel."""
    return _formatted(money, locale)


# A billing run writes the same few amounts (a threshold, a discount, a part's worth) on
# thousands of lines: each is formatted once (Babel takes tens of microseconds a call).
@lru_cache(maxsize=4096)
def _formatted(money: Money, locale: str) -> str:
    from babel.numbers import format_currency

    return format_currency(money.to_decimal(), money.currency, locale=locale.replace("-", "_"))


def _english(money: Money) -> str:
    return _formatted(money, "en")


# Invoice lines that core fills in English write amounts as customers read them ("R$50.00"),
# not as logs do ("50.00 BRL"): see ``core.money.english_text``.
use_english_amounts(_english)


class CustomerTexts:
    """Message templates translated into customers' languages.

    Each (language, template) is translated once, so a billing batch activates each language a
    handful of times, not once per invoice line. English texts are the templates themselves.
    """

    def __init__(self) -> None:
        self._translated: dict[tuple[str, str], str] = {}

    def text(self, locale: str | None, template: str, params: Mapping[str, object] | None = None) -> str:
        if is_english(locale):
            translated = template
        else:
            key = (locale.lower(), template)
            translated = self._translated.get(key)
            if translated is None:
                with translation.override(key[0]):
                    translated = self._translated[key] = gettext(template)
        if not params:
            return translated
        language = "en" if is_english(locale) else locale
        params = {name: format_money(value, language) if isinstance(value, Money) else value
                  for name, value in params.items()}
        return translated % params

    def lines(self, locale: str | None, lines: Sequence[DraftLine]) -> Sequence[DraftLine]:
        """Draft lines with their templated descriptions in ``locale`` (others as they are)."""
        if is_english(locale):
            return lines  # core fills the English descriptions, amounts as customers read them
        return [
            dataclasses.replace(line, description=self.text(locale, line.description_template, line.description_params))
            if line.description_template else line
            for line in lines
        ]
