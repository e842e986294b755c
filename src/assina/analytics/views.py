"""The revenue dashboard (the first page after login), its CSV exports, the Plotly script and
the suggestions panel beside it (``/dashboard/suggestions/``)."""

from __future__ import annotations

import csv
from datetime import date
from functools import wraps
from importlib.util import find_spec
from pathlib import Path

from babel.dates import format_skeleton
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assina import csp
from assina.core.spreadsheet import safe_row
from assina.i18n import localized_message
from assina.retention.report import ReportError

from . import presentation as show
from .forecasts import clv
from .service import MetricsError, options, recent_events, report
from .suggestions import kind_label, suggestions_report

RANGES = (3, 6, 12, 24, 36)
DASHBOARD_PERMISSION = "analytics.view_dashboard"
# Found without importing plotly (a slow import the page does not need).
PLOTLY_JS = Path(find_spec("plotly").origin).parent / "package_data" / "plotly.min.js"


def dashboard_permission_required(view):
    """Staff only (others go to the login page), and only with ``analytics.view_dashboard``:
    a staff account granted nothing sees no revenue figures (403)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return staff_member_required(guarded)


def _arguments(request) -> dict:
    get = request.GET
    months = get.get("months")
    return {"as_of": get.get("as_of") or None, "since": get.get("from") or None, "until": get.get("to") or None,
            "months": int(months) if months and months.isdigit() else None, "plan": get.get("plan") or None,
            "segment": get.get("segment") or None, "country": get.get("country") or None,
            "currency": get.get("currency") or None}


def _report(request) -> tuple[dict, str | None]:
    arguments = _arguments(request)
    try:
        return report(**arguments), None
    except MetricsError as exc:
        # Bad filters: say so, and show the default view instead of an error page.
        return report(), localized_message(exc)


@require_GET
@dashboard_permission_required
# plotly.js writes style="…" attributes on the SVG it draws (its style rules go into a nonced
# element in the template); scripts stay restricted to this server.
@csp.allow(style_src_attr=["'unsafe-inline'"])
def dashboard(request):
    data, error = _report(request)
    events = recent_events()
    query = request.GET.urlencode()
    tables = []
    for key, title in (("months", _("MRR movements by month")), ("plans", _("MRR by plan and billing interval")),
                       ("cohorts-customers", _("Customer retention by cohort (% of the cohort still paying)")),
                       ("cohorts-revenue", _("Revenue retention by cohort (% of the cohort's first-month MRR)")),
                       ("cancellations", _("Cancellations by reason")), ("events", _("Recent events"))):
        head, rows = show.TABLES[key](data, events, False)
        tables.append({"key": key, "title": title, "head": head, "rows": rows, "note": show.TABLE_NOTES.get(key, "")})
    forecast = _forecast(request)
    context = {
        **admin.site.each_context(request),  # the admin's header, user links and language switcher
        "is_nav_sidebar_enabled": False,  # the charts need the width
        "title": _("Revenue dashboard"), "report": data, "error": error, "kpis": show.kpis(data), "tables": tables,
        "charts": show.chart_data(data), "options": show.filter_choices(options()), "period": show.period(data),
        "selected": request.GET, "ranges": RANGES,
        "query": query, "summary": data["summary"],
        "trials": (data["summary"]["trials_converted"], data["summary"]["trials_ended"]),
        "forecast": forecast,
    }
    return render(request, "analytics/dashboard.html", context)


def _forecast(request) -> dict | None:
    """The lifetime value section: the forecast as of the dashboard's as-of date (kept between requests)."""
    try:
        result = clv(as_of=request.GET.get("as_of") or None, limit=0)
    except MetricsError:
        result = clv(limit=0)
    models_head, models_rows = show.forecast_models_table(result)
    plans_head, plans_rows = show.forecast_plans_table(result)
    return {"note": show.forecast_note(result), "charts": show.forecast_chart_data(result),
            "models": {"head": models_head, "rows": models_rows}, "plans": {"head": plans_head, "rows": plans_rows}}


@require_GET
@dashboard_permission_required
def export(request, table: str):
    if table not in show.TABLES:
        raise Http404(table)
    data, error = _report(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    head, rows = show.TABLES[table](data, recent_events(100) if table == "events" else [], True)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="assina-{table}-{data["to"]}.csv"'
    # A Brazilian spreadsheet reads "12,50" as a number and expects ";" between cells (docs/metrics.md).
    writer = csv.writer(response, delimiter=show.csv_delimiter())
    writer.writerow(safe_row(head))
    # Names and codes come from operators and customers: no cell may be read as a formula.
    writer.writerows(safe_row(row) for row in rows)
    return response


@require_GET
def plotly_js(request):
    """plotly.js from the installed ``plotly`` package: the dashboard needs no internet."""
    response = FileResponse(PLOTLY_JS.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _mrr_text(amounts: dict[str, int]) -> str:
    return " + ".join(show.money(amount, currency) for currency, amount in amounts.items()) or "—"


@require_GET
@dashboard_permission_required
def suggestions(request):
    """The suggestions' acceptance rate and added MRR, overall and by kind, for a range of days."""
    error = None
    try:
        data = suggestions_report(request.GET.get("from") or None, request.GET.get("to") or None)
    except ReportError as exc:
        data, error = suggestions_report(), localized_message(exc)

    def day(iso: str) -> str:
        return format_skeleton("yMMMd", date.fromisoformat(iso), locale=show.locale())

    count = lambda n: show.number(n, 0)  # noqa: E731
    kpis = [
        ("shown", _("Suggestions shown"), count(data["shown"]),
         _("Suggestions shown to customers in this range, each counted at most once a day per customer.")),
        ("accepted", _("Accepted"), count(data["accepted"]),
         _("Shown suggestions the customer took within 30 days: the plan or add-on suggested.")),
        ("acceptance", _("Acceptance rate"), show.percent(data["acceptance_rate"]),
         _("%(accepted)s of %(shown)s suggestions shown were accepted.")
         % {"accepted": count(data["accepted"]), "shown": count(data["shown"])}),
        ("added-mrr", _("Added MRR"), _mrr_text(data["added_mrr"]),
         _("The monthly recurring revenue the accepted suggestions added when they were taken.")),
    ]
    head = [_("Kind"), _("Shown"), _("Accepted"), _("Acceptance rate"), _("Added MRR")]
    rows = [[kind_label(r["kind"]), count(r["shown"]), count(r["accepted"]), show.percent(r["acceptance_rate"]),
             _mrr_text(r["added_mrr"])] for r in data["by_kind"]]
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": _("Suggestions: acceptance and added MRR"), "report": data, "error": error, "kpis": kpis,
        "period": _("Suggestions shown from %(start)s to %(end)s, as of %(as_of)s.") % {
            "start": day(data["from"]), "end": day(data["to"]), "as_of": show.moment(data["as_of"])},
        "table": {"head": head, "rows": rows}, "selected": {"from": data["from"], "to": data["to"]},
    }
    return render(request, "analytics/suggestions.html", context)
