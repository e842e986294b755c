"""A playbook's offer in words, for the portal's card, the confirmation and its e-mail: what the
coupon takes off and for how many invoices, in the active language (callers run inside the
customer's ``translation.override``; amounts and percentages formatted by Babel for ``locale``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assina.core.discounts import CouponDuration
from assina.notifications.context import money
from assina.retention.wording import percent


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon gives, as the card's statement reads it."""

    percent_off: Decimal | None
    amount_off: int | None
    currency: str
    duration: str  # once, repeating, forever
    periods: int | None


def coupon_sentence(terms: CouponTerms, locale: str) -> str:
    """"20% off your next 3 invoices", "R$10.00 off your next invoice", "20% off every invoice"
    (callers say from which invoice)."""
    if terms.percent_off is not None:
        off = percent(str(terms.percent_off), locale)
    else:
        off = money(terms.amount_off or 0, terms.currency, locale)
    if terms.duration == CouponDuration.FOREVER.value:
        return _("%(off)s off every invoice") % {"off": off}
    count = (terms.periods or 1) if terms.duration == CouponDuration.REPEATING.value else 1
    return ngettext("%(off)s off your next invoice", "%(off)s off your next %(count)s invoices", count) % {
        "off": off, "count": count}


def terms_of(coupon) -> CouponTerms:
    return CouponTerms(percent_off=coupon.percent_off, amount_off=coupon.amount_off, currency=coupon.currency,
                       duration=coupon.duration, periods=coupon.duration_periods)
