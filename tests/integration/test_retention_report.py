"""The retention figures (issue 16) on a hand-computed set of cancel sessions: reasons and shares,
offers shown and accepted, saves validated at 30 days and saved MRR per currency, by reason,
offer and variant, and A against B; through the report, the API, the CLI and the page."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from api_support import api, problem  # noqa: F401 - fixture
from django.contrib.auth.models import Permission, User
from django.test import Client
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.retention.models import CancelSession
from assina.retention.report import retention_report

pytestmark = pytest.mark.django_db

AS_OF = utc(2027, 3, 1, 12)
CHECK = timedelta(days=30)


@pytest.fixture
def subs():
    start_clock(utc(2026, 12, 1))
    make_plan("basic", 4990)
    make_plan("intl", 1500, currency="USD")
    brl = subscribe(make_customer(), "basic")
    usd = subscribe(make_customer(currency="USD"), "intl")
    return brl, usd


def _session(sub, started, reason, *, variant="a", kind="discount", shown=True, accepted=False, outcome="canceled",
             paying=None, mrr=4990, checked=True):
    """A session as the cancel flow leaves it; ``paying``: the 30-day check's answer (None: not checked)."""
    return CancelSession.objects.create(
        customer_id=sub.customer_id, subscription=sub, started_at=started, updated_at=started, reason=reason,
        variant=variant, offer_kind=kind, offer_shown_at=started if shown else None,
        offer_accepted_at=started if accepted else None, offer_declined_at=started if shown and not accepted else None,
        outcome=outcome, completed_at=started, mrr=mrr, currency=sub.currency,
        save_checked_at=started + CHECK if checked and paying is not None else None, still_paying_at_30_days=paying)


@pytest.fixture
def sessions(subs):
    brl, usd = subs
    day = lambda d: utc(2027, 1, d, 10)  # noqa: E731
    # too_expensive, variant A (discount): two validated saves, an accepted one not paying, a cancel.
    _session(brl, day(2), "too_expensive", accepted=True, outcome="saved", paying=True, mrr=4990)
    _session(brl, day(3), "too_expensive", accepted=True, outcome="saved", paying=False)
    _session(brl, day(4), "too_expensive")
    _session(brl, day(5), "too_expensive", accepted=True, outcome="saved", paying=True, mrr=2990)
    # too_expensive, variant B: one save, one cancel, one left without an offer and still paying.
    _session(brl, day(6), "too_expensive", variant="b", accepted=True, outcome="saved", paying=True, mrr=4990)
    _session(brl, day(7), "too_expensive", variant="b")
    _session(brl, day(8), "too_expensive", variant="b", outcome="abandoned", paying=True)
    # unused (pause): accepted but paused at 30 days; a cancel.
    _session(brl, day(9), "unused", kind="pause", accepted=True, outcome="saved", paying=False)
    _session(brl, day(10), "unused", kind="pause")
    # switched_service: no offer.
    _session(brl, day(11), "switched_service", variant="", kind="none", shown=False)
    _session(brl, day(12), "switched_service", variant="", kind="none", shown=False)
    # missing_features (feedback with a discount), in USD: a save.
    _session(usd, day(13), "missing_features", kind="feedback", accepted=True, outcome="saved", paying=True, mrr=1500)
    # Too recent to judge on March 1st: pending, in neither part of the save rate.
    _session(brl, utc(2027, 2, 20), "too_expensive", accepted=True, outcome="saved", paying=None)
    # Outside the range.
    _session(brl, utc(2026, 12, 20), "too_expensive", accepted=True, outcome="saved", paying=True)
    start_clock(AS_OF)


def _by_key(groups: list[dict]) -> dict[str, dict]:
    return {g["key"]: g for g in groups}


def test_the_totals_count_only_validated_saves_over_evaluated_sessions(sessions):
    r = retention_report("2027-01-01", "2027-02-28")
    assert (r["from"], r["to"], r["save_window_days"]) == ("2027-01-01", "2027-02-28", 30)
    assert r["sessions"] == 13
    assert r["outcomes"] == {"open": 0, "canceled": 5, "saved": 7, "abandoned": 1}
    assert (r["offers_shown"], r["offers_accepted"]) == (11, 7)
    assert r["acceptance_rate"] == pytest.approx(7 / 11)
    assert (r["evaluated"], r["pending"], r["saves"]) == (12, 1, 4)
    assert r["save_rate"] == pytest.approx(4 / 12)
    assert (r["accepted_not_paying"], r["stayed_without_offer"]) == (2, 1)
    assert r["saved_mrr"] == {"BRL": 4990 + 2990 + 4990, "USD": 1500}


def test_reasons_offers_and_variants_each_have_their_figures(sessions):
    r = retention_report("2027-01", "2027-02")
    reasons = _by_key(r["reasons"])
    assert [g["key"] for g in r["reasons"]] == ["too_expensive", "missing_features", "switched_service", "unused"]
    expensive = reasons["too_expensive"]
    assert (expensive["sessions"], expensive["offers_shown"], expensive["offers_accepted"]) == (8, 8, 5)
    assert expensive["share"] == pytest.approx(8 / 13) and expensive["acceptance_rate"] == pytest.approx(5 / 8)
    assert (expensive["evaluated"], expensive["saves"]) == (7, 3) and expensive["save_rate"] == pytest.approx(3 / 7)
    assert expensive["saved_mrr"] == {"BRL": 12970}
    assert (reasons["unused"]["saves"], reasons["unused"]["save_rate"], reasons["unused"]["acceptance_rate"]) == (0, 0.0, 0.5)
    switched = reasons["switched_service"]
    assert (switched["offers_shown"], switched["acceptance_rate"], switched["save_rate"]) == (0, None, 0.0)
    assert reasons["missing_features"]["saved_mrr"] == {"USD": 1500}
    assert sum(g["share"] for g in r["reasons"]) == pytest.approx(1)

    offers = _by_key(r["offers"])
    assert {k: g["sessions"] for k, g in offers.items()} == {"discount": 8, "feedback": 1, "none": 2, "pause": 2}

    a, b = (_by_key(r["variants"])[v] for v in ("a", "b"))
    assert [g["key"] for g in r["variants"]] == ["a", "b"]
    assert (a["sessions"], a["offers_shown"], a["offers_accepted"], a["evaluated"], a["saves"]) == (8, 8, 6, 7, 3)
    assert a["saved_mrr"] == {"BRL": 7980, "USD": 1500}
    assert (b["sessions"], b["offers_accepted"], b["evaluated"], b["saves"]) == (3, 1, 3, 1)
    assert b["save_rate"] == pytest.approx(1 / 3)


def test_variants_are_compared_within_the_reasons_that_had_both(sessions):
    test = retention_report("2027-01-01", "2027-02-28")["variant_test"]
    assert test["reasons"] == ["too_expensive"]
    save = test["save_rate"]
    # A: 2 saves of 4 evaluated; B: 1 of 3. Fisher: P(X=k) = C(4,k) C(3,3-k) / 35 = 1, 12, 18, 4 (/35);
    # every table is as likely or less than the observed one (18/35): p = 1.
    assert (save["a"], save["b"]) == ({"successes": 2, "trials": 4, "rate": 0.5},
                                      {"successes": 1, "trials": 3, "rate": pytest.approx(1 / 3)})
    assert save["test"] == "fisher" and save["p_value"] == pytest.approx(1.0) and not save["significant"]
    assert save["difference"] == pytest.approx(1 / 3 - 0.5)
    # Acceptance: A 4 of 5 shown, B 1 of 3. P(X=k) = C(5,k) C(3,5-k) / 56 = 10, 30, 15, 1 for k = 2..5;
    # observed k = 4 (15): p = (10 + 15 + 1) / 56.
    accept = test["acceptance_rate"]
    assert accept["p_value"] == pytest.approx(26 / 56) and not accept["significant"]
    assert [row["reason"] for row in test["by_reason"]] == ["too_expensive"]
    assert test["by_reason"][0]["save_rate"] == save


def test_a_large_difference_between_variants_is_significant(subs):
    brl, _usd = subs
    for i in range(10):  # A: 1 save of 10; B: 9 of 10
        _session(brl, utc(2027, 1, 2, i), "too_expensive", accepted=True, outcome="saved", paying=i == 0)
        _session(brl, utc(2027, 1, 3, i), "too_expensive", variant="b", accepted=True, outcome="saved", paying=i != 0)
    start_clock(AS_OF)
    save = retention_report("2027-01-01", "2027-01-31")["variant_test"]["save_rate"]
    # Every expected count is 5 (10 saves of 20, 10 per variant): the z-test. Pooled p = 0.5,
    # se = sqrt(0.25 * (1/10 + 1/10)) = 0.223607, z = 0.8 / 0.223607 = 3.57771, p = erfc(3.57771 / sqrt 2) = 0.000347.
    assert save["test"] == "z" and save["p_value"] == pytest.approx(0.000347, abs=1e-6)
    assert save["significant"] and save["difference"] == pytest.approx(0.8)


def test_the_default_range_is_the_last_90_days_and_bad_ranges_are_refused(sessions):
    r = retention_report()
    assert (r["from"], r["to"]) == ("2026-12-02", "2027-03-01") and r["sessions"] == 14
    for since, until, message in (("2027-02-01", "2027-01-01", "starts after it ends"), ("yesterday", None, "must be a date"),
                                  ("2020-01-01", "2027-01-01", "longer than")):
        with pytest.raises(Exception, match=message):
            retention_report(since, until)


def test_the_api_answers_the_same_figures(api, sessions):
    body = api.ok("GET", "/metrics/retention", {"from": "2027-01-01", "to": "2027-02-28"})
    assert body == json.loads(json.dumps(retention_report("2027-01-01", "2027-02-28")))
    assert body["saved_mrr"] == {"BRL": 12970, "USD": 1500} and body["variant_test"]["save_rate"]["test"] == "fisher"
    problem(api.get("/metrics/retention", {"from": "2027-02-01", "to": "2027-01-01"}), 422, "report_error")


def test_the_cli_prints_json_and_a_readable_report(sessions, capsys):
    from assina.cli import main

    assert main(["retention", "report", "--from", "2027-01-01", "--to", "2027-02-28", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["sessions"], shown["saves"], shown["saved_mrr"]) == (13, 4, {"BRL": 12970, "USD": 1500})
    assert main(["retention", "report", "--from", "2027-01-01", "--to", "2027-02-28"]) == 0
    text = capsys.readouterr().out
    assert "saves (still paying after 30 days): 4 of 12 evaluated (1 pending)   save rate: 33.3%" in text
    assert "too_expensive" in text and "A against B (reasons: too_expensive)" in text
    assert main(["retention", "report", "--from", "nope", "--json"]) == 2


def test_the_page_shows_the_figures_to_staff_with_the_dashboard_permission(sessions):
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    client = Client()
    client.force_login(viewer)
    assert client.get("/dashboard/retention/").status_code == 403
    viewer.user_permissions.add(Permission.objects.get(codename="view_dashboard"))
    page = client.get("/dashboard/retention/?from=2027-01-01&to=2027-02-28").content.decode()
    assert "Retention: cancel flow and saves" in page and "33.3%" in page and "R$129.70" in page
    assert 'id="table-reasons"' in page and "Too expensive" in page and "Fisher" in page
    pt = client.get("/dashboard/retention/?from=2027-01-01&to=2027-02-28", HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()
    assert "Retenção" in pt and "33,3%" in pt and "R$\xa0129,70" in pt
    refused = client.get("/dashboard/retention/?from=2027-02-01&to=2027-01-01").content.decode()
    assert 'id="report-error"' in refused
    assert Client().get("/dashboard/retention/").status_code == 302  # to the login page
    dashboard = client.get("/dashboard/").content.decode()
    assert '<a href="/dashboard/retention/" id="link-retention">' in dashboard  # the dashboard links to it
