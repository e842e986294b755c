"""The owner's Feedback page beside the dashboard: NPS and CSAT with their trend, the ranked
pain points with their customers, and the latest comments. Staff with
``analytics.view_dashboard`` only."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from functools import wraps

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied

from assina.i18n import localized_message

from assina.success.feedback_bands import band_section, by_health_band

from ..reports import ReportError, feedback_report, latest_comments
from ..themes import ranked_themes

DASHBOARD_PERMISSION = "analytics.view_dashboard"  # the dashboard's own permission: who sees it sees this page


def dashboard_permission_required(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_member_required(guarded)


@require_GET
@dashboard_permission_required
def feedback_page(request):
    error = ""
    try:
        report = feedback_report(since=request.GET.get("from") or None, until=request.GET.get("to") or None,
                                 plan=request.GET.get("plan") or None)
    except ReportError as exc:
        error, report = localized_message(exc), feedback_report()
    themes = ranked_themes(since=report["from"], until=report["to"], examples=2, language=get_language() or "en")
    months = [{"month": m, **v} for m, v in report["by_month"].items()]
    top = max([abs(m["nps"]["nps"] or 0) for m in months] + [1])
    for m in months:
        m["bar"] = round(abs(m["nps"]["nps"] or 0) * 100 / top)
        m["negative"] = (m["nps"]["nps"] or 0) < 0
    context = {
        **admin.site.each_context(request), "is_nav_sidebar_enabled": False, "title": _("Feedback"),
        "report": report, "months": months, "themes": themes[:15], "comments": latest_comments(15), "error": error,
        "breakdowns": [(_("By plan"), report["by_plan"]), (_("By country"), report["by_country"]),
                       (_("By language"), report["by_locale"]), (_("By signup month (cohort)"), report["by_cohort"]),
                       (_("By saved segment"), report["by_segment"]),
                       band_section(by_health_band(report["from"], report["to"], request.GET.get("plan") or None))],
        "selected": {"from": request.GET.get("from", ""), "to": request.GET.get("to", ""), "plan": request.GET.get("plan", "")},
    }
    return render(request, "feedback/dashboard.html", context)


@require_GET
@dashboard_permission_required
def comments_csv(request):
    """Every response with its comment and themes in the period, for other teams (CSV; no cell
    may be read as a formula: comments are the customers' own words)."""
    import csv

    from django.http import HttpResponse

    from assina.core.nps import category
    from assina.core.spreadsheet import safe_row

    from ..models import SurveyResponse

    try:
        report = feedback_report(since=request.GET.get("from") or None, until=request.GET.get("to") or None)
    except ReportError as exc:
        return HttpResponse(localized_message(exc), status=400, content_type="text/plain; charset=utf-8")
    rows = (SurveyResponse.objects.filter(submitted_at__gte=report["from"], submitted_at__lt=report["to"])
            .select_related("customer").prefetch_related("theme_assignments__theme").order_by("submitted_at", "id"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="assina-feedback.csv"'
    writer = csv.writer(response)
    writer.writerow(["id", "submitted_at", "customer_email", "survey", "score", "group", "source", "language", "themes",
                     "tags", "comment"])
    for r in rows.iterator(chunk_size=2000):
        writer.writerow(safe_row([
            r.pk, r.submitted_at.isoformat(), r.customer.email, r.survey, "" if r.score is None else r.score,
            category(r.score) if r.survey == "nps" and r.score is not None else "", r.source, r.language,
            " ".join(sorted(a.theme.slug for a in r.theme_assignments.all())), " ".join(r.tags), r.comment]))
    return response
