"""What the portal's home shows, as ready-made strings in the customer's language.

A fixed number of queries whatever the customer holds: the subscriptions with their plans and
items in three, the next renewal's invoice of every subscription in a few more
(``upcoming.upcoming_for``), the invoices in one (no query per invoice), the cards in one, the
card link's state in one, the portal's settings in one.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from assina.core.bundles import saving
from assina.core.invoice_states import InvoiceStatus
from assina.core.invoicing import LineKind
from assina.core.pricing import price_amount
from assina.core.states import SubscriptionStatus as S
from assina.invoices.models import Invoice
from assina.notifications.card_page import BRANDS
from assina.payments.models import PaymentMethod
from assina.notifications.context import interval_word, local_date, money, number
from assina.subscriptions.changes import from_price_migration, owners_change, pins_version
from assina.subscriptions.models import Subscription, SubscriptionItem

from .manage import CHANGEABLE
from .models import PortalSettings
from .upcoming import Upcoming, bundle_parts, items_with_flags, upcoming_for, with_flags

SHOWN = (S.TRIALING, S.ACTIVE, S.PAST_DUE, S.UNPAID, S.PAUSED, S.INCOMPLETE)


def subscriptions(customer, portal: PortalSettings | None = None) -> list[dict]:
    portal = portal or PortalSettings.current()
    items = items_with_flags(SubscriptionItem.objects.select_related("plan_version__plan")).order_by("pk")
    subs = list(with_flags(Subscription.objects.filter(customer=customer, status__in=[s.value for s in SHOWN]))
                .select_related("plan").prefetch_related(Prefetch("items", queryset=items)).order_by("-pk"))
    for sub in subs:
        sub.customer = customer  # already loaded with the session: the flows it is handed to read it
    parts = bundle_parts(subs)
    coming = upcoming_for(subs, customer.credit_balance, customer.locale, parts)
    return [_subscription(sub, customer, coming.get(sub.pk), portal, parts) for sub in subs]


def _subscription(sub, customer, coming: Upcoming | None, portal: PortalSettings, parts: dict) -> dict:
    locale, tz = customer.locale, customer.time_zone
    lines, total, base, bundle = [], 0, None, None
    every = interval_word(sub.interval, sub.interval_count, locale)
    for item in sub.items.all():
        amount = price_amount(item.plan_version.price_spec(), item.quantity)
        total += amount
        plan = item.plan_version.plan
        line = {"id": item.pk, "name": plan.name, "quantity": number(item.quantity, locale),
                "amount": money(amount, sub.currency, locale), "addon": plan.kind == "addon"}
        if base is None and not line["addon"]:
            base = line
            if item.plan_version_id in parts:
                bundle = _bundle(parts[item.plan_version_id], item.quantity, amount, sub.currency, locale, every)
        lines.append(line)
    end = local_date(sub.current_period_end, locale, tz)
    amount = money(total, sub.currency, locale)
    next_amount = money(coming.amount_due, sub.currency, locale) if coming else ""
    changeable = sub.status in CHANGEABLE and not sub.cancel_at_period_end and sub.catch_up_held_at is None
    return {
        "id": sub.pk, "object": sub, "plan": sub.plan.name, "status": sub.get_status_display(), "status_code": sub.status,
        "price": amount, "interval": every, "quantity": base["quantity"] if base else "1",
        "addons": [line for line in lines if line["addon"]], "lines": lines, "bundle": bundle,
        "next_charge_on": local_date(coming.at, locale, tz) if coming else "", "next_charge_amount": next_amount,
        "upcoming": _upcoming(coming, sub.currency, locale) if coming else None,
        "change_note": _change_note(sub, coming, locale, tz) if coming and coming.change else "",
        # The owner's price (a pinned version, a price migration's change, or the customer's change
        # over one, which the price change page changes instead): not the customer's to drop here.
        "can_keep_plan": bool(coming and coming.change and not owners_change(coming.change.change)
                              and not from_price_migration(coming.change.change)),
        "terms": _terms(sub, end, amount, every, local_date(sub.resumes_at, locale, tz), _new_price(sub, coming, locale)),
        "can_change": changeable,
        "can_pause": changeable and sub.status != S.TRIALING and bool(portal.pause_lengths),
        "can_resume": sub.status == S.PAUSED,
        "can_change_addons": changeable and portal.allow_addon_changes,
        "can_cancel": sub.status in (S.ACTIVE, S.TRIALING, S.PAST_DUE) and not sub.cancel_at_period_end,
    }


def _bundle(parts, quantity: int, amount: int, currency: str, locale: str, every: str) -> dict:
    """A bundle's parts as its invoice lists them (each part's quantity and what it is worth alone,
    ``core.invoicing``) and what it saves against buying them apart."""
    times = max(quantity, 1)
    values = [part.value * times for part in parts]
    saved = saving(values, amount)
    return {"parts": [_("%(part)s × %(quantity)s (worth %(value)s)") % {
                "part": part.description, "quantity": number(part.quantity * times, locale),
                "value": money(value, currency, locale)} for part, value in zip(parts, values)],
            "saving": _("You save %(amount)s every %(interval)s against buying them apart (%(total)s).") % {
                "amount": money(saved, currency, locale), "interval": every,
                "total": money(sum(values), currency, locale)} if saved else ""}


def _upcoming(coming: Upcoming, currency: str, locale: str) -> dict:
    def line(l) -> dict:
        # A bundle's parts have no amount of their own, as on the invoice (the bundle's line has the price).
        part = l.kind == LineKind.BUNDLE_PART
        return {"description": l.description, "amount": "" if part else money(l.amount, currency, locale), "part": part,
                "quantity": number(l.quantity, locale)}

    return {"lines": [line(l) for l in coming.lines], "total": money(coming.total, currency, locale),
            "credit": money(-coming.credit, currency, locale) if coming.credit else "",
            "amount_due": money(coming.amount_due, currency, locale), "usage": [line(l) for l in coming.usage]}


def _change_note(sub, coming: Upcoming, locale: str, tz: str) -> str:
    change = coming.change.change
    quantity = next((item.quantity for item in sub.items.all() if item.plan_version.plan.kind != "addon"), None)
    if pins_version(coming.change) and change.get("plan") == sub.plan.code and change.get("quantity") == quantity:
        # A new price of the same plan (a price migration): the plan itself does not change.
        return _("On %(date)s the price of your plan changes; the amount above is at the new price.") % {
            "date": local_date(coming.at, locale, tz)}
    return _("On %(date)s your plan changes to %(plan)s × %(quantity)s; the amount above is at the new price.") % {
        "date": local_date(coming.at, locale, tz), "plan": coming.change_plan or change.get("plan"),
        "quantity": number(int(change.get("quantity", 1)), locale)}


def _new_price(sub, coming: Upcoming | None, locale: str) -> tuple[str, str] | None:
    """What the subscription costs per period once the change due at its renewal applies (the
    amount and the interval word), when that differs from what it costs now; else None."""
    if coming is None or coming.change is None or coming.change_price is None:
        return None
    interval, count = coming.change_interval
    now = sum(price_amount(item.plan_version.price_spec(), item.quantity) for item in sub.items.all())
    if coming.change_price == now and (interval, count) == (sub.interval, sub.interval_count):
        return None
    return money(coming.change_price, sub.currency, locale), interval_word(interval, count, locale)


def _terms(sub, end: str, amount: str, every: str, resumes: str, new: tuple[str, str] | None = None) -> list[str]:
    """The renewal and cancellation terms, plainly, for this subscription's state. ``new``: the
    price and interval from the renewal on, when a change due then moves the price."""
    params = {"date": end, "amount": amount, "interval": every, "resumes": resumes}
    if new is not None:
        params["new_amount"], params["new_interval"] = new
    if sub.cancel_at_period_end:
        return [_("Your subscription is cancelled. You keep access until %(date)s and you will not be charged again.") % params]
    if sub.status == S.PAUSED:
        text = (_("Your subscription is paused until %(resumes)s. You are not charged while it is paused.") if resumes
                else _("Your subscription is paused. You are not charged while it is paused."))
        return [text % params, _("You can resume it at any time with “Resume”: a new period starts that day and is "
                                 "charged then, less the credit kept from the pause.")]
    if sub.status in (S.PAST_DUE, S.UNPAID):
        return [_("Your last payment did not go through. Update your card so that your subscription continues.")]
    if sub.status == S.TRIALING:
        first = (_("Your free trial ends on %(date)s. Then you are charged %(new_amount)s every %(new_interval)s "
                   "until you cancel.") if new else
                 _("Your free trial ends on %(date)s. Then you are charged %(amount)s every %(interval)s until you cancel."))
    elif new:
        first = _("Your subscription renews automatically on %(date)s: you are charged %(amount)s every %(interval)s "
                  "until then, and %(new_amount)s every %(new_interval)s from %(date)s until you cancel.")
    else:
        first = _("Your subscription renews automatically on %(date)s: you are charged %(amount)s every %(interval)s "
                  "until you cancel.")
    return [first % params,
            _("You can cancel at any time. When you cancel, you keep access until %(date)s, the end of the period you "
              "have paid for, and you are not charged again.") % params]


def invoices(customer) -> list[dict]:
    """Every invoice but drafts, newest first: one query of plain tuples (no model instances), the
    status words looked up once per page and the PDF's address made by formatting (the same as
    ``{% url 'portal:invoice_pdf' id %}``, see ``urls.py``) -- 36 rows cost the same few lookups."""
    locale, tz = customer.locale, customer.time_zone
    rows = (Invoice.objects.filter(customer_id=customer.pk).exclude(status=InvoiceStatus.DRAFT.value)
            .order_by("-created_at", "-pk")
            .values_list("pk", "number", "status", "currency", "total", "created_at", "finalized_at"))
    words = {value: str(label) for value, label in Invoice._meta.get_field("status").flatchoices}
    paid = InvoiceStatus.PAID.value
    pdf = reverse("portal:invoice_pdf", args=[0])[:-len("0/pdf")]  # the script prefix included
    return [{"id": pk, "number": number_ or "", "date": local_date(finalized_at or created_at, locale, tz),
             "total": money(total, currency, locale), "status": words.get(status, status), "paid": status == paid,
             "pdf_url": f"{pdf}{pk}/pdf"}
            for pk, number_, status, currency, total, created_at, finalized_at in rows]


def invoice_rows(invoices: list[dict]) -> SafeString:
    """The invoices' table rows, made here rather than by a template loop: the home's biggest loop
    (36 rows for three years of months) cost more in the template engine's nodes than everything
    else on the page. Every value escaped, as the template would."""
    return mark_safe("".join(
        f'<tr><td>{escape(inv["date"])}</td><td class="hide-narrow">{escape(inv["number"])}</td>'
        f'<td>{escape(inv["status"])}</td><td class="amount">{escape(inv["total"])}</td>'
        f'<td><a href="{escape(inv["pdf_url"])}">PDF</a></td></tr>' for inv in invoices))


def cards(customer) -> tuple[list[dict], int]:
    """The customer's cards, the default first, and the newest payment method ever attached
    (the card link's state, ``notifications.card_links.card_state``): one query."""
    default = customer.default_payment_method_id
    rows = list(PaymentMethod.objects.filter(customer_id=customer.pk).order_by("-created_at", "-pk"))
    found = [{"id": m.pk, "brand": BRANDS.get(m.brand, m.brand.title()), "last4": m.last4,
              "expires": f"{m.exp_month:02d}/{m.exp_year}", "default": m.pk == default}
             for m in rows if m.detached_at is None]
    return sorted(found, key=lambda card: not card["default"]), max((m.pk for m in rows), default=0)
