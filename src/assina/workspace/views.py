"""The owner's customer workspace: the customer list with filters and saved segments, a
customer's page (summary, feedback, timeline) and the actions on a customer, each through its
app's service. Staff only; each page and export checks its model permission, each action the
permission of what it changes. Every action is a POST (CSRF-protected) that first shows what
it will do (with the service's preview where there is one) and acts only when confirmed."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from assina.analytics.suggestions import kind_label
from assina.core.errors import DomainError
from assina.core.money import parse_amount
from assina.customers.models import Customer
from assina.i18n import CustomerTexts, localized_message
from assina.notifications.context import money
from assina.notifications.models import HEALTH_BANDS, NPS_CATEGORIES, Segment
from assina.notifications.segments import SegmentError, customers_of
from assina.subscriptions.models import Subscription
from assina.time import now as clock_now

from . import exports, listing, suggested, summary, timeline
from .services import delete_segment, rename_segment, save_segment, segment_uses

VIEW = "customers.view_customer"


def permission_required(*perms: str):
    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.has_perms((VIEW, *perms)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return staff_member_required(guarded)

    return decorate


def _context(request, title: str, **extra) -> dict:
    """What the admin's base template reads, without ``each_context``'s list of every app and
    model (a third of a page's time, for a side bar these pages do not show)."""
    site = admin.site
    return {"site_title": site.site_title, "site_header": site.site_header, "site_url": site.site_url,
            "has_permission": site.has_permission(request), "available_apps": [], "is_popup": False,
            "is_nav_sidebar_enabled": False, "title": title, **extra}


def _language() -> str:
    return get_language() or "en"


def _money(amount: int, currency: str) -> str:
    return money(amount, currency, _language())


# --- the list ---------------------------------------------------------------------------------------



def _band_words() -> dict:
    from assina.success.models import Band

    return {b.value: str(b.label) for b in Band}


@require_GET
@permission_required()
def customer_list(request):
    at = clock_now()
    params = request.GET
    saved = None
    if params.get("segment"):
        saved = Segment.objects.filter(pk=params["segment"]).first() if params["segment"].isdigit() else None
        if saved is not None:
            query = {k: v for k, v in listing.query_of(saved).items() if v}
            params = _querydict({**query, "sort": params.get("sort", ""), "q": params.get("q", "")})
    filters = listing.filters_from(params)
    sort = params.get("sort") or "newest"
    number = int(params["page"]) if (params.get("page") or "").isdigit() else 1
    errors = list(filters.errors)
    try:
        page = listing.page(filters, at, search=params.get("q", ""), sort=sort, number=number)
    except SegmentError as exc:  # a criterion no installed app evaluates
        errors.append(localized_message(exc))
        page = listing.Page(rows=[], count=0, number=1, pages=1)
    bands = _band_words()
    for row in page.rows:
        row["mrr_text"] = _money(row["mrr"], row["currency"]) if row["mrr"] else "—"
        row["band_label"] = bands.get(row["band"], "")
        row["risk_pct"] = None if row["churn"] is None else round(row["churn"] * 100)
        row["nps_category"] = None if row["nps"] is None else ("promoter" if row["nps"] >= 9 else "passive" if row["nps"] >= 7 else "detractor")
        row["nps_label"] = "" if row["nps"] is None else str(timeline.CATEGORY_WORDS[row["nps_category"]])
        row["status_label"] = _status_label(row["status"])
        row["tenure_text"] = tenure_words(row["tenure_days"])
    base = {k: v for k, v in ((key, params.getlist(key)) for key in (*listing.FILTER_KEYS, "q", "sort")) if v and any(v)}
    context = _context(
        request, _("Customers"), page=page, filters=filters, errors=errors, sort=sort, search=params.get("q", ""),
        sorts=[("newest", _("Newest")), ("oldest", _("Oldest")), ("risk", _("Highest churn risk")),
               ("health", _("Lowest health")), ("name", _("Name"))],
        bands=[(b, bands[b]) for b in HEALTH_BANDS],
        nps_choices=[(c, str(timeline.CATEGORY_WORDS[c])) for c in NPS_CATEGORIES],
        statuses=Subscription._meta.get_field("status").choices,
        segments=list(Segment.objects.order_by("name")[:200]), saved=saved,
        query=urlencode(base, doseq=True), currency=settings.ASSINA_DEFAULT_CURRENCY,
        previous_url=_page_url(base, page.number - 1) if page.number > 1 else "",
        next_url=_page_url(base, page.number + 1) if page.number < page.pages else "",
        can_save=request.user.has_perm("notifications.add_segment"),
        can_rename=request.user.has_perm("notifications.change_segment"),
        can_delete=request.user.has_perm("notifications.delete_segment"),
        can_export=request.user.has_perm("feedback.view_surveyresponse"),
    )
    return render(request, "workspace/customers.html", context)


def tenure_words(days: int) -> str:
    """How long someone has been a customer, as an owner says it."""
    from django.utils.translation import ngettext

    if days < 60:
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if days < 730:
        months = days * 12 // 365
        return ngettext("%(n)d month", "%(n)d months", months) % {"n": months}
    years = days // 365
    return ngettext("%(n)d year", "%(n)d years", years) % {"n": years}


def _querydict(values: dict):
    from django.http import QueryDict

    q = QueryDict(mutable=True)
    for key, value in values.items():
        if isinstance(value, list):
            q.setlist(key, value)
        elif value:
            q[key] = value
    return q


def _page_url(base: dict, number: int) -> str:
    return "?" + urlencode({**base, "page": [str(number)]}, doseq=True)


def _status_label(status: str | None) -> str:
    if not status:
        return ""
    return str(dict(Subscription._meta.get_field("status").choices).get(status, status))


@require_POST
@permission_required("notifications.add_segment")
def segment_save(request):
    filters = listing.filters_from(request.POST)
    if filters.errors:
        for error in filters.errors:
            messages.error(request, error)
        return HttpResponseRedirect(reverse("workspace:customers"))
    try:
        segment = save_segment(request.POST.get("name", ""), filters.segment)
    except DomainError as exc:
        messages.error(request, localized_message(exc))
        return HttpResponseRedirect(reverse("workspace:customers") + "?" + urlencode(
            {k: request.POST.getlist(k) for k in listing.FILTER_KEYS}, doseq=True))
    messages.success(request, _("Segment “%(name)s” saved: campaigns, surveys and playbooks can use it.") % {"name": segment.name})
    return HttpResponseRedirect(reverse("workspace:customers") + f"?segment={segment.pk}")


@require_POST
@permission_required("notifications.delete_segment")
def segment_delete(request, segment_id: int):
    """A POST shows what deleting the segment means (or why it cannot be deleted); a POST with
    ``confirm=yes`` deletes it."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        messages.error(request, _("That segment no longer exists."))
        return HttpResponseRedirect(reverse("workspace:customers"))
    if request.POST.get("confirm") != "yes":
        uses = segment_uses(segment)
        return render(request, "workspace/segment_delete.html", _context(
            request, _("Delete segment"), segment=segment, uses=uses,
            audience=None if uses else _audience(segment),
            back_url=reverse("workspace:customers") + f"?segment={segment.pk}"))
    try:
        name = delete_segment(segment_id)
    except DomainError as exc:
        messages.error(request, localized_message(exc))
        return HttpResponseRedirect(reverse("workspace:customers") + f"?segment={segment.pk}")
    messages.success(request, _("Segment “%(name)s” deleted.") % {"name": name or segment.name})
    return HttpResponseRedirect(reverse("workspace:customers"))


def _audience(segment: Segment) -> int | None:
    try:
        return customers_of(segment, clock_now()).filter(erased_at__isnull=True).count()
    except SegmentError:
        return None


@require_POST
@permission_required("notifications.change_segment")
def segment_rename(request, segment_id: int):
    try:
        segment = rename_segment(segment_id, request.POST.get("name", ""))
    except DomainError as exc:
        messages.error(request, localized_message(exc))
        return HttpResponseRedirect(reverse("workspace:customers") + f"?segment={segment_id}")
    messages.success(request, _("Segment renamed to “%(name)s”.") % {"name": segment.name})
    return HttpResponseRedirect(reverse("workspace:customers") + f"?segment={segment.pk}")


# --- a customer's page ------------------------------------------------------------------------------

def _customer(customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise Http404(_("No such customer."))
    return customer


@require_GET
@permission_required()
def customer_page(request, customer_id: int):
    customer = _customer(customer_id)
    at = clock_now()
    kind = request.GET.get("kind") or None
    kind = kind if kind in timeline.KINDS else None
    cursor = timeline.decode_cursor(request.GET.get("after"))
    items, next_cursor = timeline.page(customer.pk, kind=kind, cursor=cursor)
    info = summary.summary(customer, at)
    for s in info["subscriptions"]:
        s.mrr_text = _money(s.workspace_mrr, s.currency)
        s.status_label = _status_label(s.status)
        s.plans = summary.plan_choices(s) if s.can_change else []
    for invoice in info["paid_invoices"]:
        invoice.total_text = _money(invoice.total, invoice.currency)
    user = request.user
    context = _context(
        request, customer.name or customer.email, customer=customer, info=info, items=items, kind=kind,
        kinds=[(k, str(title)) for k, (title, _p) in timeline.KINDS.items()],
        next_url=(f"?{urlencode({'kind': kind or '', 'after': timeline.encode_cursor(next_cursor)})}" if next_cursor else ""),
        newest_url=(f"?{urlencode({'kind': kind})}" if kind else "?") if cursor else "",
        mrr_text=_money(info["mrr"], info["mrr_currency"]), tenure_text=tenure_words(info["tenure_days"]),
        clv_text=_money(info["clv"]["clv"], info["clv"]["currency"]) if info["clv"] else "",
        risk_pct=round(info["health"]["churn"] * 100) if info["health"] and info["health"]["churn"] is not None else None,
        can={"subscriptions": user.has_perm("subscriptions.change_subscription"), "refund": user.has_perm("payments.add_refund"),
             "portal": user.has_perm("portal.add_portallink"), "note": user.has_perm("engagement.add_customernote"),
             "task": user.has_perm("engagement.add_task"), "task_done": user.has_perm("engagement.change_task"),
             "feedback": user.has_perm("feedback.view_surveyresponse")},
        note_kinds=_note_kinds(), admin_url=reverse("admin:customers_customer_change", args=[customer.pk]),
    )
    return render(request, "workspace/customer.html", context)


def _surface_words(surface: str | None) -> str:
    words = {"portal": _("in the portal"), "checkout": _("at checkout"), "api": _("through the API"),
             "admin": _("by your team")}
    return words.get(surface or "", surface or "")


def _day(at) -> str:
    return formats.date_format(timezone.localtime(at), "SHORT_DATE_FORMAT")


@require_GET
@permission_required()
def customer_suggestions(request, customer_id: int):
    """The Suggestions section of a customer's page, which the page loads after the rest
    (``suggested``). Reading it records nothing: the owner looking is not the customer shown."""
    customer = _customer(customer_id)
    found = suggested.section(customer.pk, _language(), clock_now())
    rows = []
    for row in found["current"]:
        s, shown, accepted = row["suggestion"], row["shown"], row["accepted"]
        if accepted:
            status, tone = _("Accepted on %(day)s (%(where)s)") % {"day": _day(accepted["at"]),
                                                                   "where": _surface_words(accepted.get("surface"))}, "good"
        elif shown:
            status, tone = _("Shown to the customer on %(day)s (%(where)s); not accepted") % {
                "day": _day(shown["at"]), "where": _surface_words(shown.get("surface"))}, "watch"
        else:
            status, tone = _("Not shown to the customer in the last %(days)s days") % {
                "days": suggested.LOOK_BACK.days}, "none"
        rows.append({"name": s.name, "kind": kind_label(s.kind), "price": s.price, "reason": s.reason,
                     "added": _money(s.monthly_amount, s.currency), "status": status, "tone": tone})
    accepted = [{"name": d["name"], "kind": kind_label(d.get("kind")), "day": _day(d["at"]),
                 "where": _surface_words(d.get("surface")),
                 "added": _money(int(d.get("monthly_amount") or 0), d["currency"]) if d.get("currency") else "—"}
                for d in found["accepted"]]
    return render(request, "workspace/_suggestions.html", {"rows": rows, "accepted": accepted,
                                                            "days": suggested.LOOK_BACK.days})


def _note_kinds():
    from assina.engagement.models import CustomerNote

    return CustomerNote.Kind.choices


# --- actions ------------------------------------------------------------------------------------------

ACTIONS = {
    "change": "subscriptions.change_subscription", "discount": "subscriptions.change_subscription",
    "pause": "subscriptions.change_subscription", "resume": "subscriptions.change_subscription",
    "cancel": "subscriptions.change_subscription", "refund": "payments.add_refund",
    "portal_link": "portal.add_portallink", "note": "engagement.add_customernote", "task": "engagement.add_task",
    "task_done": "engagement.change_task",
}
# Actions that show a confirmation (with a preview) before acting; notes and tasks act at once.
CONFIRMED = {"change", "discount", "pause", "resume", "cancel", "refund", "portal_link"}


class ActionRefused(Exception):
    pass


@require_POST
@staff_member_required
def act(request, customer_id: int, action: str):
    perm = ACTIONS.get(action)
    if perm is None:
        raise Http404(_("No such action."))
    if not request.user.has_perms((VIEW, perm)):
        raise PermissionDenied
    customer = _customer(customer_id)
    page_url = reverse("workspace:customer", args=[customer.pk])
    post = request.POST
    try:
        if action in CONFIRMED and post.get("confirm") != "yes":
            return render(request, "workspace/confirm.html", _context(
                request, _("Confirm"), customer=customer, action=action, fields=_hidden(post),
                **_preview(action, customer, post)))
        done = _perform(action, customer, post, request.user)
    except (DomainError, ActionRefused) as exc:
        messages.error(request, localized_message(exc) if isinstance(exc, DomainError) else str(exc))
        return HttpResponseRedirect(page_url)
    messages.success(request, done)
    return HttpResponseRedirect(page_url)


def _hidden(post) -> list[tuple[str, str]]:
    return [(k, v) for k in post if k not in ("csrfmiddlewaretoken", "confirm") for v in post.getlist(k)]


def _subscription(customer: Customer, post) -> Subscription:
    value = post.get("subscription", "")
    sub = Subscription.objects.select_related("plan").filter(pk=int(value), customer=customer).first() if value.isdigit() else None
    if sub is None:
        raise ActionRefused(_("Choose one of this customer's subscriptions."))
    return sub


def _quantity(post) -> int | None:
    text = (post.get("quantity") or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise ActionRefused(_("The quantity must be a whole number from 1 to 1,000,000."))
    return int(text)


def _amount(text: str, currency: str) -> int:
    text = (text or "").strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 49,90 as Brazilian owners write it
    try:
        return parse_amount(text, currency)
    except ValueError:
        raise ActionRefused(_("“%(text)s” is not an amount; write it like 49.90.") % {"text": text[:40]}) from None


def _line_text(line) -> str:
    """A preview line in the owner's language, its amounts written for it ("R$ 10,00" / "R$10.00")."""
    if line.description_template:
        return CustomerTexts().text(_language(), line.description_template, line.description_params)
    return line.description


def _preview(action: str, customer: Customer, post) -> dict:
    """What the confirmation page says the action will do."""
    from assina.subscriptions.changes import preview_change

    lines, facts = [], []
    if action == "portal_link":
        facts.append(_("A single-use link to their portal will be e-mailed to %(email)s.") % {"email": customer.email})
        return {"facts": facts, "lines": lines, "heading": _("Send the portal link")}
    if action == "refund":
        invoice, left = _refund_target(customer, post)
        amount = _amount(post["amount"], invoice.currency) if post.get("amount") else left
        facts.append(_("Refund %(amount)s of invoice %(number)s (%(left)s can still be refunded) to the card that paid it.")
                     % {"amount": _money(amount, invoice.currency), "number": invoice.number, "left": _money(left, invoice.currency)})
        return {"facts": facts, "lines": lines, "heading": _("Refund")}
    sub = _subscription(customer, post)
    heading = {"change": _("Change plan or quantity"), "discount": _("Discount"), "pause": _("Pause"),
               "resume": _("Resume"), "cancel": _("Cancel")}[action]
    if action == "change":
        plan_code, quantity = post.get("plan") or None, _quantity(post)
        preview = preview_change(sub.pk, plan_code=plan_code, quantity=quantity)
        when = post.get("when") == "period_end"
        from assina.catalog.models import Plan

        target = Plan.objects.filter(code=plan_code).first() if plan_code else sub.plan
        facts.append(_("%(plan)s × %(quantity)s from %(current)s × %(old)s.") % {
            "plan": target.name if target else plan_code, "quantity": quantity or _base_quantity(sub),
            "current": sub.plan.name, "old": _base_quantity(sub)})
        if when:
            facts.append(_("The change takes effect when the current period ends; nothing is billed now."))
        else:
            lines = [(_line_text(line), _money(line.amount, sub.currency)) for line in preview.lines]
            net = preview.net
            facts.append(_("Net now: %(amount)s (a charge when positive, credit when negative), on the next invoice.")
                         % {"amount": _money(net, sub.currency)} if not preview.resets_period else
                         _("The billing interval changes: a new period starts now and is billed at once (%(amount)s of "
                           "credit for the unused time).") % {"amount": _money(-net, sub.currency)})
    elif action == "discount":
        percent, amount, periods = _discount_terms(post, sub)
        what = f"{percent} %" if percent is not None else _money(amount, sub.currency)
        facts.append(_("%(what)s off from the next %(n)s invoices.") % {"what": what, "n": periods} if periods
                     else _("%(what)s off every invoice from the next one on.") % {"what": what})
    elif action == "pause":
        facts.append(_("Billing stops now; the unused part of the paid period becomes credit for when it resumes."))
    elif action == "resume":
        facts.append(_("The subscription starts again now and its new period is billed."))
    elif action == "cancel":
        facts.append(_("It ends now; the unused part of the period becomes credit.") if post.get("when") == "now"
                     else _("It ends when the paid period ends; access is kept until then."))
    return {"facts": facts, "lines": lines, "heading": heading, "subscription": sub}


def _base_quantity(sub: Subscription) -> int:
    from assina.catalog.models import Plan

    item = sub.items.filter(plan_version__plan__kind=Plan.Kind.BASE).first()
    return item.quantity if item else 1


def _discount_terms(post, sub: Subscription):
    percent_text, amount_text = (post.get("percent_off") or "").strip(), (post.get("amount_off") or "").strip()
    periods_text = (post.get("periods") or "").strip()
    if bool(percent_text) == bool(amount_text):
        raise ActionRefused(_("Give either a percentage or an amount off."))
    periods = None
    if periods_text:
        if not periods_text.isdigit() or not 1 <= int(periods_text) <= 120:
            raise ActionRefused(_("The number of periods must be a whole number from 1 to 120."))
        periods = int(periods_text)
    if percent_text:
        try:
            percent = Decimal(percent_text.replace(",", "."))
        except InvalidOperation:
            percent = Decimal(-1)
        if not (percent.is_finite() and 0 < percent <= 100):
            raise ActionRefused(_("The percentage must be more than 0 and at most 100."))
        return percent, None, periods
    return None, _amount(amount_text, sub.currency), periods


def _refund_target(customer: Customer, post):
    from assina.invoices.models import Invoice
    from assina.payments.refunds import refundable

    value = post.get("invoice", "")
    invoice = Invoice.objects.filter(pk=int(value), customer=customer).first() if value.isdigit() else None
    if invoice is None:
        raise ActionRefused(_("Choose one of this customer's paid invoices."))
    _payment, left = refundable(invoice)
    return invoice, left


def _perform(action: str, customer: Customer, post, user) -> str:
    """Do it through the app's service; the success message."""
    at = clock_now()
    if action == "note":
        from assina.engagement.services import add_note

        add_note(customer, body=post.get("body", ""), kind=post.get("kind") or "note", author=user)
        return _("Note added.")
    if action == "task":
        from assina.engagement.services import add_task

        add_task(customer, title=post.get("title", ""), due_at=_due(post.get("due", ""), customer))
        return _("Task added.")
    if action == "task_done":
        from assina.engagement.models import Task
        from assina.engagement.services import complete_task

        value = post.get("task", "")
        task = Task.objects.filter(pk=int(value), customer=customer).first() if value.isdigit() else None
        if task is None:
            raise ActionRefused(_("No such task for this customer."))
        complete_task(task)
        return _("Task done.")
    if action == "portal_link":
        from assina.portal.services import Throttled, request_link

        try:
            request_link(customer.email, f"staff:{user.pk}")
        except Throttled:
            raise ActionRefused(_("Too many links were sent to this customer recently; try again in a while.")) from None
        return _("Portal link e-mailed to %(email)s.") % {"email": customer.email}
    if action == "refund":
        from assina.payments.refunds import refund_invoice

        invoice, left = _refund_target(customer, post)
        amount = _amount(post["amount"], invoice.currency) if post.get("amount") else None
        refund = refund_invoice(invoice.pk, at, amount=amount, reason=(post.get("reason") or "")[:200])
        return _("Refund of %(amount)s made.") % {"amount": _money(refund.amount, refund.currency)}
    sub = _subscription(customer, post)
    if action == "change":
        from assina.subscriptions.changes import change_subscription

        change_subscription(sub.pk, plan_code=post.get("plan") or None, quantity=_quantity(post),
                            at_period_end=post.get("when") == "period_end")
        return _("Subscription changed.") if post.get("when") != "period_end" else _("Change scheduled for the end of the period.")
    if action == "discount":
        from assina.subscriptions.discounts import apply_discount

        percent, amount, periods = _discount_terms(post, sub)
        apply_discount(sub.pk, percent_off=percent, amount_off=amount, periods=periods, source="owner")
        return _("Discount applied from the next invoice.")
    if action == "pause":
        from assina.subscriptions.services import pause

        pause(sub.pk)
        return _("Subscription paused.")
    if action == "resume":
        from assina.subscriptions.services import resume

        resume(sub.pk)
        return _("Subscription resumed.")
    if action == "cancel":
        from assina.subscriptions.services import cancel_at_period_end, cancel_now

        reason = (post.get("reason") or "")[:200]
        if post.get("when") == "now":
            cancel_now(sub.pk, prorate=True, reason=reason)
            return _("Subscription canceled.")
        cancel_at_period_end(sub.pk, reason=reason)
        return _("Cancellation scheduled for the end of the paid period.")
    raise Http404


def _due(text: str, customer: Customer):
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo

    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ActionRefused(_("The due date must be a date such as 2027-01-31.")) from None
    return datetime.combine(day, time(9), tzinfo=ZoneInfo(customer.time_zone or "UTC"))


# --- feedback exports (issue 17) ----------------------------------------------------------------------

@require_GET
@permission_required("feedback.view_surveyresponse")
def feedback_csv(request, customer_id: int | None = None):
    """Every survey answer and comment (of one customer, or all), for other teams."""
    if customer_id is not None:
        _customer(customer_id)
    response = StreamingHttpResponse(exports.feedback_rows(customer_id), content_type="text/csv; charset=utf-8")
    name = f"assina-feedback-cus_{customer_id}.csv" if customer_id else "assina-feedback-all.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
