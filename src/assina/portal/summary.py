"""What the portal's home shows, as ready-made strings in the customer's language.

A fixed number of queries whatever the customer holds: the subscriptions with their plans and
items in three, the invoices in one (no query per invoice), the card already loaded with the
session (``services.live_session``), the card link's state in one.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from assina.core.invoice_states import InvoiceStatus
from assina.core.pricing import price_amount
from assina.core.states import SubscriptionStatus as S
from assina.invoices.models import Invoice
from assina.notifications.context import interval_word, local_date, money, number
from assina.subscriptions.models import Subscription, SubscriptionItem

SHOWN = (S.TRIALING, S.ACTIVE, S.PAST_DUE, S.UNPAID, S.PAUSED, S.INCOMPLETE)


def subscriptions(customer) -> list[dict]:
    items = SubscriptionItem.objects.select_related("plan_version__plan").order_by("pk")
    subs = (Subscription.objects.filter(customer=customer, status__in=[s.value for s in SHOWN])
            .select_related("plan").prefetch_related(Prefetch("items", queryset=items)).order_by("-pk"))
    return [_subscription(sub, customer) for sub in subs]


def _subscription(sub, customer) -> dict:
    locale, tz = customer.locale, customer.time_zone
    lines, total, base = [], 0, None
    for item in sub.items.all():
        amount = price_amount(item.plan_version.price_spec(), item.quantity)
        total += amount
        plan = item.plan_version.plan
        line = {"name": plan.name, "quantity": number(item.quantity, locale), "amount": money(amount, sub.currency, locale),
                "addon": plan.kind == "addon"}
        if base is None and not line["addon"]:
            base = line
        lines.append(line)
    every = interval_word(sub.interval, sub.interval_count, locale)
    end = local_date(sub.current_period_end, locale, tz)
    amount = money(total, sub.currency, locale)
    charges = sub.status in (S.ACTIVE, S.TRIALING, S.PAST_DUE) and not sub.cancel_at_period_end
    return {
        "id": sub.pk, "plan": sub.plan.name, "status": sub.get_status_display(), "status_code": sub.status,
        "price": amount, "interval": every, "quantity": base["quantity"] if base else "1",
        "addons": [line for line in lines if line["addon"]], "lines": lines,
        "next_charge_on": end if charges else "", "next_charge_amount": amount if charges else "",
        "discounted": sub.coupon_id is not None,
        "terms": _terms(sub, end, amount, every, local_date(sub.resumes_at, locale, tz)),
    }


def _terms(sub, end: str, amount: str, every: str, resumes: str) -> list[str]:
    """The renewal and cancellation terms, plainly, for this subscription's state."""
    params = {"date": end, "amount": amount, "interval": every, "resumes": resumes}
    if sub.cancel_at_period_end:
        return [_("Your subscription is cancelled. You keep access until %(date)s and you will not be charged again.") % params]
    if sub.status == S.PAUSED:
        text = (_("Your subscription is paused until %(resumes)s. You are not charged while it is paused.") if resumes
                else _("Your subscription is paused. You are not charged while it is paused."))
        return [text % params]
    if sub.status in (S.PAST_DUE, S.UNPAID):
        return [_("Your last payment did not go through. Update your card so that your subscription continues.")]
    first = (_("Your free trial ends on %(date)s. Then you are charged %(amount)s every %(interval)s until you cancel.")
             if sub.status == S.TRIALING else
             _("Your subscription renews automatically on %(date)s: you are charged %(amount)s every %(interval)s until you cancel."))
    return [first % params,
            _("You can cancel at any time. When you cancel, you keep access until %(date)s, the end of the period you "
              "have paid for, and you are not charged again.") % params]


def invoices(customer) -> list[dict]:
    locale, tz = customer.locale, customer.time_zone
    rows = (Invoice.objects.filter(customer=customer).exclude(status=InvoiceStatus.DRAFT.value)
            .only("pk", "number", "status", "currency", "total", "amount_due", "created_at", "finalized_at", "paid_at")
            .order_by("-created_at", "-pk"))
    return [{"id": inv.pk, "number": inv.number or "", "date": local_date(inv.finalized_at or inv.created_at, locale, tz),
             "total": money(inv.total, inv.currency, locale), "status": inv.get_status_display(),
             "paid": inv.status == InvoiceStatus.PAID.value} for inv in rows]


def card(customer) -> dict | None:
    method = customer.default_payment_method
    if method is None or method.detached_at is not None:
        return None
    return {"brand": method.brand, "last4": method.last4, "expires": f"{method.exp_month:02d}/{method.exp_year}"}
