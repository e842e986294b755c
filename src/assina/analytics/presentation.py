"""What the dashboard and its CSV exports show: rows of formatted figures, translated labels.

Amounts stay integers in minor units in the report; here they become decimals (CSV) or text
in the reader's language (page), with Babel.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal, format_percent
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assina.core.money import Money, exponent
from assina.i18n import format_money

MOVEMENT_LABELS = {
    "new": gettext_lazy("New business"), "expansion": gettext_lazy("Expansion"),
    "contraction": gettext_lazy("Contraction"), "churn": gettext_lazy("Churn"),
    "reactivation": gettext_lazy("Reactivation"),
}
INTERVAL_LABELS = {"monthly": gettext_lazy("Monthly"), "annual": gettext_lazy("Annual"), "other": gettext_lazy("Other intervals")}
REASON_LABELS = {
    "too_expensive": gettext_lazy("Too expensive"), "unused": gettext_lazy("Not using it"),
    "switched_service": gettext_lazy("Switched to another service"), "missing_features": gettext_lazy("Missing features"),
    "too_complex": gettext_lazy("Too complex"), "customer_service": gettext_lazy("Customer service"),
    "low_quality": gettext_lazy("Low quality"), "other": gettext_lazy("Other"),
    "payment_failed": gettext_lazy("Payment failed"), "unspecified": gettext_lazy("No reason given"),
}


def locale() -> str:
    return (get_language() or "en").replace("-", "_").replace("_br", "_BR")


def money(amount: int | float | None, currency: str) -> str:
    if amount is None:
        return "—"
    return format_money(Money(int(round(amount)), currency), locale())


def decimal_amount(amount: int | None, currency: str) -> str:
    """Minor units as a plain decimal for spreadsheets (12345 BRL -> 123.45)."""
    if amount is None:
        return ""
    return str(Decimal(int(amount)).scaleb(-exponent(currency)))


def percent(rate: float | None) -> str:
    return "—" if rate is None else format_percent(rate, format="#,##0.0%", locale=locale())


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else format_decimal(round(value, digits), locale=locale())


def reason_label(code: str) -> str:
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else code


def kpis(report: dict) -> list[tuple[str, str, str]]:
    """(id, label, value) of the tiles at the top of the dashboard."""
    s, cur = report["summary"], report["currency"]
    return [
        ("mrr", _("MRR"), money(s["mrr"], cur)),
        ("arr", _("ARR"), money(s["arr"], cur)),
        ("customers", _("Paying customers"), number(s["customers"], 0)),
        ("arpa", _("ARPA"), money(s["arpa"], cur)),
        ("ltv", _("LTV"), money(s["ltv"], cur)),
        ("customer_churn_rate", _("Customer churn (monthly)"), percent(s["customer_churn_rate"])),
        ("net_mrr_churn_rate", _("Net MRR churn (monthly)"), percent(s["net_mrr_churn_rate"])),
        ("net_revenue_retention", _("Net revenue retention"), percent(s["net_revenue_retention"])),
        ("gross_revenue_retention", _("Gross revenue retention"), percent(s["gross_revenue_retention"])),
        ("quick_ratio", _("Quick ratio"), number(s["quick_ratio"])),
        ("trial_conversion_rate", _("Trial conversion"), percent(s["trial_conversion_rate"])),
        ("dunning_recovery_rate", _("Dunning recovery"), percent(s["dunning_recovery_rate"])),
    ]


# --- the tables (page and CSV share them) -------------------------------------------------
def months_table(report: dict, *, csv: bool = False) -> tuple[list[str], list[list]]:
    cur = report["currency"]
    fmt = (lambda a: decimal_amount(a, cur)) if csv else (lambda a: money(a, cur))
    rate = (lambda r: "" if r is None else f"{r:.6f}") if csv else percent
    head = [_("Month"), _("MRR at start"), *[str(MOVEMENT_LABELS[k]) for k in MOVEMENT_LABELS], _("Net"), _("MRR at end"),
            _("Customers at end"), _("Customer churn"), _("Gross MRR churn"), _("Net MRR churn"),
            _("Net revenue retention"), _("Gross revenue retention"), _("Quick ratio"), _("ARPA")]
    rows = [[m["month"], fmt(m["mrr_start"]), *[fmt(m[k]) for k in MOVEMENT_LABELS], fmt(m["net"]), fmt(m["mrr_end"]),
             m["customers_end"], rate(m["customer_churn_rate"]), rate(m["gross_mrr_churn_rate"]), rate(m["net_mrr_churn_rate"]),
             rate(m["net_revenue_retention"]), rate(m["gross_revenue_retention"]),
             ("" if m["quick_ratio"] is None else f"{m['quick_ratio']:.4f}") if csv else number(m["quick_ratio"]),
             fmt(m["arpa"] and round(m["arpa"]))] for m in report["months"]]
    if csv:
        head.append(_("Currency"))
        rows = [r + [cur] for r in rows]
    return head, rows


def plans_table(report: dict, *, csv: bool = False) -> tuple[list[str], list[list]]:
    cur = report["currency"]
    fmt = (lambda a: decimal_amount(a, cur)) if csv else (lambda a: money(a, cur))
    head = [_("Plan"), _("MRR"), _("Share of MRR"), _("Paying subscriptions"), _("Paying customers")]
    rows = [[p["plan"], fmt(p["mrr"]), ("" if p["share"] is None else f"{p['share']:.6f}") if csv else percent(p["share"]),
             p["subscriptions"], p["customers"]] for p in report["plans"]]
    rows += [[str(INTERVAL_LABELS[m["interval"]]), fmt(m["mrr"]),
              ("" if m["share"] is None else f"{m['share']:.6f}") if csv else percent(m["share"]), m["subscriptions"], ""]
             for m in report["mix"] if m["subscriptions"]]
    if csv:
        head.append(_("Currency"))
        rows = [r + [cur] for r in rows]
    return head, rows


def cancellations_table(report: dict, *, csv: bool = False) -> tuple[list[str], list[list]]:
    cur = report["currency"]
    fmt = (lambda a: decimal_amount(a, cur)) if csv else (lambda a: money(a, cur))
    head = [_("Reason"), _("Cancellations"), _("MRR lost")]
    rows = [[r["reason"] if csv else reason_label(r["reason"]), r["count"], fmt(r["mrr"])] for r in report["cancellations"]]
    return head, rows


def cohort_table(report: dict, which: str, *, csv: bool = False) -> tuple[list[str], list[list]]:
    c = report["cohorts"]
    key = "customers_percent" if which == "customers" else "revenue_percent"
    head = [_("Cohort (first payment)"), _("Customers")] + [_("Month %(n)s") % {"n": n} for n in c["ages"]]
    rows = []
    for i, month in enumerate(c["months"]):
        cells = []
        for value, count in zip(c[key][i], c[which if which == "customers" else "mrr"][i]):
            if value is None:
                cells.append("")
            elif csv:
                cells.append(f"{value}")
            else:
                cells.append(f"{number(value, 1)}%")
        rows.append([month, c["size"][i], *cells])
    return head, rows


def events_table(events: list[dict]) -> tuple[list[str], list[list]]:
    head = [_("When"), _("Event"), _("Customer"), _("Subject")]
    return head, [[e["occurred_at"][:19].replace("T", " "), e["type"], e["customer_id"] or "",
                   f"{e['subject_type']} {e['subject_id']}"] for e in events]


TABLES = {
    "months": lambda r, e, csv: months_table(r, csv=csv),
    "plans": lambda r, e, csv: plans_table(r, csv=csv),
    "cancellations": lambda r, e, csv: cancellations_table(r, csv=csv),
    "cohorts-customers": lambda r, e, csv: cohort_table(r, "customers", csv=csv),
    "cohorts-revenue": lambda r, e, csv: cohort_table(r, "revenue", csv=csv),
    "events": lambda r, e, csv: events_table(e),
}


def chart_data(report: dict) -> dict:
    """What dashboard.js draws, with its labels already translated."""
    months = report["months"]
    x = [m["month"] for m in months]
    exp = 10 ** exponent(report["currency"])
    c = report["cohorts"]
    return {
        "currency": report["currency"],
        "months": x,
        "mrr": [m["mrr_end"] / exp for m in months],
        "movements": {k: [m[k] / exp for m in months] for k in MOVEMENT_LABELS},
        "movement_labels": {k: str(v) for k, v in MOVEMENT_LABELS.items()},
        "rates": {k: [None if m[k] is None else round(100 * m[k], 3) for m in months]
                  for k in ("customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate",
                            "net_revenue_retention", "gross_revenue_retention")},
        "rate_labels": {"customer_churn_rate": _("Customer churn"), "gross_mrr_churn_rate": _("Gross MRR churn"),
                        "net_mrr_churn_rate": _("Net MRR churn"), "net_revenue_retention": _("Net revenue retention"),
                        "gross_revenue_retention": _("Gross revenue retention")},
        "ltv": [None if m["ltv"] is None else round(m["ltv"] / exp, 2) for m in months],
        "arpa": [None if m["arpa"] is None else round(m["arpa"] / exp, 2) for m in months],
        "plans": {"labels": [p["plan"] for p in report["plans"]], "values": [p["mrr"] / exp for p in report["plans"]]},
        "mix": {"labels": [str(INTERVAL_LABELS[m["interval"]]) for m in report["mix"] if m["mrr"]],
                "values": [m["mrr"] / exp for m in report["mix"] if m["mrr"]]},
        "cancellations": {"labels": [reason_label(r["reason"]) for r in report["cancellations"]],
                          "values": [r["count"] for r in report["cancellations"]]},
        "cohorts": {"y": c["months"], "x": [_("Month %(n)s") % {"n": n} for n in c["ages"]],
                    "customers": c["customers_percent"], "revenue": c["revenue_percent"]},
        "labels": {"mrr": _("MRR"), "percent": _("%"), "arpa": _("ARPA"), "ltv": _("LTV"), "customers": _("Customers retained (%)"),
                   "revenue": _("Revenue retained (%)"), "cancellations": _("Cancellations"), "months_since": _("Months since first payment"),
                   "cohort": _("Cohort"),
                   "churn_axis": _("Churn (% a month)"), "retention_axis": _("Retention (% a month)")},
    }
