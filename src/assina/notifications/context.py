"""Template variables from the database: amounts and dates formatted for the customer's language
and currency (Babel), in the customer's time zone. Everything handed to a template is a string
or a dict/list of strings (see ``catalog``)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.translation import gettext as _

from assina.core.money import Money
from assina.core.pricing import price_amount

from .links import portal_url
from .rendering import branding, django_language, message_locale


@lru_cache(maxsize=8)
def _babel(code: str):
    from babel import Locale

    return Locale.parse(code)


def babel_locale(locale: str):
    """The Babel locale of a message language, parsed once (parsing costs more than formatting)."""
    return _babel("pt_BR" if message_locale(locale) == "pt-BR" else "en")


def money(amount: int, currency: str, locale: str) -> str:
    """``R$ 49,90`` for pt-BR, ``R$49.90`` for en (Babel's CLDR patterns, as ``assina.i18n.format_money``)."""
    return _money(amount, currency, message_locale(locale))


# Formatting is a pure function of its arguments and a business bills the same few prices over
# and over: thousands of receipts format a handful of distinct amounts and dates.
@lru_cache(maxsize=4096)
def _money(amount: int, currency: str, language: str) -> str:
    from babel.numbers import format_currency

    return format_currency(Money(amount, currency).to_decimal(), currency, locale=babel_locale(language))


@lru_cache(maxsize=4096)
def _long_date(value: date, language: str) -> str:
    from babel.dates import format_date

    return format_date(value, "long", locale=babel_locale(language))


def local_date(value: datetime | date | None, locale: str, tz: str = "UTC") -> str:
    """``21 de novembro de 2026`` / ``November 21, 2026`` in the customer's time zone."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        try:
            value = value.astimezone(ZoneInfo(tz or "UTC"))
        except (KeyError, ValueError):
            value = value.astimezone(ZoneInfo("UTC"))
        value = value.date()
    return _long_date(value, message_locale(locale))


def month_label(value: date, locale: str) -> str:
    from babel.dates import format_skeleton

    return format_skeleton("yMMMM", value, locale=babel_locale(locale))


def number(value, locale: str) -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, locale=babel_locale(locale))


def interval_word(interval: str, count: int, locale: str) -> str:
    return _interval_word(interval, count, message_locale(locale))


@lru_cache(maxsize=64)
def _interval_word(interval: str, count: int, locale: str) -> str:
    # Translated inside the override: the words are in the customer's language, not the caller's.
    with translation.override(django_language(locale)):
        words = {"day": (_("day"), _("days")), "week": (_("week"), _("weeks")),
                 "month": (_("month"), _("months")), "year": (_("year"), _("years"))}
        singular, plural = words.get(interval, (interval, interval))
        return str(singular) if count == 1 else f"{count} {plural}"


def customer_vars(name: str, email: str) -> dict:
    return {"name": name or email, "first_name": (name or "").split(" ")[0] or email.split("@")[0], "email": email}


def common(customer, account_url: str | None = None) -> dict:
    """The variables every message has. ``account_url``: the customer's own single-use button
    into their portal (``links.portal_url``; its home unless the message names a flow)."""
    from django.conf import settings

    return {"business": branding(), "customer": customer_vars(customer.name, customer.email),
            "account_url": account_url or portal_url(customer.pk), "unsubscribe_url": "",
            # Where replies go ("" = nowhere: then no message invites a reply).
            "reply_to": settings.ASSINA_EMAIL_REPLY_TO}


def subscription_vars(sub, customer) -> dict:
    """The subscription as a customer reads it (price = the items' current amount)."""
    locale, tz = customer.locale, customer.time_zone
    # ``current_amount``: set by callers that loaded the prices in bulk (the reminders); else the
    # items are prefetched with items__plan_version by the callers.
    total = getattr(sub, "current_amount", None)
    if total is None:
        total = sum(price_amount(item.plan_version.price_spec(), item.quantity) for item in sub.items.all())
    return {
        "plan": sub.plan.name, "amount": money(total, sub.currency, locale),
        "interval": interval_word(sub.interval, sub.interval_count, locale),
        "period_end": local_date(sub.current_period_end, locale, tz),
        "trial_end": local_date(sub.trial_end, locale, tz),
        "renews_on": local_date(sub.current_period_end, locale, tz),
    }


def invoice_vars(invoice, customer) -> dict:
    locale, tz = customer.locale, customer.time_zone
    # A bundle's parts (issue 19) are listed under it without an amount: the bundle's line has the price.
    lines = [{"description": line.description,
              "amount": "" if line.kind == "bundle_part" else money(line.amount, invoice.currency, locale)}
             for line in invoice.lines.all()]
    return {
        "number": invoice.number or "", "total": money(invoice.total, invoice.currency, locale),
        "amount_due": money(invoice.amount_due, invoice.currency, locale),
        "amount_paid": money(invoice.amount_paid, invoice.currency, locale),
        # As the PDF shows it: the credit balance used, as a deduction ("" when none was used).
        "credit_applied": money(-invoice.credit_applied, invoice.currency, locale) if invoice.credit_applied else "",
        # Paid in full by the credit balance: nothing was charged to the card.
        "paid_by_credit": invoice.credit_applied > 0 and invoice.amount_paid == 0,
        "paid_on": local_date(invoice.paid_at, locale, tz),
        "period_start": local_date(invoice.period_start, locale, tz),
        "period_end": local_date(invoice.period_end, locale, tz),
        "lines": lines,
    }


def card_vars(method) -> dict:
    if method is None:
        return {"brand": "", "last4": "", "expires": ""}
    return {"brand": method.brand, "last4": method.last4, "expires": f"{method.exp_month:02d}/{method.exp_year}"}
