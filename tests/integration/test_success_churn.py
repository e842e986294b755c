"""The churn model on a simulated business whose churn depends on behaviour (issue 20).

The business is made here, not by the model's code: customers sign up over 15 months; each uses the
product a few times a week; some start fading (their usage falls to almost nothing) and most of those
leave 15–45 days after the fade began; everyone else leaves at a small rate that does not depend on
tenure. A model that reads behaviour must beat the tenure-only baseline on later months than it
was trained on; a business whose churn is random must not get a model.

With ``onboarding``, the business has three onboarding milestones: most customers reach all three in
their first weeks, the others reach one or none, and half of those leave 20–90 days after signing up.
The model reads the milestones reached by each observation date, and a customer who did not onboard
is told so among their factors.
"""

from __future__ import annotations

import json

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from assina.core.health_inputs import History
from assina.success.churn import backtest
from assina.success.history import to_days

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass
class Business:
    signup: np.ndarray          # days since epoch
    end: np.ndarray             # inf: still subscribed
    event_customer: np.ndarray
    event_time: np.ndarray
    milestones: np.ndarray | None = None  # (n, 3) days each milestone was reached, NaN: not (yet)


MILESTONES = 3


def simulate(n: int, seed: int = 11, behaviour: bool = True, rate: float = 1.0, onboarding: bool = False) -> Business:
    rng = np.random.default_rng(seed)
    scale = rate
    now = to_days(NOW)
    signup = now - rng.uniform(30, 450, n)
    end = np.full(n, np.inf)
    fade = np.full(n, np.inf)
    reached = None
    if onboarding:  # drawn apart, so the rest of the business is the same with or without it
        orng = np.random.default_rng(seed + 1000)
        onboarded = orng.random(n) < 0.6
        reached = signup[:, None] + np.cumsum(orng.uniform(0.5, 6.0, (n, MILESTONES)), axis=1)
        reached[~onboarded, 1:] = np.nan
        reached[~onboarded & (orng.random(n) < 0.5), 0] = np.nan
        leaves = ~onboarded & (orng.random(n) < 0.5)
        end[leaves] = signup[leaves] + orng.uniform(20, 90, int(leaves.sum()))
    ev_c, ev_t = [], []
    for i in range(n):
        rate = rng.uniform(1.0, 4.0) / 7.0 * scale  # events a day
        if behaviour and rng.random() < 0.45:
            fade[i] = rng.uniform(signup[i] + 20, now + 60)
            if rng.random() < 0.85:
                end[i] = min(end[i], fade[i] + rng.uniform(15, 45))
        if rng.random() < 0.08:  # leaves for reasons the product never sees, whatever the tenure
            end[i] = min(end[i], rng.uniform(signup[i] + 10, now + 200))
        if not behaviour and rng.random() < 0.45:
            end[i] = min(end[i], rng.uniform(signup[i] + 20, now + 60))
        stop = min(end[i], now)
        span = max(stop - signup[i], 0.0)
        count = rng.poisson(rate * span)
        times = signup[i] + rng.uniform(0, span, count)
        # After the fade, nine events in ten never happen.
        keep = (times < fade[i]) | (rng.random(count) < 0.1)
        times = np.sort(times[keep])
        ev_c.append(np.full(len(times), i))
        ev_t.append(times)
    if reached is not None:
        reached[reached > np.minimum(end, now)[:, None]] = np.nan
    end[end > now] = np.inf  # the future is not known yet
    return Business(signup, end, np.concatenate(ev_c).astype(np.int64), np.concatenate(ev_t), reached)


def history(b: Business) -> History:
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    order = np.argsort(b.event_time, kind="stable")
    return History(signup=b.signup, start=b.signup.copy(), end=b.end, event_customer=b.event_customer[order],
                   event_time=b.event_time[order], payment_customer=empty_i, payment_time=empty_f,
                   payment_failed=np.zeros(0, dtype=bool), due_customer=empty_i, due_from=empty_f, due_until=empty_f,
                   answer_customer=empty_i, answer_time=empty_f, answer_survey=np.zeros(0, dtype=np.int8),
                   answer_score=empty_f, ticket_customer=empty_i, ticket_time=empty_f, milestone_reached=b.milestones,
                   first_value=None if b.milestones is None else b.milestones[:, 0])


def test_the_model_beats_the_tenure_only_baseline_on_later_months():
    report, parameters = backtest(history(simulate(1500)), NOW)
    print("model", report["model"]["roc_auc"], report["model"]["top_decile_lift"],
          "baseline", report["baseline"]["roc_auc"], report["baseline"]["top_decile_lift"],
          "train", report["train"]["samples"], report["train"]["churned"],
          "test", report["test"]["samples"], report["test"]["churned"])
    assert report["in_use"] == "model" and report["beats_baseline"] and parameters is not None
    assert report["model"]["roc_auc"] >= report["baseline"]["roc_auc"] + 0.1
    assert report["model"]["top_decile_lift"] > report["baseline"]["top_decile_lift"]
    # Validated on later months: every training outcome was known before the first test date.
    train_last = datetime.fromisoformat(report["train"]["to"]).replace(tzinfo=UTC)
    test_first = datetime.fromisoformat(report["test"]["from"]).replace(tzinfo=UTC)
    assert train_last + timedelta(days=30) <= test_first
    assert report["test"]["to"] <= (NOW - timedelta(days=30)).date().isoformat()
    assert report["train"]["samples"] > 0 and report["test"]["samples"] > 0
    bins = report["model"]["calibration"]["bins"]
    assert sum(b["n"] for b in bins) == report["test"]["samples"]
    # The riskiest tenth churns more than the safest tenth.
    assert bins[-1]["observed"] > bins[0]["observed"]
    # Idleness raises the risk.
    assert dict(zip(parameters["features"], parameters["coef"]))["idle_days"] > 0


def test_onboarding_as_of_each_date_improves_the_model_and_is_named():
    """Churn depends partly on onboarding: with the milestones reached by each observation date the
    model ranks the test months better than without them, and a customer who reached one milestone
    of three hears it."""
    from assina.core import churn as maths
    from assina.core.health_inputs import inputs_as_of
    from assina.success.wording import factors, reasons_list

    h = history(simulate(1500, onboarding=True))
    without, _ = backtest(h, NOW, features=maths.FEATURES)
    report, parameters = backtest(h, NOW)
    print("without onboarding", without["model"]["roc_auc"], without["model"]["top_decile_lift"],
          "with", report["model"]["roc_auc"], report["model"]["top_decile_lift"],
          "baseline", report["baseline"]["roc_auc"], report["baseline"]["top_decile_lift"])
    assert report["features"][-2:] == ["onboarding_unfinished", "first_value_wait"] and parameters is not None
    assert report["model"]["roc_auc"] >= without["model"]["roc_auc"] + 0.01
    assert report["model"]["top_decile_lift"] >= without["model"]["top_decile_lift"]
    coef = dict(zip(parameters["features"], parameters["coef"]))
    assert coef["onboarding_unfinished"] > 0  # milestones missed while new: more risk

    x = inputs_as_of(h, to_days(NOW))
    X = maths.feature_matrix(x, tuple(parameters["features"]))
    chosen = maths.top_factors(parameters, X)
    stuck = [i for i in np.flatnonzero(np.isinf(h.end) & (x.milestones_reached == 1)) if x.tenure_days[i] < 60]
    said = [factors(parameters["features"], chosen[i], x, i) for i in stuck]
    assert stuck and any({"code": "onboarding_unfinished", "value": 1, "total": 3} in f for f in said)
    words = {"code": "onboarding_unfinished", "value": 1, "total": 3}
    assert reasons_list([words], "en") == ["onboarding not finished: 1 of 3 milestones"]
    assert reasons_list([words], "pt-BR") == ["onboarding não concluído: 1 de 3 marcos"]


def test_random_churn_gets_no_model():
    report, parameters = backtest(history(simulate(1200, seed=5, behaviour=False)), NOW)
    assert report["in_use"] == "rules" and parameters is None and not report["beats_baseline"]


def test_too_little_history_says_so():
    report, parameters = backtest(history(simulate(20, seed=3)), NOW)
    assert parameters is None and report["in_use"] == "rules" and report["model"] is None
    assert "not enough history" in report["note"]


@pytest.mark.django_db
def test_trained_on_the_database_the_model_ranks_the_customers(capsys):
    """The same kind of business written to the database (customers, imported subscriptions, events,
    three onboarding milestones): ``assina success train`` puts a model in use, the scores carry each
    customer's probability and factors, a new customer who did not onboard is told so, and the page
    and the metrics say the model ranks them."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client
    from factories import make_plan, start_clock

    from assina.cli import main
    from assina.customers.models import Customer
    from assina.engagement.models import OnboardingMilestone
    from assina.engagement.services import record_events
    from assina.subscriptions.models import Subscription
    from assina.success.history import from_days
    from assina.success.models import ChurnModel, HealthScore
    from assina.success.report import overview

    start_clock(NOW)
    plan = make_plan("base", 2900)
    b = simulate(700, seed=21, rate=0.5, onboarding=True)
    customers = Customer.objects.bulk_create(
        [Customer(email=f"sim{i}@example.com", name=f"Sim {i}", currency="BRL", created_at=from_days(b.signup[i]),
                  imported_at=NOW) for i in range(len(b.signup))])
    subs = []
    for c, signup, end in zip(customers, b.signup, b.end):
        started = from_days(signup)
        ended = None if np.isinf(end) else from_days(end)
        subs.append(Subscription(customer=c, plan=plan, status="canceled" if ended else "active", currency="BRL",
                                 interval="month", billing_anchor=started, billing_starts_at=started,
                                 started_at=started, current_period_start=started, current_period_end=started,
                                 canceled_at=ended, ended_at=ended, imported_at=NOW, created_at=started))
    Subscription.objects.bulk_create(subs)
    record_events([(f"s{k}", customers[c].pk, "login", from_days(t), None, {})
                   for k, (c, t) in enumerate(zip(b.event_customer.tolist(), b.event_time.tolist()))],
                  imported=True, at=NOW)
    OnboardingMilestone.objects.bulk_create([
        OnboardingMilestone(name=f"step {k}", event_name=f"step_{k}", due_days=7 * (k + 1), position=k,
                            first_value=k == 0, created_at=NOW) for k in range(MILESTONES)])
    c, k = np.nonzero(~np.isnan(b.milestones))
    record_events([(f"m{c_}-{k_}", customers[c_].pk, f"step_{k_}", from_days(b.milestones[c_, k_]), None, {})
                   for c_, k_ in zip(c.tolist(), k.tolist())], imported=True, at=NOW)

    assert main(["success", "train", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["in_use"] == "model", report
    assert report["features"][-2:] == ["onboarding_unfinished", "first_value_wait"]
    assert report["model"]["roc_auc"] > report["baseline"]["roc_auc"] + 0.1
    assert ChurnModel.objects.get(in_use=True).n_test == report["test"]["samples"]
    assert main(["success", "score", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["risk_from"] == "model"
    live = HealthScore.objects.filter(customer__subscriptions__ended_at__isnull=True)
    assert live.count() == int(np.isinf(b.end).sum()) and not live.filter(churn_probability__isnull=True).exists()
    assert not HealthScore.objects.exclude(customer__subscriptions__ended_at__isnull=True) \
        .filter(churn_probability__isnull=False).exists()
    # The idle are riskier than the active.
    idle = [h.churn_probability for h in live if any(r["code"] in ("inactive", "no_activity") for r in h.reasons)]
    active = [h.churn_probability for h in live if {"code": "active_recently"} in h.reasons]
    assert idle and active and np.mean(idle) > 2 * np.mean(active)
    # A customer of a few weeks who reached one milestone of three hears it, in both languages.
    stuck = [h for h in live if {"code": "onboarding_unfinished", "value": 1, "total": 3} in h.churn_factors]
    assert stuck, [h.churn_factors for h in live[:20]]
    from assina.success.report import customer_health

    shown = customer_health(stuck[0].customer_id)
    assert "onboarding not finished: 1 of 3 milestones" in shown["factors"], shown["factors"]
    assert "onboarding não concluído: 1 de 3 marcos" in customer_health(stuck[0].customer_id, "pt-BR")["factors"]
    top = overview(limit=5)["at_risk"]
    assert top and top[0]["churn_probability"] >= top[-1]["churn_probability"] and top[0]["factors"]

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client = Client()
    client.force_login(viewer)
    page = client.get("/dashboard/health/").content.decode()
    assert 'data-risk-from="model"' in page and "Ranked by the churn model" in page
    pt = client.get("/dashboard/health/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Ordenado pelo modelo de cancelamento" in pt
