"""The success app's use cases: score every customer's health (and churn risk), train the churn model.

``score_all(at)``: reads the history (``history.load``), computes every customer's health score,
band and reasons (``core.health``) and, when a churn model is in use, the probability of churning
in the next 30 days and its top factors (``core.churn``); writes ``HealthScore`` (one row per
customer) and a ``HealthScoreDay`` row for each customer whose score or band changed (or who had
none), in one transaction. Running it twice at the same time changes nothing the second time.

``train(at)``: backtests a new model against the tenure-only baseline (``churn.backtest``) and
records it; it is put in use (and the previous one out) only when it beats the baseline.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from django.db import transaction

from assina.core import churn as churn_maths
from assina.core import health
from assina.core.health_inputs import alive_at, inputs_as_of
from assina.time import now

from . import churn
from .history import load, to_days
from .models import ChurnModel, HealthScore, HealthScoreDay, HealthSettings, RiskSource
from .wording import factors

REASON_LIMIT = 3
FACTOR_LIMIT = 3


def health_settings() -> HealthSettings:
    conf, _created = HealthSettings.objects.get_or_create(pk=1)
    return conf


def weights_of(conf: HealthSettings) -> dict[str, int]:
    return {name: getattr(conf, f"weight_{name}") for name in health.COMPONENTS}


def model_in_use() -> ChurnModel | None:
    return ChurnModel.objects.filter(in_use=True).order_by("-trained_at", "-id").first()


def compute(at: datetime) -> dict:
    """Everything ``score_all`` writes, computed but not written: ids, inputs, scores, reasons,
    probabilities, factors and the source of the ranking."""
    conf = health_settings()
    ids, h = load(at=at)
    t = to_days(at)
    x = inputs_as_of(h, t)
    s = health.score(x, weights_of(conf), healthy_from=conf.healthy_from, at_risk_below=conf.at_risk_below)
    codes, figures = health.reason_codes(x, s, REASON_LIMIT)
    alive = alive_at(h, t)
    model = model_in_use()
    probability = np.full(len(ids), np.nan)
    chosen = np.full((len(ids), FACTOR_LIMIT), -1)
    if model is not None and len(ids):
        X = churn_maths.feature_matrix(x, tuple(model.parameters["features"]))
        probability = np.where(alive, churn_maths.predict(model.parameters, X), np.nan)
        chosen = churn_maths.top_factors(model.parameters, X, FACTOR_LIMIT)
    return {"ids": ids, "inputs": x, "scores": s, "codes": codes, "figures": figures, "alive": alive,
            "probability": probability, "factors": chosen, "model": model}


def score_all(at: datetime | None = None) -> dict:
    """Score every customer as of ``at`` (default: now) and store it. Returns counts."""
    from assina.customers.models import Customer
    from assina.notifications.segments import mrr_by_customer

    at = at or now()
    c = compute(at)
    ids, x, s, model = c["ids"], c["inputs"], c["scores"], c["model"]
    mrr = mrr_by_customer(Customer.objects.filter(pk__in=ids), at) if ids else {}
    currency = dict(Customer.objects.filter(pk__in=ids).values_list("pk", "currency")) if ids else {}
    bands = s.band_names()
    source = RiskSource.MODEL if model is not None else RiskSource.RULES
    features = model.parameters["features"] if model is not None else []
    rows = []
    for i, pk in enumerate(ids):
        p = c["probability"][i]
        rows.append(HealthScore(
            customer_id=pk, score=int(s.score[i]), band=bands[i],
            components={name: (None if np.isnan(v) else round(float(v), 4))
                        for name, v in zip(health.COMPONENTS, s.components[i])},
            reasons=health.reasons_for(i, c["codes"], c["figures"], x),
            churn_probability=None if np.isnan(p) else round(float(p), 4),
            churn_factors=factors(features, c["factors"][i], x, i) if model is not None and not np.isnan(p) else [],
            risk_source=source, mrr=int(mrr.get(pk, 0)), currency=currency.get(pk, ""), computed_at=at))
    day = at.date()
    with transaction.atomic():
        before = {pk: (score, band) for pk, score, band in
                  HealthScore.objects.values_list("customer_id", "score", "band")}
        changed = [HealthScoreDay(customer_id=r.customer_id, day=day, score=r.score, band=r.band,
                                  churn_probability=r.churn_probability)
                   for r in rows if before.get(r.customer_id) != (r.score, r.band)]
        fields = ["score", "band", "components", "reasons", "churn_probability", "churn_factors", "risk_source",
                  "mrr", "currency", "computed_at"]
        for start in range(0, len(rows), 2000):
            HealthScore.objects.bulk_create(rows[start:start + 2000], update_conflicts=True,
                                            unique_fields=["customer"], update_fields=fields)
        for start in range(0, len(changed), 2000):
            HealthScoreDay.objects.bulk_create(changed[start:start + 2000], update_conflicts=True,
                                               unique_fields=["customer", "day"],
                                               update_fields=["score", "band", "churn_probability"])
        HealthScore.objects.filter(customer__erased_at__isnull=False).delete()
    from .feedback_bands import rebuild_tally

    rebuild_tally()  # the NPS report's breakdown by band follows the new bands
    counts = {"scored": len(rows), "changed": len(changed)}
    for band in health.BANDS:
        counts[band] = int((bands == band).sum())
    counts["risk_from"] = source.value
    return counts


def train(at: datetime | None = None) -> tuple[ChurnModel, dict]:
    """Backtest and record a new churn model; in use only when it beats the tenure-only baseline.
    The health scores are computed again with whichever ranking is in use afterwards."""
    at = at or now()
    _ids, h = load(at=at)
    report, parameters = churn.backtest(h, at)
    with transaction.atomic():
        record = ChurnModel.objects.create(
            trained_at=at, parameters=parameters or {}, backtest=report, beats_baseline=report["beats_baseline"],
            in_use=parameters is not None, n_train=report["train"]["samples"], n_test=report["test"]["samples"])
        # The newest judgement wins: a business whose behaviour stopped predicting churn falls back to the rules.
        ChurnModel.objects.exclude(pk=record.pk).filter(in_use=True).update(in_use=False)
    return record, report


# The sandbox's test clock can move months in one call, stopping wherever billing has work: there,
# scores are computed once every 7 simulated days (not daily) and the model retrained every 28, so
# moving the clock stays fast; in real time, scores daily and the model every ``retrain_days``.
TEST_CLOCK_SCORE_DAYS, TEST_CLOCK_TRAIN_DAYS = 7, 28


def _test_clock() -> bool:
    from assina.time import frozen_at

    return frozen_at() is not None


def train_due(until: datetime) -> bool:
    """A model is due when none was trained for ``retrain_days`` (28 days under the test clock) and
    there are enough subscribed customers to learn from (``churn.MIN_TRAIN_ROWS``)."""
    from datetime import timedelta

    from assina.subscriptions.models import Subscription

    days = TEST_CLOCK_TRAIN_DAYS if _test_clock() else health_settings().retrain_days
    newest = ChurnModel.objects.order_by("-trained_at").values_list("trained_at", flat=True).first()
    if newest is not None and newest > until - timedelta(days=days):
        return False
    return Subscription.objects.values("customer_id").distinct().count() >= churn.MIN_TRAIN_ROWS


def scores_due(until: datetime) -> bool:
    """Scores are due once a day (once every 7 days under the test clock), when there are customers."""
    from datetime import timedelta

    from assina.customers.models import Customer

    newest = HealthScore.objects.order_by("-computed_at").values_list("computed_at", flat=True).first()
    if newest is not None:
        if _test_clock():
            if newest > until - timedelta(days=TEST_CLOCK_SCORE_DAYS):
                return False
        elif newest.date() >= until.date():
            return False
    return Customer.objects.exists()
