"""The offers in words, for the cancel flow's pages and the "offer accepted" e-mail: amounts and
dates formatted for the customer (Babel), sentences in the active language (the callers run in
``translation.override`` of the customer's language)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assina.catalog.models import Plan
from assina.core.discounts import Coupon, CouponDuration, discount_amount
from assina.core.pricing import price_amount
from assina.notifications.context import babel_locale, interval_word, local_date, money, subscription_vars

from .models import OfferKind
from .offers import resumes_at
from .rules import base_amount


def percent(value: str, locale: str) -> str:
    from babel.numbers import format_percent

    return format_percent(Decimal(value) / 100, "#,##0.##%", locale=babel_locale(locale))


def length(interval: str, count: int) -> str:
    """"3 months", "1 week": a pause's length in the active language."""
    if interval == "year":
        return ngettext("%(count)s year", "%(count)s years", count) % {"count": count}
    if interval == "week":
        return ngettext("%(count)s week", "%(count)s weeks", count) % {"count": count}
    if interval == "day":
        return ngettext("%(count)s day", "%(count)s days", count) % {"count": count}
    return ngettext("%(count)s month", "%(count)s months", count) % {"count": count}


def items_total(sub) -> int:
    return sum(price_amount(item.plan_version.price_spec(), item.quantity) for item in sub.items.all())


def _after_discount(total: int, value: str, currency: str) -> int:
    coupon = Coupon(code="cancel-flow-offer", duration=CouponDuration.FOREVER, percent_off=Decimal(value))
    return total - discount_amount(coupon, total, currency)


def discount_sentence(discount: dict, sub, customer) -> str:
    locale = customer.locale
    total = items_total(sub)
    params = {"percent": percent(discount["percent_off"], locale), "count": discount.get("periods") or 0,
              "amount": money(_after_discount(total, discount["percent_off"], sub.currency), sub.currency, locale),
              "price": money(total, sub.currency, locale)}
    if not discount.get("periods"):
        return _("%(percent)s off every payment from your next one on: you pay %(amount)s instead of %(price)s.") % params
    return ngettext("%(percent)s off your next payment: you pay %(amount)s instead of %(price)s.",
                    "%(percent)s off your next %(count)s payments: you pay %(amount)s instead of %(price)s each time.",
                    params["count"]) % params


def offer_texts(session, sub, customer, at: datetime) -> dict:
    """The offer page's title, sentences and button for the session's offer."""
    kind, terms = session.offer_kind, session.offer_terms
    locale, tz = customer.locale, customer.time_zone
    if kind == OfferKind.PAUSE:
        periods = int(terms["periods"])
        until = resumes_at(sub, periods, at)
        return {"title": _("Would a break help?"),
                "lines": [_("Pause your subscription for %(length)s instead of cancelling. You are not charged until "
                            "%(date)s; then it continues by itself, and you can resume earlier whenever you like.")
                          % {"length": length(sub.interval, periods * sub.interval_count), "date": local_date(until, locale, tz)},
                          _("The unused part of the period you have paid for is kept as credit for when it continues.")],
                "accept": _("Pause my subscription")}
    if kind == OfferKind.PLAN_CHANGE:
        plan = Plan.objects.get(code=terms["plan"])
        quantity = sub.items.filter(plan_version__plan__kind=Plan.Kind.BASE).values_list("quantity", flat=True).first() or 1
        every = interval_word(plan.interval, plan.interval_count, locale)
        return {"title": _("Would a cheaper plan suit you better?"),
                "lines": [_("Switch to %(plan)s for %(amount)s every %(interval)s instead of %(current)s every %(current_interval)s.")
                          % {"plan": plan.name, "amount": money(base_amount(plan, quantity), sub.currency, locale), "interval": every,
                             "current": money(items_total(sub), sub.currency, locale),
                             "current_interval": interval_word(sub.interval, sub.interval_count, locale)}],
                "plan_code": plan.code, "accept": _("Switch to %(plan)s") % {"plan": plan.name}}
    if kind == OfferKind.DISCOUNT:
        return {"title": _("Stay with a discount?"), "lines": [discount_sentence(terms, sub, customer)],
                "accept": _("Apply the discount")}
    if kind == OfferKind.FEEDBACK:
        discount = terms.get("discount")
        lines = [_("What could we have done better? Your answer goes straight to our team.")]
        if discount:
            lines.append(_("If you stay, we take this off: %(discount)s") % {"discount": discount_sentence(discount, sub, customer)})
        return {"title": _("Tell us more"), "lines": lines,
                "accept": _("Send and stay with the discount") if discount else ""}
    return {"title": "", "lines": [], "accept": ""}


def preview_sentence(preview, currency: str, locale: str) -> str:
    """A plan change's proration preview in words."""
    net = preview.net
    if net < 0:
        return _("For the rest of the current period you get %(amount)s back, taken off your next invoice.") % {
            "amount": money(-net, currency, locale)}
    if net > 0:
        return _("%(amount)s for the rest of the current period is added to your next invoice.") % {
            "amount": money(net, currency, locale)}
    return _("Nothing changes on your next invoice for the rest of the current period.")


def applied_texts(session, sub, customer) -> list[str]:
    """What the accepted offer did, for the page after it."""
    kind, terms = session.offer_kind, session.offer_terms
    locale, tz = customer.locale, customer.time_zone
    if kind == OfferKind.PAUSE:
        return [_("Your subscription is paused until %(date)s. You are not charged until then; it continues by itself.")
                % {"date": local_date(datetime.fromisoformat(terms["resumes_at"]), locale, tz)}]
    if kind == OfferKind.PLAN_CHANGE:
        return [_("You are now on %(plan)s: %(amount)s every %(interval)s.")
                % {"plan": sub.plan.name, "amount": money(items_total(sub), sub.currency, locale),
                   "interval": interval_word(sub.interval, sub.interval_count, locale)}]
    discount = terms if kind == OfferKind.DISCOUNT else terms.get("discount")
    lines = [_("Thank you for telling us.")] if kind == OfferKind.FEEDBACK else []
    if discount:
        lines.append(_("Your discount is on: %(discount)s") % {"discount": discount_sentence(discount, sub, customer)})
    return lines


def offer_message_vars(session, sub) -> dict:
    """The ``retention_offer_accepted`` message's variables (see ``notifications.catalog``)."""
    customer = sub.customer
    locale, tz = customer.locale, customer.time_zone
    kind, terms = session.offer_kind, session.offer_terms
    discount = terms if kind == OfferKind.DISCOUNT else (terms.get("discount") or {})
    total = items_total(sub)
    offer = {"kind": str(kind), "resumes_on": "", "plan": sub.plan.name, "percent_off": "", "periods": 0, "forever": False,
             "discounted_amount": ""}
    if kind == OfferKind.PAUSE:
        offer["resumes_on"] = local_date(datetime.fromisoformat(terms["resumes_at"]), locale, tz)
    if discount:
        offer.update(percent_off=percent(discount["percent_off"], locale), periods=discount.get("periods") or 0,
                     forever=not discount.get("periods"),
                     discounted_amount=money(_after_discount(total, discount["percent_off"], sub.currency), sub.currency, locale))
        if kind == OfferKind.FEEDBACK:
            offer["kind"] = "discount"
    return {"subscription": subscription_vars(sub, customer), "offer": offer,
            "portal_url": f"{settings.ASSINA_BASE_URL}/portal/login"}
