"""A price migration's report: churn counts cancellations made on or after the notice only (for
the migrated group and for the rest alike), and ``mrr_after`` is each member's MRR after its
renewal (issue 19)."""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.repricing import services
from assina.repricing.report import migration_report
from assina.subscriptions.services import cancel_at_period_end, cancel_now, reactivate

pytestmark = pytest.mark.django_db(transaction=True)


def _plans():
    make_plan("pro", 5000, name="Pro")
    make_plan("basic", 3500, name="Basic")
    make_plan("team", 9000, name="Team")  # the rest: subscriptions on another plan


def test_a_cancellation_made_before_the_notice_is_no_churn_of_the_rest():
    start_clock(utc(2027, 1, 1))
    _plans()
    pro = [subscribe(make_customer(), "pro") for _ in range(2)]
    team = [subscribe(make_customer(), "team") for _ in range(4)]
    advance(utc(2027, 1, 10))
    cancel_at_period_end(team[0].pk)  # before the notice: still running at it, but decided before
    cancel_now(team[1].pk)  # ended before the notice: not live at it

    advance(utc(2027, 1, 20))
    migration = services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 3, 1))
    report = migration_report(migration.pk)
    # The rest at the notice: team[2] and team[3] (team[0] was already leaving, as cancelling
    # subscriptions are kept out of the group too).
    assert report["churn"]["rest"] == {"subscriptions": 2, "churned": 0, "rate": 0.0}
    assert report["churn"]["group"] == {"subscriptions": 2, "churned": 0, "rate": 0.0}

    advance(utc(2027, 1, 25))
    cancel_at_period_end(team[2].pk)  # after the notice: churn of the rest
    cancel_at_period_end(pro[0].pk)  # after the notice: churn of the group
    report = migration_report(migration.pk)
    assert report["churn"]["rest"] == {"subscriptions": 2, "churned": 1, "rate": 0.5}
    assert report["churn"]["group"] == {"subscriptions": 2, "churned": 1, "rate": 0.5}
    assert report["cancelled"] == 1

    reactivate(team[2].pk)  # changed its mind: not churned any more
    assert migration_report(migration.pk)["churn"]["rest"] == {"subscriptions": 2, "churned": 0, "rate": 0.0}
    cancel_at_period_end(team[2].pk)

    advance(utc(2027, 2, 5))  # team[0] and team[2] have ended: only team[2] decided since the notice
    report = migration_report(migration.pk)
    assert report["churn"]["rest"] == {"subscriptions": 2, "churned": 1, "rate": 0.5}


def test_mrr_after_is_each_members_mrr_after_its_renewal():
    start_clock(utc(2027, 1, 5))
    _plans()
    subs = [subscribe(make_customer(), "pro", quantity=1) for _ in range(3)]
    migration = services.create_migration(plan_code="pro", new_amount=6000, effective_at=utc(2027, 2, 5),
                                          switch_plan_code="basic")
    members = {m.subscription_id: m for m in migration.members.all()}
    services.choose(subs[1].customer_id, members[subs[1].pk].pk, "switch")
    cancel_at_period_end(subs[2].pk)
    report = migration_report(migration.pk)
    assert report["mrr_before"] == {"BRL": 15000}
    # Before the renewal: each member's MRR now (the cancelling one still pays until its end).
    assert report["mrr_after"] == {"BRL": 15000}

    advance(utc(2027, 2, 6))  # all renewed on Feb 5: 6000 (accepted by default) + 3500 (switched) + 0 (ended)
    report = migration_report(migration.pk)
    assert report["outcomes"] == {"accepted": 1, "switched": 1, "cancelled": 1}
    assert report["mrr_before"] == {"BRL": 15000}
    assert report["mrr_after"] == {"BRL": 6000 + 3500}
    assert report["churn"]["group"] == {"subscriptions": 3, "churned": 1, "rate": round(1 / 3, 4)}
