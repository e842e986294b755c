"""``/dashboard/retention/``: the cancel flow's figures beside the revenue dashboard, for staff
with ``analytics.view_dashboard`` (``retention.report`` computes them; this page words them in the
reader's language with the dashboard's formatting and look)."""

from __future__ import annotations

from datetime import date

from babel.dates import format_skeleton
from django.contrib import admin
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assina.analytics import presentation as show
from assina.analytics.views import dashboard_permission_required
from assina.i18n import localized_message

from ..models import CancelOffer, OfferKind
from ..report import ReportError, retention_report


def _day(iso: str) -> str:
    return format_skeleton("yMMMd", date.fromisoformat(iso), locale=show.locale())


def _count(value: int) -> str:
    return show.number(value, 0)


def _mrr(amounts: dict[str, int]) -> str:
    return " + ".join(show.money(amount, currency) for currency, amount in amounts.items()) or "—"


def group_label(kind: str, key: str) -> str:
    if kind == "reasons":
        return show.reason_label(key) if key else _("No reason given")
    if kind == "offers":
        return str(dict(OfferKind.choices).get(key, _("No offer")))
    return str(dict(CancelOffer.Variant.choices).get(key, key))


def table(report: dict, kind: str) -> tuple[list[str], list[list[str]]]:
    head = [{"reasons": _("Reason"), "offers": _("Offer"), "variants": _("Variant")}[kind], _("Sessions"), _("Share"),
            _("Offers shown"), _("Accepted"), _("Acceptance rate"), _("Saves / evaluated"), _("Save rate"), _("Saved MRR")]
    rows = [[group_label(kind, g["key"]), _count(g["sessions"]), show.percent(g["share"]), _count(g["offers_shown"]),
             _count(g["offers_accepted"]), show.percent(g["acceptance_rate"]),
             f"{_count(g['saves'])} / {_count(g['evaluated'])}", show.percent(g["save_rate"]), _mrr(g["saved_mrr"])]
            for g in report[kind]]
    return head, rows


def kpis(report: dict) -> list[tuple[str, str, str, str]]:
    days = report["save_window_days"]
    return [
        ("sessions", _("Cancel sessions"), _count(report["sessions"]),
         _("Customers who started the cancel flow in this range.")),
        ("acceptance", _("Offer acceptance"), show.percent(report["acceptance_rate"]),
         _("%(accepted)s of %(shown)s offers shown were accepted.")
         % {"accepted": _count(report["offers_accepted"]), "shown": _count(report["offers_shown"])}),
        ("save-rate", _("Save rate"), show.percent(report["save_rate"]),
         _("%(saves)s of %(evaluated)s sessions were saves: an offer accepted and the subscription still active and paid "
           "%(days)s days later. %(pending)s sessions are too recent to judge.")
         % {"saves": _count(report["saves"]), "evaluated": _count(report["evaluated"]), "days": days,
            "pending": _count(report["pending"])}),
        ("saved-mrr", _("Saved MRR"), _mrr(report["saved_mrr"]),
         _("The monthly recurring revenue of the saves when their session started.")),
    ]


def comparison_text(name: str, c: dict) -> str:
    """One sentence: B against A on a rate, the test's p-value and its verdict."""
    what = _("Save rate") if name == "save_rate" else _("Acceptance rate")
    if c["test"] is None:
        return _("%(what)s: a variant has nothing to compare yet.") % {"what": what}
    verdict = _("significant (p < 0.05)") if c["significant"] else _("not significant (p ≥ 0.05)")
    test = _("two-proportion z-test") if c["test"] == "z" else _("Fisher's exact test")
    return _("%(what)s: A %(a)s (%(a_n)s of %(a_total)s), B %(b)s (%(b_n)s of %(b_total)s); B − A = %(difference)s "
             "points; p = %(p)s (%(test)s): %(verdict)s.") % {
        "what": what, "a": show.percent(c["a"]["rate"]), "a_n": _count(c["a"]["successes"]),
        "a_total": _count(c["a"]["trials"]), "b": show.percent(c["b"]["rate"]), "b_n": _count(c["b"]["successes"]),
        "b_total": _count(c["b"]["trials"]), "difference": show.number(c["difference"] * 100, 1),
        "p": show.number(c["p_value"], 4), "test": test, "verdict": verdict}


def variant_tests(report: dict) -> list[tuple[str, list[str]]]:
    test = report["variant_test"]
    if not test["reasons"]:
        return []
    pooled = ", ".join(show.reason_label(r) for r in test["reasons"])
    sections = [(_("All tested reasons (%(reasons)s)") % {"reasons": pooled},
                 [comparison_text(n, test[n]) for n in ("save_rate", "acceptance_rate")])]
    for row in test["by_reason"] if len(test["by_reason"]) > 1 else []:  # one reason: the pooled figures are its own
        sections.append((show.reason_label(row["reason"]),
                         [comparison_text(n, row[n]) for n in ("save_rate", "acceptance_rate")]))
    return sections


@require_GET
@dashboard_permission_required
def report(request):
    since, until = request.GET.get("from") or None, request.GET.get("to") or None
    error = None
    try:
        data = retention_report(since, until)
    except ReportError as exc:
        data, error = retention_report(), localized_message(exc)
    outcomes = data["outcomes"]
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": _("Retention: cancel flow and saves"), "report": data, "error": error, "kpis": kpis(data),
        "period": _("Sessions started from %(start)s to %(end)s, as of %(as_of)s.") % {
            "start": _day(data["from"]), "end": _day(data["to"]), "as_of": show.moment(data["as_of"])},
        "outcomes": [(_("Canceled"), _count(outcomes["canceled"])), (_("Saved (accepted an offer)"), _count(outcomes["saved"])),
                     (_("Left without an offer"), _count(outcomes["abandoned"])), (_("In progress"), _count(outcomes["open"]))],
        "tables": [{"key": kind, "title": title, "head": table(data, kind)[0], "rows": table(data, kind)[1]}
                   for kind, title in (("reasons", _("By reason")), ("offers", _("By offer")), ("variants", _("By variant")))],
        "tests": variant_tests(data),
        "selected": {"from": data["from"], "to": data["to"]},
        "facts": _("%(not_paying)s accepted an offer but were not paying %(days)s days later; %(stayed)s left the flow "
                   "without an offer and were still paying (not counted as saves).") % {
            "not_paying": _count(data["accepted_not_paying"]), "days": data["save_window_days"],
            "stayed": _count(data["stayed_without_offer"])},
    }
    return render(request, "retention/report.html", context)
