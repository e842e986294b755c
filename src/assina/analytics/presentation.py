"""What the dashboard and its CSV exports show: rows of formatted figures, translated labels.

Amounts stay integers in minor units in the report; here they become decimals (CSV) or text
in the reader's language (page), with Babel.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_datetime, format_skeleton, get_day_names, get_month_names
from babel.numbers import format_decimal, format_percent, get_decimal_symbol, get_group_symbol
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assina.catalog.models import BundleComponent, Plan
from assina.core.money import Money, exponent
from assina.i18n import format_money

from . import event_words

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


def decimal_comma() -> bool:
    """Whether the reader's spreadsheets expect "123,45" (and so ``;`` between cells)."""
    return get_decimal_symbol(locale()) == ","


def csv_delimiter() -> str:
    return ";" if decimal_comma() else ","


def _csv_number(text: str) -> str:
    return text.replace(".", ",") if decimal_comma() else text


def decimal_amount(amount: int | None, currency: str) -> str:
    """Minor units as a plain decimal for spreadsheets (12345 BRL -> 123.45; 123,45 in pt-BR)."""
    if amount is None:
        return ""
    return _csv_number(str(Decimal(int(amount)).scaleb(-exponent(currency))))


def _csv_rate(rate: float | None, digits: int = 6) -> str:
    return "" if rate is None else _csv_number(f"{rate:.{digits}f}")


def month_label(month: str) -> str:
    """'2026-10' as the reader says a month: "Oct 2026", "out. de 2026"."""
    year, number = month.split("-")
    return format_skeleton("yMMM", date(int(year), int(number), 1), locale=locale())


def moment(iso: str) -> str:
    """An ISO 8601 instant as a date and time of the business time zone, in the reader's words."""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return format_datetime(at, "medium", tzinfo=ZoneInfo(settings.TIME_ZONE), locale=locale())


def plan_names() -> dict[str, str]:
    """Plan names by code; a bundle (issue 19) says it is one, so the breakdown by plan shows bundles."""
    bundles = set(BundleComponent.objects.values_list("plan_version__plan__code", flat=True))
    return {code: _("%(name)s (bundle)") % {"name": name} if code in bundles else name
            for code, name in Plan.objects.values_list("code", "name")}


def filter_choices(options: dict) -> dict:
    """The filters' choices as (value, what the reader sees): plan names, country names."""
    names = plan_names()
    territories = Locale.parse(locale()).territories
    return {"plans": sorted(((code, names.get(code, code)) for code in options["plans"]), key=lambda p: p[1].lower()),
            "segments": [(s, s) for s in options["segments"]],
            "countries": sorted(((c, territories.get(c, c)) for c in options["countries"]), key=lambda c: c[1]),
            "currencies": [(c, c) for c in options["currencies"]]}


def period(report: dict) -> str:
    """The header's sentence: which months, as of when, in which currency."""
    return _("From %(start)s to %(end)s, as of %(as_of)s; amounts in %(currency)s.") % {
        "start": month_label(report["from"]), "end": month_label(report["to"]), "as_of": moment(report["as_of"]),
        "currency": report["currency"]}


class Link:
    """A table cell that links to an admin page (the page shows it as a link, a CSV as text)."""

    def __init__(self, text: str, url: str | None) -> None:
        self.text, self.url = text, url

    def __str__(self) -> str:
        return self.text


def percent(rate: float | None) -> str:
    return "—" if rate is None else format_percent(rate, format="#,##0.0%", locale=locale())


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else format_decimal(round(value, digits), locale=locale())


def reason_label(code: str) -> str:
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else code


def kpis(report: dict) -> list[tuple[str, str, str, str]]:
    """(id, label, value, definition) of the tiles at the top of the dashboard.

    Each definition is docs/metrics.md's formula with the moment or the months it covers, so an
    owner can tell what a figure means without leaving the page.
    """
    s, cur = report["summary"], report["currency"]
    span = {"start": month_label(report["from"]), "end": month_label(report["to"]), "as_of": moment(report["as_of"])}
    return [
        ("mrr", _("MRR"), money(s["mrr"], cur),
         _("Monthly recurring revenue on %(as_of)s: what each paying subscription's plan and add-ons charge, after "
           "discounts, as a monthly amount (a year is 12 months). Trials, paused and unpaid subscriptions count 0; "
           "one-off charges and usage are left out.") % span),
        ("arr", _("ARR"), money(s["arr"], cur), _("Annual recurring revenue: MRR × 12, on %(as_of)s.") % span),
        ("customers", _("Paying customers"), number(s["customers"], 0),
         _("Customers whose MRR is more than 0 on %(as_of)s.") % span),
        ("arpa", _("ARPA"), money(s["arpa"], cur),
         _("Average revenue per account: MRR ÷ paying customers, on %(as_of)s.") % span),
        ("ltv", _("LTV"), money(s["ltv"], cur),
         _("Customer lifetime value: ARPA ÷ the average monthly customer churn rate of the last six months "
           "(— when nobody churned in them).") % span),
        ("customer_churn_rate", _("Customer churn (monthly)"), percent(s["customer_churn_rate"]),
         _("Customers who stopped paying in a month ÷ paying customers at its start; the average of the months "
           "from %(start)s to %(end)s.") % span),
        ("net_mrr_churn_rate", _("Net MRR churn (monthly)"), percent(s["net_mrr_churn_rate"]),
         _("(Churned + contraction − expansion − reactivation MRR) ÷ MRR at the start of the month; the average of "
           "the months from %(start)s to %(end)s. Negative when customers grow more than they shrink.") % span),
        ("net_revenue_retention", _("Net revenue retention"), percent(s["net_revenue_retention"]),
         _("MRR at the end of %(end)s of the customers who were paying at the start of %(start)s ÷ their MRR "
           "then. Expansion counts; new customers do not.") % span),
        ("gross_revenue_retention", _("Gross revenue retention"), percent(s["gross_revenue_retention"]),
         _("Net revenue retention without expansion, from the start of %(start)s to the end of %(end)s: what "
           "was kept of the MRR of the customers paying at the start. Never above 100 %%.") % span),
        ("quick_ratio", _("Quick ratio"), number(s["quick_ratio"]),
         _("(New + expansion + reactivation MRR) ÷ (churned + contraction MRR), from %(start)s to %(end)s. "
           "Above 4 is healthy growth.") % span),
        ("trial_conversion_rate", _("Trial conversion"), percent(s["trial_conversion_rate"]),
         _("Trials whose scheduled end fell between %(start)s and %(end)s and that became paying ÷ those "
           "trials.") % span),
        ("dunning_recovery_rate", _("Dunning recovery"), percent(s["dunning_recovery_rate"]),
         _("Invoices whose first failed payment fell between %(start)s and %(end)s and that were paid "
           "afterwards ÷ those invoices.") % span),
    ]


# --- the tables (page and CSV share them) -------------------------------------------------
def months_table(report: dict, *, csv: bool = False) -> tuple[list[str], list[list]]:
    cur = report["currency"]
    fmt = (lambda a: decimal_amount(a, cur)) if csv else (lambda a: money(a, cur))
    rate = _csv_rate if csv else percent
    head = [_("Month"), _("MRR at start"), *[str(MOVEMENT_LABELS[k]) for k in MOVEMENT_LABELS], _("Net"), _("MRR at end"),
            _("Customers at end"), _("Customer churn"), _("Gross MRR churn"), _("Net MRR churn"),
            _("Net revenue retention"), _("Gross revenue retention"), _("Quick ratio"), _("ARPA")]
    rows = [[m["month"] if csv else month_label(m["month"]), fmt(m["mrr_start"]), *[fmt(m[k]) for k in MOVEMENT_LABELS], fmt(m["net"]), fmt(m["mrr_end"]),
             m["customers_end"], rate(m["customer_churn_rate"]), rate(m["gross_mrr_churn_rate"]), rate(m["net_mrr_churn_rate"]),
             rate(m["net_revenue_retention"]), rate(m["gross_revenue_retention"]),
             _csv_rate(m["quick_ratio"], 4) if csv else number(m["quick_ratio"]),
             fmt(m["arpa"] and round(m["arpa"]))] for m in report["months"]]
    if csv:
        head.append(_("Currency"))
        rows = [r + [cur] for r in rows]
    return head, rows


def plans_table(report: dict, *, csv: bool = False) -> tuple[list[str], list[list]]:
    cur = report["currency"]
    fmt = (lambda a: decimal_amount(a, cur)) if csv else (lambda a: money(a, cur))
    share = _csv_rate if csv else percent
    names = plan_names()
    head = [_("Plan"), _("MRR"), _("Share of MRR"), _("Paying subscriptions"), _("Paying customers")]
    rows = [[names.get(p["plan"], p["plan"]), fmt(p["mrr"]), share(p["share"]), p["subscriptions"], p["customers"]]
            for p in report["plans"]]
    rows += [[str(INTERVAL_LABELS[m["interval"]]), fmt(m["mrr"]), share(m["share"]), m["subscriptions"], ""]
             for m in report["mix"] if m["subscriptions"]]
    if csv:
        head += [_("Plan code"), _("Currency")]
        rows = [r + [p["plan"], cur] for r, p in zip(rows, report["plans"])] + [r + ["", cur] for r in rows[len(report["plans"]):]]
    return head, rows


def cancellations_table(report: dict, *, csv: bool = False) -> tuple[list[str], list[list]]:
    cur = report["currency"]
    fmt = (lambda a: decimal_amount(a, cur)) if csv else (lambda a: money(a, cur))
    head = [_("Reason"), _("Cancellations"), _("MRR lost")]
    rows = [[reason_label(r["reason"]), r["count"], fmt(r["mrr"])] for r in report["cancellations"]]
    if csv:  # the label for people, the code for formulas and other tools
        head.append(_("Reason code"))
        rows = [row + [r["reason"]] for row, r in zip(rows, report["cancellations"])]
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
                cells.append(_csv_number(f"{value}"))
            else:
                cells.append(percent(value / 100))
        rows.append([month if csv else month_label(month), c["size"][i], *cells])
    return head, rows


def events_table(events: list[dict], *, csv: bool = False) -> tuple[list[str], list[list]]:
    """Newest first, in words, each customer and subject linking to its admin page."""
    head = [_("When"), _("Event"), _("Customer"), _("About")]
    rows = []
    for e in event_words.described(events):
        customer, subject = Link(*e["customer"]), Link(*e["subject"])
        if csv:
            rows.append([e["occurred_at"], e["label"], str(customer), str(subject), e["type"], e["customer_id"] or "",
                         e["subject_type"], e["subject_id"]])
        else:
            rows.append([moment(e["occurred_at"]), e["label"], customer, subject])
    if csv:
        head += [_("Event type"), _("Customer id"), _("Subject type"), _("Subject id")]
    return head, rows


_MONTH_ZERO = gettext_lazy(
    "Month 0 is the month of the first payment. Each cell counts the cohort's customers still paying at the end of "
    "that month, so a customer who stopped within their first month makes month 0 less than 100 %.")
TABLE_NOTES = {"cohorts-customers": _MONTH_ZERO, "cohorts-revenue": _MONTH_ZERO}


TABLES = {
    "months": lambda r, e, csv: months_table(r, csv=csv),
    "plans": lambda r, e, csv: plans_table(r, csv=csv),
    "cancellations": lambda r, e, csv: cancellations_table(r, csv=csv),
    "cohorts-customers": lambda r, e, csv: cohort_table(r, "customers", csv=csv),
    "cohorts-revenue": lambda r, e, csv: cohort_table(r, "revenue", csv=csv),
    "events": lambda r, e, csv: events_table(e, csv=csv),
}


def chart_locale() -> dict:
    """What Plotly and the browser's Intl need to write dates and numbers as the reader does.

    Month names come from Babel (CLDR), the same source as the tables and e-mails.
    """
    here = locale()
    return {
        "tag": str(Locale.parse(here)).replace("_", "-"),
        "months": [get_month_names("wide", "stand-alone", here)[m] for m in range(1, 13)],
        "shortMonths": [get_month_names("abbreviated", "stand-alone", here)[m].rstrip(".") for m in range(1, 13)],
        # d3 counts days from Sunday; Babel from Monday.
        "days": [get_day_names("wide", "stand-alone", here)[(d + 6) % 7] for d in range(7)],
        "shortDays": [get_day_names("abbreviated", "stand-alone", here)[(d + 6) % 7].rstrip(".") for d in range(7)],
        "decimal": get_decimal_symbol(here), "thousands": get_group_symbol(here),
        # strftime-like patterns of d3 (Plotly's date formatting): a month bucket is shown as a month.
        "month_tick": _("%b %Y"), "month_hover": _("%B %Y"),
    }


def chart_data(report: dict) -> dict:
    """What dashboard.js draws, with its labels already translated."""
    months = report["months"]
    x = [m["month"] for m in months]
    exp = 10 ** exponent(report["currency"])
    c = report["cohorts"]
    return {
        "currency": report["currency"],
        "locale": chart_locale(),
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
        "plans": {"labels": [plan_names().get(p["plan"], p["plan"]) for p in report["plans"]],
                  "values": [p["mrr"] / exp for p in report["plans"]]},
        "mix": {"labels": [str(INTERVAL_LABELS[m["interval"]]) for m in report["mix"] if m["mrr"]],
                "values": [m["mrr"] / exp for m in report["mix"] if m["mrr"]]},
        "cancellations": {"labels": [reason_label(r["reason"]) for r in report["cancellations"]],
                          "values": [r["count"] for r in report["cancellations"]]},
        "cohorts": {"y": c["months"], "labels": [month_label(m) for m in c["months"]], "x": [_("Month %(n)s") % {"n": n} for n in c["ages"]],
                    "customers": c["customers_percent"], "revenue": c["revenue_percent"]},
        "labels": {"mrr": _("MRR"), "percent": _("%"), "arpa": _("ARPA"), "ltv": _("LTV"), "customers": _("Customers retained (%)"),
                   "revenue": _("Revenue retained (%)"), "cancellations": _("Cancellations"), "months_since": _("Months since first payment"),
                   "cohort": _("Cohort"),
                   "churn_axis": _("Churn (% a month)"), "retention_axis": _("Retention (% a month)")},
    }


# --- lifetime value forecasts (assina.analytics.forecasts) ---------------------------------------
GROUP_LABELS = {"monthly": gettext_lazy("Monthly subscriptions"), "annual": gettext_lazy("Annual subscriptions")}
PERIOD_WORDS = {"monthly": gettext_lazy("Months since the first payment"), "annual": gettext_lazy("Years since the first payment")}


def _parameter(value: float | None) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.###", locale=locale()) if value < 1000 else format_decimal(round(value), locale=locale())


def forecast_models_table(forecast: dict) -> tuple[list[str], list[list]]:
    """The retention model of each billing interval: its parameters, or why there is none."""
    head = [_("Billing interval"), _("Ever paid"), _("Still paying"), _("Alpha (α)"), _("Beta (β)"), _("Retained after 1 period"),
            _("After 12 months"), _("Discounted payments expected from a new subscription")]
    rows = []
    for g in forecast["groups"]:
        if g["alpha"] is None:
            # No model: the reason spans the model's columns (the page) or fills the first (a CSV).
            rows.append([str(GROUP_LABELS[g["group"]]), number(g["subscriptions"], 0), number(g["paying"], 0),
                         Reason(g["error"] or _("no subscriptions"), 5)])
            continue
        year = 12 // g["period_months"]
        projected = g["projected"]
        rows.append([str(GROUP_LABELS[g["group"]]), number(g["subscriptions"], 0), number(g["paying"], 0),
                     _parameter(g["alpha"]), _parameter(g["beta"]), percent(projected[1] if len(projected) > 1 else None),
                     percent(projected[year] if len(projected) > year else None), number(g["new_customer_periods"], 1)])
    return head, rows


class Reason(str):
    """A table cell spanning ``span`` columns."""

    def __new__(cls, text: str, span: int):
        cell = super().__new__(cls, text)
        cell.span = span
        return cell


def forecast_plans_table(forecast: dict) -> tuple[list[str], list[list]]:
    cur = forecast["currency"]
    names = plan_names()
    head = [_("Plan"), _("Billing interval"), _("Subscriptions"), _("Still paying"), _("CLV of a new subscriber"),
            _("Average CLV of those paying"), _("CLV of those paying")]
    rows = [[names.get(p["plan"], p["plan"]), str(INTERVAL_LABELS[p["group"]]), number(p["subscriptions"], 0),
             number(p["paying"], 0), money(p["new_customer_clv"], cur), money(p["clv_mean"], cur), money(p["clv_total"], cur)]
            for p in forecast["plans"]]
    return head, rows


def forecast_note(forecast: dict) -> str:
    return _("Forecast as of %(as_of)s, in %(currency)s: retention by the shifted-beta-geometric model fitted to your "
             "subscriptions; CLV is what a subscription is expected to pay from now on, discounted at %(rate)s a year%(margin)s. "
             "See docs/forecasting.md for when not to trust it.") % {
        "as_of": moment(forecast["as_of"]), "currency": forecast["currency"], "rate": percent(forecast["discount_rate"]),
        "margin": "" if forecast["margin"] == 1 else _(", times a margin of %(margin)s") % {"margin": percent(forecast["margin"])}}


def forecast_chart_data(forecast: dict) -> dict:
    """The forecast section's charts: each curve's observed and projected retention, and CLV by plan and cohort."""
    exp = 10 ** exponent(forecast["currency"])
    names = plan_names()
    curves = []
    for g in forecast["groups"]:
        if g["observed"] or g["projected"]:
            curves.append({"key": g["group"], "label": str(GROUP_LABELS[g["group"]]), "axis": str(PERIOD_WORDS[g["group"]]),
                           "observed": g["observed"], "projected": g["projected"]})
    for c in reversed(forecast["cohorts"]):  # the newest first
        if not c["projected"] or len(c["observed"]) < 2:
            continue
        label = _("%(cohort)s cohort, %(interval)s (%(count)s)") % {
            "cohort": month_label(c["cohort"]), "interval": str(INTERVAL_LABELS[c["group"]]).lower(), "count": number(c["size"], 0)}
        curves.append({"key": f"{c['group']}-{c['cohort']}", "label": label, "axis": str(PERIOD_WORDS[c["group"]]),
                       "observed": c["observed"], "projected": c["projected"],
                       "pooled": c["fit"] == "pooled"})
    valued = [p for p in forecast["plans"] if p["new_customer_clv"] is not None]
    by_month: dict[str, int] = {}
    for c in forecast["cohorts"]:  # monthly and annual subscriptions of a month together
        if c["clv_total"]:
            by_month[c["cohort"]] = by_month.get(c["cohort"], 0) + c["clv_total"]
    months = sorted(by_month)
    return {
        "curves": curves,
        "plans": {"labels": [names.get(p["plan"], p["plan"]) for p in valued],
                  "new": [p["new_customer_clv"] / exp for p in valued],
                  "mean": [None if p["clv_mean"] is None else p["clv_mean"] / exp for p in valued]},
        "cohorts": {"x": months, "values": [by_month[m] / exp for m in months], "labels": [month_label(m) for m in months]},
        "labels": {"observed": _("Observed"), "projected": _("Projected"), "pooled": _("projected with the fit of all the interval's subscriptions"),
                   "retained": _("Still paying"), "new": _("CLV of a new subscriber"), "mean": _("Average CLV of those paying"),
                   "cohort_clv": _("CLV of those still paying"), "cohort": _("Cohort (first payment)")},
    }
