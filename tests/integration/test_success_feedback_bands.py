"""The NPS report by health band (issue 17): the command, the API and the feedback page."""

from __future__ import annotations

import json

import pytest
from api_support import api  # noqa: F401 - fixture
from django.contrib.auth.models import Permission, User
from django.test import Client
from factories import make_customer, start_clock, utc

from assina.cli import main
from assina.feedback.services import record_response
from assina.success.feedback_bands import by_health_band, rebuild_tally
from assina.success.models import HealthScore
from assina.time import now

pytestmark = pytest.mark.django_db


@pytest.fixture
def answers():
    start_clock(utc(2026, 11, 20, 12))
    # Healthy: 10, 9, 3 -> NPS (2 - 1) / 3 = 33.3; at risk: 2, 8 -> -50; unscored: CSAT 5.
    for band, scores in (("healthy", [10, 9, 3]), ("at_risk", [2, 8])):
        for i, score in enumerate(scores):
            c = make_customer(email=f"{band}{i}@example.com")
            HealthScore.objects.create(customer=c, score=80 if band == "healthy" else 20, band=band, computed_at=now())
            record_response(customer=c, survey="nps", score=score, comment="", submitted_at=now(), source="api", at=now())
    c = make_customer(email="new@example.com")
    record_response(customer=c, survey="csat", score=5, comment="", submitted_at=now(), source="api", at=now())


def test_the_breakdown_everywhere(answers, api, capsys):  # noqa: F811
    bands = by_health_band(utc(2026, 11, 1), utc(2026, 12, 1))
    assert list(bands) == ["healthy", "at_risk", "unscored"]
    assert bands["healthy"]["nps"]["nps"] == 33.3 and bands["healthy"]["nps"]["responses"] == 3
    assert bands["at_risk"]["nps"]["nps"] == -50.0
    assert bands["unscored"]["csat"]["responses"] == 1 and bands["unscored"]["nps"]["responses"] == 0
    assert by_health_band(utc(2026, 10, 1), utc(2026, 11, 1)) == {}
    # From the counts kept per month (rebuilt after each scoring): the same figures, whole months
    # from the counts and partial months from the responses.
    assert rebuild_tally() == 6  # healthy 10, 9, 3; at risk 2, 8; unscored CSAT 5
    for since, until in ((utc(2026, 11, 1), utc(2026, 12, 1)), (utc(2026, 10, 15), utc(2027, 1, 1)),
                         (utc(2026, 11, 20, 12), utc(2026, 11, 21)), (utc(2026, 10, 1), utc(2026, 11, 20, 13))):
        assert by_health_band(since, until) == by_health_band(since, until, direct=True)
    assert by_health_band(utc(2026, 11, 1), utc(2026, 12, 1), plan="none") == {}

    assert main(["feedback", "report", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["by_health_band"]["at_risk"]["nps"]["nps"] == -50.0
    body = api.ok("GET", "/metrics/feedback")
    assert body["by_health_band"]["healthy"]["nps"]["detractors"] == 1

    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    client = Client()
    client.force_login(viewer)
    page = client.get("/dashboard/feedback/").content.decode()
    assert "By health band" in page and "<td>At risk</td><td>-50.0</td>" in page
    pt = client.get("/dashboard/feedback/", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Por faixa de saúde" in pt and "<td>Em risco</td>" in pt and "Ainda sem pontuação" in pt
