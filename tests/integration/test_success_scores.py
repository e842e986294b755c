"""Health scores from the database, their history, the API, the page and the commands (issue 20).

A customer whose usage fell from 10 to 4 events, a detractor in October, paying on time; another
whose card fails after a trial and who never used the product. Scores are computed by hand in the
comments; both engines.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from api_support import api  # noqa: F401 - fixture
from django.contrib.auth.models import Permission, User
from django.test import Client
from factories import FAILING_CARD, advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.cli import main
from assina.engagement.services import record_events
from assina.feedback.services import record_response
from assina.success.models import HealthScore, HealthScoreDay, HealthSettings
from assina.success.services import score_all
from assina.time import now

pytestmark = pytest.mark.django_db


@pytest.fixture
def business():
    start_clock(utc(2026, 9, 1, 12))
    make_plan("pro", 9900)
    make_plan("trial", 4900, trial_days=14)
    fading = make_customer(name="Fading Co", email="fading@example.com")
    subscribe(fading, "pro")
    advance(utc(2026, 10, 10, 12))
    failing = make_customer(name="Failing Ltd", email="failing@example.com", card=FAILING_CARD)
    subscribe(failing, "trial")
    record_response(customer=fading, survey="nps", score=3, comment="slow", submitted_at=now(), source="api", at=now())
    advance(utc(2026, 11, 1, 12))
    at = now()
    # 10 events between 60 and 30 days ago, 4 in the last 30 days (the last 3 days ago).
    rows = [(f"e{i}", fading.pk, "login", at - timedelta(days=31 + i * 2), None, {}) for i in range(10)]
    rows += [(f"f{i}", fading.pk, "login", at - timedelta(days=3 + i * 5), None, {}) for i in range(4)]
    record_events(rows, at=at)
    return fading, failing


def test_scores_and_reasons_from_the_database(business):
    fading, failing = business
    # The worker's daily job scored both while the clock moved (before the events arrived).
    assert HealthScore.objects.count() == 2
    counts = score_all()
    assert counts["scored"] == 2 and counts["changed"] == 1 and counts["risk_from"] == "rules"
    a = HealthScore.objects.get(customer=fading)
    # usage 0.4, recency 1, payments 1, NPS 3 -> 0.3, support 1, tenure 61/365 (weights 90, no onboarding):
    # 10 + 20 + 20 + 3 + 10 + 0.84 = 63.84 -> 70.9 -> 71, healthy.
    assert (a.score, a.band) == (71, "healthy")
    assert a.reasons == [{"code": "usage_down", "value": 60}, {"code": "detractor", "value": 3, "month": 202610},
                         {"code": "new_customer", "value": 61}]
    assert a.mrr == 9900 and a.currency == "BRL" and a.churn_probability is None
    b = HealthScore.objects.get(customer=failing)
    # Never active (recency 0), past due (payments 0), support 1, tenure 22/365 (weights 55): 10.3 / 55 -> 19.
    assert (b.score, b.band) == (19, "at_risk")
    assert [r["code"] for r in b.reasons] == ["no_activity", "past_due", "new_customer"]

    # The history: a row per change; the same scores again add nothing.
    days = HealthScoreDay.objects.count()
    assert score_all()["changed"] == 0 and HealthScoreDay.objects.count() == days
    assert HealthScoreDay.objects.get(customer=fading, day=now().date()).score == 71
    conf = HealthSettings.objects.get(pk=1)
    conf.weight_usage_trend = 100
    conf.save()
    assert score_all()["changed"] == 1  # the fading customer's score falls
    assert HealthScoreDay.objects.count() == days  # same day: updated, not added
    assert HealthScore.objects.get(customer=fading).score < 71


def test_the_api_in_both_languages(business, api):  # noqa: F811
    fading, failing = business
    score_all()
    body = api.ok("GET", f"/customers/cus_{fading.pk}/health")
    assert body["score"] == 71 and body["band"] == "healthy"
    assert body["reasons"] == ["usage down 60% in 30 days", "detractor in October 2026 (NPS 3)", "customer for 61 days"]
    assert body["history"][-1] == {"day": "2026-11-01", "score": 71, "band": "healthy", "churn_probability": None}
    pt = api.ok("GET", f"/customers/cus_{fading.pk}/health", HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert pt["reasons"][0] == "uso caiu 60% em 30 dias" and "outubro de 2026" in pt["reasons"][1]
    metrics = api.ok("GET", "/metrics/health")
    assert metrics["risk_from"] == "rules" and metrics["customers_at_risk"] == 1
    assert metrics["at_risk"][0]["customer"] == f"cus_{failing.pk}"
    assert metrics["bands"] == {"healthy": 1, "watch": 0, "at_risk": 1}
    missing = api.get("/customers/cus_999999/health")
    assert missing.status_code == 404


def test_the_page_and_the_commands(business, capsys):
    fading, failing = business
    assert main(["success", "score", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["counts"]["scored"] == 2 and out["risk_from"] == "rules"
    assert [r["email"] for r in out["at_risk"]] == ["failing@example.com"]
    assert main(["success", "backtest", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["in_use"] == "rules" and "not enough history" in report["note"]
    assert main(["success", "train"]) == 0
    assert "In use: health rules" in capsys.readouterr().out

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    client = Client()
    client.force_login(viewer)
    assert client.get("/dashboard/health/").status_code == 403
    viewer.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    page = client.get("/dashboard/health/").content.decode()
    assert "Customer health and churn risk" in page and "Failing Ltd" in page and "Fading Co" not in page
    assert 'data-risk-from="rules"' in page and "too short to train" in page
    pt = client.get("/dashboard/health/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Saúde dos clientes" in pt and "nenhuma atividade ainda" in pt
    assert Client().get("/dashboard/health/").status_code == 302
    assert '<a href="/dashboard/health/" id="link-health">' in client.get("/dashboard/").content.decode()
