"""``/dashboard/health/``: the customers at risk, the MRR at risk and which ranking is in use, beside
the revenue dashboard, for staff with ``analytics.view_dashboard`` (``success.report`` computes it;
this page words it in the reader's language with the dashboard's formatting and look)."""

from __future__ import annotations

from django.contrib import admin
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from assina.analytics import presentation as show
from assina.analytics.views import dashboard_permission_required

from ..models import Band
from ..report import overview


def _mrr(amounts: dict | None) -> str:
    return " + ".join(show.money(amount, currency) for currency, amount in (amounts or {}).items() if currency) or "—"


def _count(value: int) -> str:
    return show.number(value, 0)


def _figure(value: float | None, digits: int) -> str:
    from babel.numbers import format_decimal

    return "—" if value is None else format_decimal(value, "0." + "0" * digits, locale=show.locale())


def ranking_text(data: dict) -> str:
    latest = data["latest_training"]
    if data["risk_from"] == "model":
        m = data["model"]
        return _("Ranked by the churn model trained on %(day)s: on later months than it learned from, its ROC AUC "
                 "is %(auc)s against %(base_auc)s for tenure alone, and its riskiest tenth churns %(lift)s× as often "
                 "as average.") % {
            "day": show.moment(m["trained_at"]), "auc": _figure(m["model"]["roc_auc"], 2),
            "base_auc": _figure(m["baseline"]["roc_auc"], 2), "lift": _figure(m["model"]["top_decile_lift"], 1)}
    if latest is None:
        return _("Ranked by the health rules: no churn model has been trained yet (assina success train; the "
                 "worker trains one every week).")
    if latest["model"]["roc_auc"] is None:
        return _("Ranked by the health rules: the history is too short to train a churn model yet.")
    return _("Ranked by the health rules: the churn model trained on %(day)s did not beat tenure alone on later "
             "months (ROC AUC %(auc)s against %(base_auc)s).") % {
        "day": show.moment(latest["trained_at"]), "auc": _figure(latest["model"]["roc_auc"], 2),
        "base_auc": _figure(latest["baseline"]["roc_auc"], 2)}


@require_GET
@dashboard_permission_required
def health(request):
    data = overview(limit=100)
    bands = dict(Band.choices)
    model = data["risk_from"] == "model"
    head = [_("Customer"), _("Health"), _("Churn risk (30 days)") if model else _("Band"), _("MRR"),
            _("Why") if not model else _("Top factors")]
    rows = []
    for r in data["at_risk"]:
        rows.append({"customer": r["name"] or r["email"], "email": r["email"], "id": r["customer"],
                     "score": r["score"], "band": r["band"],
                     "risk": show.percent(r["churn_probability"]) if model else str(bands.get(r["band"], r["band"])),
                     "mrr": show.money(r["mrr"], r["currency"]) if r["currency"] else "—",
                     "why": "; ".join((r["factors"] or r["reasons"]) if model else r["reasons"])})
    kpis = [
        ("at-risk", _("Customers at risk"), _count(data["customers_at_risk"]),
         _("With the churn model: customers whose probability of leaving in the next 30 days is at least "
           "%(threshold)s. With the health rules: customers in the at-risk band (score below %(below)s).")
         % {"threshold": show.percent(data["risk_threshold"]), "below": data["thresholds"]["at_risk_below"]}),
        ("mrr-at-risk", _("MRR at risk"), _mrr(data["mrr_at_risk"]),
         _("The monthly recurring revenue of the customers at risk.")),
    ]
    if data["expected_mrr_loss"] is not None:
        kpis.append(("expected-loss", _("Expected MRR loss"), _mrr(data["expected_mrr_loss"]),
                     _("Each customer's MRR times their probability of leaving in the next 30 days, added up.")))
    kpis += [(f"band-{b}", _("Band: %(band)s") % {"band": bands[b]}, _count(data["bands"].get(b, 0)),
              _("Customers in this band at the last computation.")) for b in Band.values]
    context = {
        **admin.site.each_context(request),
        "is_nav_sidebar_enabled": False,
        "title": _("Customer health and churn risk"),
        "kpis": kpis, "head": head, "rows": rows, "ranking": ranking_text(data), "risk_from": data["risk_from"],
        "as_of": _("Scores computed %(moment)s.") % {"moment": show.moment(data["as_of"])} if data["as_of"] else
        _("No scores yet: they are computed every day by the worker, or now with assina success score."),
        "shown": len(rows), "total": data["customers_at_risk"],
    }
    return render(request, "success/health.html", context)
