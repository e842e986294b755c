"""Onboarding milestones: each customer's state per milestone (done, late, missed, pending),
completion, time to first value, the cohort summary and ``assina engagement onboarding --json``."""

import json
from datetime import timedelta

import pytest
from factories import make_customer, start_clock, utc

from assina.customers.models import Customer
from assina.engagement.onboarding import onboarding_cohorts, onboarding_frame, onboarding_status
from assina.engagement.services import create_milestone, record_events

pytestmark = pytest.mark.django_db

T0 = utc(2027, 3, 1)


def _business():
    """Three milestones; four customers signed up in January (3) and February (1)."""
    start_clock(T0)
    connect = create_milestone(name="Connected the shop", event_name="shop_connected", due_days=3, position=1)
    report = create_milestone(name="First report", event_name="report_exported", due_days=7, first_value=True,
                              position=2)
    invite = create_milestone(name="Invited a colleague", event_name="user_invited", due_days=60, position=3)
    ana, bia, caio, dora = (make_customer() for _ in range(4))
    signups = {ana: utc(2027, 1, 5), bia: utc(2027, 1, 20), caio: utc(2027, 1, 31, 23), dora: utc(2027, 2, 27)}
    for customer, at in signups.items():
        Customer.objects.filter(pk=customer.pk).update(created_at=at)
    day = timedelta(days=1)
    rows = [
        ("a1", ana.pk, "shop_connected", utc(2027, 1, 6), None, {}),
        ("a2", ana.pk, "report_exported", utc(2027, 1, 7, 12), None, {}),  # 2.5 days: first value
        ("a3", ana.pk, "report_exported", utc(2027, 1, 6, 12), None, {}),  # sent later, happened first: 1.5 days
        ("a4", ana.pk, "user_invited", utc(2027, 2, 1), None, {}),
        ("b1", bia.pk, "shop_connected", utc(2027, 1, 20) + 5 * day, None, {}),  # late (due by day 3)
        ("b2", bia.pk, "login", utc(2027, 1, 21), None, {}),
        ("c1", caio.pk, "report_exported", utc(2027, 1, 31, 23) + 10 * day, None, {}),  # late
    ]
    record_events(rows, imported=True)
    return (connect, report, invite), (ana, bia, caio, dora)


def test_each_customer_has_milestone_states_completion_and_time_to_first_value():
    (connect, report, invite), (ana, bia, caio, dora) = _business()
    status = onboarding_status([ana.pk, bia.pk, caio.pk, dora.pk, 10**9], at=T0)
    assert set(status) == {ana.pk, bia.pk, caio.pk, dora.pk}
    a, b, c, d = (status[x.pk] for x in (ana, bia, caio, dora))
    assert [m.state for m in a.milestones] == ["done", "done", "done"]
    assert a.completed and a.completion == 1 and a.completed_at == utc(2027, 2, 1)
    assert a.first_value_at == utc(2027, 1, 6, 12) and a.days_to_first_value == 1.5
    assert [m.state for m in b.milestones] == ["late", "missed", "pending"]  # invite due on day 60: 2027-03-21
    assert (b.reached, b.total, b.completed, b.days_to_first_value, b.missed) == (1, 3, False, None, ["First report"])
    assert [m.state for m in c.milestones] == ["missed", "late", "pending"] and c.days_to_first_value == 10
    assert [m.state for m in d.milestones] == ["pending", "pending", "pending"] and d.completion == 0
    assert d.milestones[0].due_at == utc(2027, 3, 2)
    frame = onboarding_frame(None, at=T0)  # every customer: the same figures, vectorised
    assert frame.loc[ana.pk, "days_to_first_value"] == 1.5 and frame.loc[bia.pk, "missed"] == 1
    assert list(frame[f"state_{connect.pk}"]) == ["done", "late", "missed", "pending"]


def test_cohorts_and_the_command(capsys):
    from assina.cli import main

    _business()
    summary = onboarding_cohorts(at=T0)
    january, february = summary["cohorts"]
    assert (january["cohort"], january["customers"], january["completed"], january["reached_first_value"]) == (
        "2027-01", 3, 1, 2)
    assert january["median_days_to_first_value"] == 5.75  # 1.5 and 10 days
    assert january["milestones"][0] == {"milestone": "Connected the shop", "event_name": "shop_connected",
                                        "due_days": 3, "done": 1, "late": 1, "missed": 1, "pending": 0}
    assert (february["cohort"], february["customers"], february["completion_rate"]) == ("2027-02", 1, 0.0)
    assert [m["first_value"] for m in summary["milestones"]] == [False, True, False]
    assert main(["engagement", "onboarding", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["cohorts"] == summary["cohorts"]
