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
                       (_("By language"), report["by_locale"]), (_("By signup month (cohort)"), report["by_cohort"])],
        "selected": {"from": request.GET.get("from", ""), "to": request.GET.get("to", ""), "plan": request.GET.get("plan", "")},
    }
    return render(request, "feedback/dashboard.html", context)
