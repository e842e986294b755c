"""Health scores and their reasons, computed by hand (issue 20)."""

import numpy as np
import pytest

from assina.core import churn, health
from assina.core.health import Inputs


def _one(**values):
    x = Inputs.single(**values)
    s = health.score(x)
    codes, figures = health.reason_codes(x, s)
    return int(s.score[0]), s.band_names()[0], health.reasons_for(0, codes, figures, x), s


def test_usage_down_a_failed_payment_and_a_detractor():
    # usage 4/10 = 0.4, recency 1 (3 days), no onboarding, payments min(1 - 0.25, 0.5) = 0.5,
    # NPS 3 -> 0.3, no tickets 1, two years 1. Weights without onboarding: 90.
    # 25*0.4 + 20 + 20*0.5 + 10*0.3 + 10 + 5 = 58 -> 100 * 58 / 90 = 64.4 -> 64, watch.
    score, band, reasons, s = _one(events_30=4, events_prev_30=10, days_since_activity=3, failed_90=1,
                                   last_payment_failed=True, nps=3, nps_month=202610, tenure_days=730)
    assert (score, band) == (64, "watch")
    assert reasons == [{"code": "usage_down", "value": 60}, {"code": "payment_failed"},
                       {"code": "detractor", "value": 3, "month": 202610}]
    # Points lost: usage 25*0.6/90 = 16.7, payments 11.1, feedback 7.8.
    assert s.lost[0].round(1).tolist() == [16.7, 0.0, 0.0, 11.1, 7.8, 0.0, 0.0]


def test_past_due_idle_and_tickets_put_a_customer_at_risk():
    # No usage in either window after being active: trend 0; recency 1 - 15/30 = 0.5, onboarding 0.5,
    # payments 0 (past due), feedback (0.8 + 0.25) / 2 = 0.525, support 1 - 0.6 = 0.4, tenure 100/365.
    # 0 + 10 + 5 + 0 + 5.25 + 4 + 1.37 = 25.62 of 100 -> 26, at risk.
    score, band, reasons, _s = _one(days_since_activity=22, onboarding=0.5, past_due=True, failed_90=2, nps=8,
                                    nps_month=202611, csat=2, csat_month=202611, tickets_30=3, tenure_days=100)
    assert (score, band) == (26, "at_risk")
    # Worst first: (the trend's 25 points have no words: recency says it) past due 20 points, idle 10, tickets 8.
    assert reasons == [{"code": "past_due"}, {"code": "inactive", "value": 22}, {"code": "tickets", "value": 3}]


def test_a_new_customer_with_nothing_to_judge_yet_is_healthy():
    # Only payments 1, support 1 and tenure 3/365 count (weights 35): 30.04 / 35 = 85.8 -> 86.
    score, band, reasons, _s = _one(tenure_days=3)
    assert (score, band) == (86, "healthy")
    assert reasons == [{"code": "new_customer", "value": 3}]


def test_good_news_follows_the_problems():
    score, band, reasons, _s = _one(events_30=20, events_prev_30=10, days_since_activity=1, nps=10,
                                    nps_month=202612, tenure_days=400)
    assert (score, band) == (100, "healthy")
    assert reasons == [{"code": "usage_up", "value": 100}, {"code": "promoter", "value": 10, "month": 202612},
                       {"code": "active_recently"}]


def test_the_owners_weights_and_thresholds():
    x = Inputs.single(failed_90=1, tenure_days=0)
    # Only payments (0.75) and tenure (0) weigh: 37.5 rounds half up to 38.
    s = health.score(x, {"payments": 1, "tenure": 1})
    assert int(s.score[0]) == 38 and s.band_names()[0] == "at_risk"
    s = health.score(x, {"payments": 1, "tenure": 1}, healthy_from=38, at_risk_below=10)
    assert s.band_names()[0] == "healthy"
    with pytest.raises(ValueError):
        health.score(x, {"payments": 0})
    with pytest.raises(ValueError):
        health.score(x, healthy_from=30, at_risk_below=40)


def test_many_customers_at_once_equal_one_by_one():
    rng = np.random.default_rng(7)
    n = 200
    idle = rng.integers(0, 60, n).astype(float)
    idle[rng.random(n) < 0.2] = np.nan
    nps = rng.integers(0, 11, n).astype(float)
    nps[rng.random(n) < 0.5] = np.nan
    x = Inputs(events_30=rng.integers(0, 30, n), events_prev_30=rng.integers(0, 30, n), days_since_activity=idle,
               onboarding=np.where(rng.random(n) < 0.5, rng.random(n), np.nan), failed_90=rng.integers(0, 3, n),
               last_payment_failed=rng.random(n) < 0.1, past_due=rng.random(n) < 0.05, nps=nps,
               nps_month=np.full(n, 202611), csat=np.full(n, np.nan), csat_month=np.zeros(n, int),
               tickets_30=rng.integers(0, 4, n), tenure_days=rng.integers(0, 900, n))
    s = health.score(x)
    codes, figures = health.reason_codes(x, s)
    for i in range(0, n, 17):
        one = Inputs(**{k: np.asarray(v)[i:i + 1] for k, v in x.__dict__.items() if v is not None})
        s1 = health.score(one)
        c1, f1 = health.reason_codes(one, s1)
        assert s1.score[0] == s.score[i]
        assert health.reasons_for(0, c1, f1, one) == health.reasons_for(i, codes, figures, x)


def test_churn_metrics_by_hand():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3, 0.1, 0.0, 0.2, 0.1])
    # Positives 0.9 and 0.7: above 8 and 7 of the 8 negatives -> (8 + 7) / 16.
    assert churn.roc_auc(y, p) == pytest.approx(15 / 16)
    # Riskiest 10 % = 1 customer (churned): 1.0 / 0.2 = 5.
    assert churn.top_decile_lift(y, p) == pytest.approx(5.0)
    cal = churn.calibration(y, p, bins=2)
    assert [b["n"] for b in cal["bins"]] == [5, 5]
    assert cal["bins"][1]["observed"] == pytest.approx(0.4)
    params = {"features": ["tenure"], "mean": [0.0], "scale": [1.0], "coef": [-1.0], "intercept": 0.0}
    assert churn.predict(params, np.array([[0.0], [np.log(3)]])).tolist() == pytest.approx([0.5, 0.25])
