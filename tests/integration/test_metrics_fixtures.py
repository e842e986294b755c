"""Every metric on a small business computed by hand (see tests/metrics_support.py). Runs on
SQLite and on PostgreSQL: the same figures on both."""

from __future__ import annotations

import pytest
from metrics_support import MONTHS, PLANS, RATES, build_small_business

from assina.analytics import service

pytestmark = pytest.mark.django_db


@pytest.fixture
def business():
    service.forget()
    built = build_small_business()
    yield built
    service.forget()


def close(actual, expected):
    if expected is None:
        return actual is None
    return actual is not None and abs(actual - expected) < 1e-6


def test_every_metric_of_the_small_business_matches_the_hand_computed_figures(business):
    # One build of the business (minutes of simulated billing) serves every check.
    check_the_range_january_to_march()
    check_retention_over_a_range_follows_the_customers_paying_when_it_starts()
    check_any_as_of_date_gives_the_figures_of_that_moment()
    check_filters_by_plan_country_and_segment()
    check_the_table_ends_at_each_subscriptions_current_price()


def check_the_table_ends_at_each_subscriptions_current_price():
    """The derived history ends where billing is now: each subscription's last MRR level is its
    current period's invoice total (discount included), normalised to a month; 0 if not paying."""
    from assina.analytics.derive import build_dataset, wall_of
    from assina.time import now
    from assina.core.invoicing import draft_for_period
    from assina.subscriptions.models import Subscription
    from assina.subscriptions.terms import index_of_period_starting, terms_for

    table = build_dataset().table
    moment = wall_of(now())
    last = {}
    for sub, at, level in zip(table.sub.tolist(), table.at.tolist(), table.native.tolist()):
        if at <= moment:
            last[sub] = level
    for sub in Subscription.objects.all():
        expected = 0
        if sub.status in ("active", "past_due"):
            terms = terms_for(sub)
            total = draft_for_period(terms, index_of_period_starting(terms, sub.current_period_start)).total
            months = {"month": 1, "year": 12}[sub.interval] * sub.interval_count
            expected = (2 * total + months) // (2 * months)
        assert last.get(sub.pk, 0) == expected, (sub.pk, sub.status, last.get(sub.pk), expected)


def check_the_range_january_to_march():
    r = service.report(since="2027-01", until="2027-03")
    assert r["currency"] == "BRL" and r["reconciles"]
    months = {m["month"]: m for m in r["months"]}
    assert list(months) == ["2027-01", "2027-02", "2027-03"]
    for month, expected in MONTHS.items():
        for key, value in expected.items():
            assert months[month][key] == value, (month, key)
        m = months[month]
        # MRR(start) + movements = MRR(end), month by month.
        assert m["mrr_start"] + m["new"] + m["expansion"] + m["contraction"] + m["churn"] + m["reactivation"] == m["mrr_end"]
    for month, expected in RATES.items():
        for key, value in expected.items():
            assert close(months[month][key], value), (month, key, months[month][key], value)

    s = r["summary"]
    assert (s["mrr"], s["arr"], s["customers"]) == (51000, 612000, 7)
    assert (s["new"], s["expansion"], s["contraction"], s["churn"], s["reactivation"]) == (58400, 6600, -7000, -10000, 3000)
    assert close(s["arpa"], 51000 / 7)
    # LTV: ARPA / the average monthly customer churn of the last six months that had customers (Feb 1/6, Mar 0).
    assert close(s["ltv_churn_rate"], (1 / 6 + 0) / 2)
    assert close(s["ltv"], round(51000 / 7 / ((1 / 6) / 2), 6))
    assert close(s["quick_ratio"], (58400 + 6600 + 3000) / 17000)
    # Nobody paid when January started: retention over the range is undefined.
    assert s["net_revenue_retention"] is None and s["gross_revenue_retention"] is None
    # Trials: F converted, G canceled: both trials were due to end on Feb 15.
    assert (s["trials_started"], s["trials_ended"], s["trials_converted"]) == (2, 2, 1)
    assert close(s["trial_conversion_rate"], 0.5)
    # Dunning: H's first invoice failed and was paid 5 hours later; J's failed and expired (void).
    assert (s["invoices_failed"], s["invoices_recovered"], s["invoices_lost"], s["invoices_in_dunning"]) == (2, 1, 1, 0)
    assert (s["amount_failed"], s["amount_recovered"]) == (6000, 3000)
    assert close(s["dunning_recovery_rate"], 0.5)

    assert {p["plan"]: (p["mrr"], p["subscriptions"], p["customers"]) for p in r["plans"]} == PLANS
    mix = {m["interval"]: (m["mrr"], m["subscriptions"]) for m in r["mix"]}
    assert mix == {"monthly": (41000, 6), "annual": (10000, 1), "other": (0, 0)}
    assert close(s["annual_share"], 10000 / 51000)
    # Cancellations by reason; the expired incomplete subscription (J) never started: not one.
    assert r["cancellations"] == [{"reason": "switched_service", "count": 1, "mrr": 10000},
                                  {"reason": "too_expensive", "count": 1, "mrr": 0},
                                  {"reason": "unused", "count": 1, "mrr": 3000}]

    c = r["cohorts"]
    assert c["months"] == ["2027-01", "2027-02", "2027-03"] and c["size"] == [6, 1, 0]
    assert c["customers"][0] == [6, 5, 6]  # E churned in February and came back in March
    assert c["customers_percent"][0] == [100.0, 83.3, 100.0]
    assert c["mrr"][0] == [48400, 40400, 41000]
    assert c["revenue_percent"][0] == [100.0, 83.5, 84.7]
    assert c["customers"][1] == [1, 1, None] and c["mrr"][1] == [10000, 10000, None]


def check_retention_over_a_range_follows_the_customers_paying_when_it_starts():
    s = service.report(since="2027-02", until="2027-03")["summary"]
    # Starting customers A, H, B, C, D, E (48,400): expansion +6,600, contraction -7,000, churn -10,000;
    # E's reactivation is not retention (it churned first).
    assert close(s["net_revenue_retention"], 38000 / 48400)
    assert close(s["gross_revenue_retention"], 31400 / 48400)


def check_any_as_of_date_gives_the_figures_of_that_moment():
    feb = service.report(as_of="2027-02-28", months=2)
    assert feb["summary"]["mrr"] == 50400 and feb["summary"]["customers"] == 6 and feb["to"] == "2027-02"
    mid_feb = service.report(as_of="2027-02-15")
    # B's upgrade (Feb 12) is in, E's churn (Feb 25) is not yet: 48,400 + F 10,000 + B 6,000.
    assert mid_feb["summary"]["mrr"] == 64400


def check_filters_by_plan_country_and_segment():
    basic = service.report(since="2027-01", until="2027-03", plan="basic")
    m = {row["month"]: row for row in basic["months"]}
    assert (m["2027-01"]["new"], m["2027-01"]["mrr_end"]) == (8400, 8400)  # A 2400, H 3000, D 3000
    # In the basic view D leaving basic is churn (its pro stays, elsewhere); E's first basic is new here.
    assert (m["2027-03"]["expansion"], m["2027-03"]["churn"], m["2027-03"]["new"]) == (600, -3000, 3000)
    assert basic["summary"]["mrr"] == 9000 and basic["reconciles"]
    portugal = service.report(since="2027-01", until="2027-03", country="PT")  # A and B
    assert portugal["summary"]["mrr"] == 3000 + 12000 and portugal["summary"]["new"] == 12400
    clinics = service.report(since="2027-01", until="2027-03", segment="clinic")  # H and B
    assert clinics["summary"]["mrr"] == 3000 + 12000
    with pytest.raises(service.MetricsError):
        service.report(plan="nope")
