"""Reasons and churn factors in words, in the reader's language (the active Django language or
``locale``), with numbers, percentages and months formatted by Babel.

A reason is a dict ``{"code": ..., "value"?: int, "month"?: YYYYMM, "total"?: int}`` (``core.health.reasons_for``);
a churn factor is the same shape (``factors`` below turns the model's features into them).
"""

from __future__ import annotations

from datetime import date

import numpy as np
from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def _babel_locale() -> str:
    return (translation.get_language() or "en").replace("-", "_").replace("_br", "_BR")


def _month(yyyymm: int) -> str:
    if not yyyymm:
        return ""
    return format_skeleton("MMMMy", date(yyyymm // 100, yyyymm % 100, 1), locale=_babel_locale())


def _pct(value: int) -> str:
    return format_percent(value / 100.0, locale=_babel_locale())


def _n(value: int) -> str:
    return format_decimal(value, locale=_babel_locale())


def reason_text(reason: dict) -> str:
    code, value, month = reason.get("code"), int(reason.get("value") or 0), int(reason.get("month") or 0)
    if code == "usage_down":
        return _("usage down %(pct)s in 30 days") % {"pct": _pct(value)}
    if code == "usage_up":
        return _("usage up %(pct)s in 30 days") % {"pct": _pct(value)}
    if code == "low_usage" and value == 0:
        return _("no events in 30 days")
    if code == "low_usage":
        return ngettext("only %(count)s event in 30 days", "only %(count)s events in 30 days", value) % {"count": _n(value)}
    if code == "inactive":
        return ngettext("no activity for %(count)s day", "no activity for %(count)s days", value) % {"count": _n(value)}
    if code == "no_activity":
        return _("no activity yet")
    if code == "onboarding":
        return _("onboarding %(pct)s complete") % {"pct": _pct(value)}
    if code == "onboarding_unfinished":
        total = int(reason.get("total") or 0)
        return ngettext("onboarding not finished: %(reached)s of %(total)s milestone",
                        "onboarding not finished: %(reached)s of %(total)s milestones", total) % {
            "reached": _n(value), "total": _n(total)}
    if code == "no_first_value":
        return ngettext("no first value yet after %(count)s day", "no first value yet after %(count)s days",
                        value) % {"count": _n(value)}
    if code == "slow_first_value":
        return ngettext("first value took %(count)s day", "first value took %(count)s days", value) % {
            "count": _n(value)}
    if code == "past_due":
        return _("an invoice is past due")
    if code == "payment_failed":
        return _("last payment failed")
    if code == "failed_payments":
        return ngettext("%(count)s failed payment in 90 days", "%(count)s failed payments in 90 days", value) % {
            "count": _n(value)}
    if code == "detractor":
        return _("detractor in %(month)s (NPS %(score)s)") % {"month": _month(month), "score": value}
    if code == "passive":
        return _("passive in %(month)s (NPS %(score)s)") % {"month": _month(month), "score": value}
    if code == "promoter":
        return _("promoter in %(month)s (NPS %(score)s)") % {"month": _month(month), "score": value}
    if code == "low_csat":
        return _("unsatisfied in %(month)s (CSAT %(score)s of 5)") % {"month": _month(month), "score": value}
    if code == "no_feedback":
        return _("no NPS answer in the last year")
    if code == "tickets":
        return ngettext("%(count)s support ticket in 30 days", "%(count)s support tickets in 30 days", value) % {
            "count": _n(value)}
    if code == "new_customer":
        return ngettext("customer for %(count)s day", "customer for %(count)s days", value) % {"count": _n(value)}
    if code == "active_recently":
        return _("active in the last 7 days")
    if code == "payments_ok":
        return _("payments on time")
    return str(code)


def reasons_text(reasons: list[dict], locale: str | None = None) -> str:
    """"usage down 60% in 30 days; last payment failed; detractor in October 2026 (NPS 3)"."""
    if locale:
        with translation.override(locale):
            return "; ".join(reason_text(r) for r in reasons)
    return "; ".join(reason_text(r) for r in reasons)


def reasons_list(reasons: list[dict], locale: str | None = None) -> list[str]:
    if locale:
        with translation.override(locale):
            return [reason_text(r) for r in reasons]
    return [reason_text(r) for r in reasons]


def _onboarding_factor(name: str, x, i: int) -> dict | None:
    """"onboarding not finished: 1 of 3 milestones", "no first value yet after 40 days", "first value took
    21 days"; None when the customer's milestones are unknown (or, for the share, all reached)."""
    total = 0 if x.milestones_total is None else int(x.milestones_total[i])
    if total == 0:
        return None
    reached = int(x.milestones_reached[i])
    if name == "onboarding_unfinished":
        return {"code": "onboarding_unfinished", "value": reached, "total": total} if reached < total else None
    days = np.nan if x.days_to_first_value is None else float(x.days_to_first_value[i])
    if np.isnan(days):
        return {"code": "no_first_value", "value": int(x.tenure_days[i])}
    return {"code": "slow_first_value", "value": int(np.floor(days + 0.5))}


def factors(features: list[str], chosen: np.ndarray, x, i: int) -> list[dict]:
    """Customer ``i``'s churn factors (feature indices ``chosen``, −1 = none) as reason dicts, from
    their inputs ``x`` (``core.health.Inputs``)."""
    out: list[dict] = []
    for k in chosen:
        if k < 0:
            continue
        name = features[k]
        cur, prev = float(x.events_30[i]), float(x.events_prev_30[i])
        idle = float(x.days_since_activity[i])
        if name == "tenure":
            item = {"code": "new_customer", "value": int(x.tenure_days[i])}
        elif name == "usage_change" and prev > 0 and cur < prev:
            item = {"code": "usage_down", "value": int(np.floor((prev - cur) / prev * 100 + 0.5))}
        elif name in ("events_30", "usage_change"):
            item = {"code": "low_usage", "value": int(cur)}
        elif name == "idle_days":
            item = {"code": "no_activity"} if np.isnan(idle) else {"code": "inactive", "value": int(idle)}
        elif name == "failed_90":
            item = {"code": "failed_payments", "value": int(x.failed_90[i])}
        elif name == "past_due":
            item = {"code": "past_due"}
        elif name == "nps" and not np.isnan(x.nps[i]):
            score = int(x.nps[i])
            item = {"code": "detractor" if score <= 6 else "passive" if score <= 8 else "promoter", "value": score,
                    "month": int(x.nps_month[i])}
        elif name in ("nps", "no_nps"):
            item = {"code": "no_feedback"}
        elif name == "tickets_30":
            item = {"code": "tickets", "value": int(x.tickets_30[i])}
        elif name in ("onboarding_unfinished", "first_value_wait"):
            item = _onboarding_factor(name, x, i)
            if item is None:
                continue
        else:
            continue
        if item not in out:
            out.append(item)
    # "No activity for 120 days" already says "no events in 30 days".
    if any(f["code"] in ("inactive", "no_activity") for f in out):
        out = [f for f in out if not (f["code"] == "low_usage" and f.get("value") == 0)]
    return out
