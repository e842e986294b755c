"""The NPS report read from the counts table (ScoreTally) equals the straightforward count over
the responses, on a random set written every way a response is written (API-style records, a
CSV import, survey clicks and score changes), and the counts can be checked and rebuilt."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.feedback import sending, tallies
from assina.feedback.models import ScoreTally, SurveyRequest, SurveyResponse
from assina.feedback.reports import feedback_report
from assina.feedback.services import answer, import_csv, record_response
from assina.time import now

pytestmark = pytest.mark.django_db(transaction=True)


def _python_counts(start, end) -> dict:
    """The overall counts by reading every response in Python (no SQL grouping at all)."""
    out = {"nps": [0] * 11, "csat": [0] * 11}
    for r in SurveyResponse.objects.filter(score__isnull=False, survey__in=("nps", "csat")):
        if start <= r.submitted_at < end:
            out[r.survey][r.score] += 1
    return out


def _random_set(rng: random.Random):
    start_clock(utc(2027, 6, 20, 9))
    make_plan("basic", 2900)
    make_plan("pro", 9900)
    customers = []
    for i in range(12):
        c = make_customer(email=f"c{i}@example.com", name=f"C {i}", locale=rng.choice(["en", "pt-BR"]),
                          country=rng.choice(["BR", "US", "PT", ""]), card=None)
        if i % 3:
            subscribe(c, rng.choice(["basic", "pro"]))
        customers.append(c)
    for i in range(120):  # API-style records across seven months
        survey = rng.choice(["nps", "nps", "csat"])
        score = rng.randint(0, 10) if survey == "nps" else rng.randint(1, 5)
        at = utc(2027, 1, 1) + timedelta(days=rng.randint(0, 170), hours=rng.randint(0, 23))
        record_response(customer=rng.choice(customers), survey=survey, score=score, comment="", submitted_at=at,
                        source="api", at=now())
    lines = ["email,survey,score,comment,submitted_at"]
    for i in range(40):
        lines.append(f"c{rng.randrange(12)}@example.com,nps,{rng.randint(0, 10)},,"
                     f"2027-{rng.randint(1, 6):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:30:00Z")
    assert not import_csv("\n".join(lines) + "\n", now()).errors
    assert import_csv("\n".join(lines) + "\n", now()).imported == 0  # again: nothing counted twice
    for c in customers[:8]:  # survey clicks, then changed scores (some back and forth)
        sending.send([(c, f"manual:tally:{c.pk}")], "nps", "manual", now())
        request = SurveyRequest.objects.get(customer=c, trigger_key=f"manual:tally:{c.pk}")
        for _ in range(rng.randint(1, 4)):
            answer(request, rng.randint(0, 10), now())
    return customers


def test_the_fast_report_equals_the_straightforward_count_with_imports_and_score_changes():
    rng = random.Random(17)
    customers = _random_set(rng)
    assert tallies.check() == []
    ranges = [(utc(2027, 1, 1), utc(2027, 7, 1)),  # whole months
              (utc(2027, 1, 15, 6), utc(2027, 5, 3, 12)),  # partial months at both ends
              (utc(2027, 3, 2), utc(2027, 3, 20)),  # inside one month
              (utc(2026, 12, 31, 23), utc(2027, 2, 1))]
    for start, end in ranges:
        fast, direct = feedback_report(since=start, until=end), feedback_report(since=start, until=end, direct=True)
        assert fast == direct, (start, end)
        expected = _python_counts(start, end)
        assert fast["overall"]["nps"]["responses"] == sum(expected["nps"])
        assert fast["overall"]["nps"]["promoters"] == expected["nps"][9] + expected["nps"][10]
        assert fast["overall"]["nps"]["detractors"] == sum(expected["nps"][:7])
        assert fast["overall"]["csat"]["satisfied"] == expected["csat"][4] + expected["csat"][5]
    for plan in ("basic", "pro"):
        assert (feedback_report(since=utc(2027, 1, 10), until=utc(2027, 7, 1), plan=plan)
                == feedback_report(since=utc(2027, 1, 10), until=utc(2027, 7, 1), plan=plan, direct=True))
    # The default period (this month and the 11 before it) reads whole months only.
    assert feedback_report() == feedback_report(direct=True)
    assert feedback_report()["overall"]["nps"]["responses"] == sum(_python_counts(utc(2026, 7, 1), utc(2027, 7, 1))["nps"])
    # A plan change later does not move the past answers: they keep the plan they were given on.
    answered_on = SurveyResponse.objects.filter(customer=customers[1]).values_list("plan_code", flat=True).first()
    subscribe(customers[1], "pro" if answered_on == "basic" else "basic")
    assert SurveyResponse.objects.filter(customer=customers[1]).exclude(plan_code=answered_on).count() == 0
    assert feedback_report() == feedback_report(direct=True)


def test_the_counts_are_checked_and_rebuilt(capsys):
    from assina.cli import main

    start_clock(utc(2027, 6, 20, 9))
    c = make_customer(email="t@example.com", name="T", country="BR", locale="pt-BR", card=None)
    record_response(customer=c, survey="nps", score=9, comment="", submitted_at=utc(2027, 5, 2), source="api", at=now())
    assert main(["feedback", "tallies", "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out) == {"ok": True, "responses": 1}
    # Written around the services (as a bulk load would): the check says so, the rebuild fixes it.
    SurveyResponse.objects.create(customer=c, survey="nps", score=3, submitted_at=utc(2027, 5, 3), source="import",
                                  idempotency_key="raw:1", created_at=now(), updated_at=now(), **tallies.snapshot(c.pk))
    assert main(["feedback", "tallies", "--json"]) == 2
    assert "differ" in json.loads(capsys.readouterr().err or "{}").get("error", "differ")
    assert feedback_report(since="2027-05", until="2027-05") != feedback_report(since="2027-05", until="2027-05", direct=True)
    assert main(["feedback", "tallies", "--rebuild", "--json"]) in (0, None)
    assert json.loads(capsys.readouterr().out)["responses"] == 2
    assert tallies.check() == [] and ScoreTally.objects.count() == 8  # 2 scores x (overall, country, locale, cohort)
    report = feedback_report(since="2027-05", until="2027-05")
    assert report == feedback_report(since="2027-05", until="2027-05", direct=True)
    assert report["overall"]["nps"]["nps"] == 0.0 and report["by_cohort"]["2027-06"]["nps"]["responses"] == 2
