"""Why a payment failed, as a message tells the customer: by decline code, in their language.

The gateway's own text is never shown: Stripe's messages are English only and some are error
texts ("No such PaymentMethod: pm_…"), the sandbox and the services store English templates
meant for the owner ("The customer has no payment method."), and a code is not a sentence.
Codes that point at fraud (lost, stolen, fraudulent) read as a plain decline, as the card
networks ask. A code not listed here reads as a decline too.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .rendering import message_locale

DECLINED = _("your bank declined the payment")
NO_CARD = _("there is no card on file")
UNAVAILABLE = _("your bank could not process the payment at that moment")
NOT_CHARGEABLE = _("the card on file can no longer be charged")

REASONS = {
    "no_payment_method": NO_CARD,
    "insufficient_funds": _("your card has insufficient funds"),
    "expired_card": _("your card has expired"),
    "incorrect_cvc": _("the card's security code was not accepted"),
    "incorrect_number": _("the card number was not accepted"),
    "card_velocity_exceeded": _("your card has reached its spending limit"),
    "withdrawal_count_limit_exceeded": _("your card has reached its spending limit"),
    "processing_error": UNAVAILABLE,
    "try_again_later": UNAVAILABLE,
    "issuer_not_available": UNAVAILABLE,
    "reenter_transaction": UNAVAILABLE,
    "invalid_account": NOT_CHARGEABLE,
    "invalid_payment_method": NOT_CHARGEABLE,
    "new_account_information_available": NOT_CHARGEABLE,
    # lost_card, stolen_card, fraudulent, pickup_card, restricted_card, do_not_honor,
    # do_not_try_again, generic_decline, card_declined, approve_with_id and any other code:
    # DECLINED.
}


def decline_reason(code: str | None, locale: str) -> str:
    """The reason for ``code`` in the message language of ``locale`` (no final period: the
    template ends the sentence)."""
    return _reason(code or "", message_locale(locale))


@lru_cache(maxsize=256)
def _reason(code: str, language: str) -> str:
    with translation.override("pt-br" if language == "pt-BR" else "en"):
        return str(REASONS.get(code, DECLINED))
