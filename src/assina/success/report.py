"""Read models: the customers at risk with the MRR at risk, and one customer's health with its history.

At risk: with a churn model in use, customers whose probability of churning in the next 30 days
reaches ``HealthSettings.risk_threshold``, riskiest first; otherwise (the health rules rank) the
customers in the ``at_risk`` band with a subscription that has not ended, lowest score first.
MRR at risk: the sum of their MRR per currency (minor units); with a model, also the expected loss
(Σ probability × MRR).
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef

from .models import Band, ChurnModel, HealthScore, HealthScoreDay, RiskSource
from .services import health_settings, model_in_use
from .wording import reasons_list

LIVE_EXCLUDED = ("canceled", "incomplete")


def _live():
    from assina.subscriptions.models import Subscription

    return Exists(Subscription.objects.filter(customer_id=OuterRef("customer_id")).exclude(status__in=LIVE_EXCLUDED))


def model_summary(model: ChurnModel | None) -> dict | None:
    if model is None:
        return None
    b = model.backtest or {}
    return {"id": model.pk, "trained_at": model.trained_at.isoformat(), "beats_baseline": model.beats_baseline,
            "train": b.get("train"), "test": b.get("test"),
            "model": {k: (b.get("model") or {}).get(k) for k in ("roc_auc", "top_decile_lift")},
            "baseline": {k: (b.get("baseline") or {}).get(k) for k in ("roc_auc", "top_decile_lift")}}


def _row(h: HealthScore, email: str, name: str, locale: str | None) -> dict:
    return {"customer": h.customer_id, "email": email, "name": name, "score": h.score, "band": h.band,
            "churn_probability": h.churn_probability, "mrr": h.mrr, "currency": h.currency,
            "reasons": reasons_list(h.reasons, locale), "reason_codes": h.reasons,
            "factors": reasons_list(h.churn_factors, locale), "factor_codes": h.churn_factors,
            "computed_at": h.computed_at.isoformat()}


def overview(limit: int = 50, locale: str | None = None) -> dict:
    """The at-risk list (``limit`` rows), MRR at risk, band counts and which ranking is in use."""
    conf = health_settings()
    model = model_in_use()
    latest_trained = ChurnModel.objects.order_by("-trained_at", "-id").first()
    scores = HealthScore.objects.all()
    bands = {b: 0 for b in Band.values}
    for band, count in _band_counts(scores):
        bands[band] = count
    if model is not None:
        risky = scores.filter(risk_source=RiskSource.MODEL, churn_probability__gte=conf.risk_threshold) \
            .order_by("-churn_probability", "score", "customer_id")
    else:
        risky = scores.filter(band=Band.AT_RISK).filter(_live()).order_by("score", "-mrr", "customer_id")
    mrr_at_risk: dict[str, int] = defaultdict(int)
    expected: dict[str, float] = defaultdict(float)
    count = 0
    for mrr, currency, p in risky.values_list("mrr", "currency", "churn_probability"):
        count += 1
        if mrr:
            mrr_at_risk[currency] += mrr
            if p is not None:
                expected[currency] += p * mrr
    rows = list(risky.select_related("customer").only(
        "customer_id", "score", "band", "churn_probability", "mrr", "currency", "reasons", "churn_factors",
        "computed_at", "customer__email", "customer__name")[:limit])
    computed = scores.order_by("-computed_at").values_list("computed_at", flat=True).first()
    return {
        "as_of": computed.isoformat() if computed else None,
        "risk_from": RiskSource.MODEL.value if model is not None else RiskSource.RULES.value,
        "model": model_summary(model),
        "latest_training": model_summary(latest_trained),
        "risk_threshold": conf.risk_threshold,
        "thresholds": {"healthy_from": conf.healthy_from, "at_risk_below": conf.at_risk_below},
        "bands": bands,
        "customers_at_risk": count,
        "mrr_at_risk": dict(sorted(mrr_at_risk.items())),
        "expected_mrr_loss": {c: int(round(v)) for c, v in sorted(expected.items())} if model is not None else None,
        "at_risk": [_row(h, h.customer.email, h.customer.name, locale) for h in rows],
    }


def _band_counts(scores):
    from django.db.models import Count

    return scores.values_list("band").annotate(n=Count("pk")).order_by()


def customer_health(customer_id: int, locale: str | None = None, days: int = 365) -> dict | None:
    """One customer's score, band, components, reasons, churn risk and the score's history."""
    h = HealthScore.objects.select_related("customer").filter(customer_id=customer_id).first()
    if h is None:
        return None
    out = _row(h, h.customer.email, h.customer.name, locale)
    out["components"] = h.components
    out["risk_source"] = h.risk_source
    out["history"] = [{"day": d.isoformat(), "score": s, "band": b, "churn_probability": p} for d, s, b, p in
                      HealthScoreDay.objects.filter(customer_id=customer_id).order_by("-day")
                      .values_list("day", "score", "band", "churn_probability")[:days]][::-1]
    return out


def scores_for(customer_ids) -> dict[int, dict]:
    """Current score, band, churn probability and reason codes per customer (for the workspace and
    playbooks: one query for any number of customers)."""
    return {pk: {"score": s, "band": b, "churn_probability": p, "reasons": r, "risk_source": src}
            for pk, s, b, p, r, src in HealthScore.objects.filter(customer_id__in=list(customer_ids))
            .values_list("customer_id", "score", "band", "churn_probability", "reasons", "risk_source")}
