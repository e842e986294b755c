"""What a price migration could not do as announced is listed in its report for the owner
(``attention``): a loyalty discount refused because another discount runs in that period, a
subscriber who moved to another plan before their change was armed."""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.repricing import services
from assina.repricing.models import PriceMigration
from assina.repricing.report import migration_report
from assina.subscriptions import changes
from assina.subscriptions.discounts import apply_discount

pytestmark = pytest.mark.django_db

MARCH = utc(2027, 3, 1)


def test_the_report_lists_what_could_not_be_done_as_announced():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    make_plan("team", 9000, name="Team")
    discounted = subscribe(make_customer(email="ana@example.com"), "pro")
    moved = subscribe(make_customer(email="bia@example.com"), "pro")
    plain = subscribe(make_customer(email="caio@example.com"), "pro")
    apply_discount(discounted.pk, percent_off="50", periods=6)  # runs through March
    advance(utc(2027, 1, 20))
    migration = services.create_migration(plan_code="pro", new_amount=6000, effective_at=MARCH,
                                          loyalty_percent="10", loyalty_periods=2)
    changes.change_subscription(moved.pk, plan_code="team")
    advance(utc(2027, 2, 10))  # the changes are armed at the February renewal
    attention = migration_report(migration.pk)["attention"]
    by_sub = {row["subscription"]: row for row in attention}
    assert set(by_sub) == {f"sub_{discounted.pk}", f"sub_{moved.pk}"}  # not sub_{plain.pk}
    assert by_sub[f"sub_{discounted.pk}"]["customer"] == "ana@example.com"
    assert "loyalty discount not applied" in by_sub[f"sub_{discounted.pk}"]["note"]
    assert "moved to another plan" in by_sub[f"sub_{moved.pk}"]["note"]
    assert plain.pk not in by_sub


def test_the_cli_report_prints_them_in_the_owners_language(capsys, settings):
    from assina.cli import main

    test_the_report_lists_what_could_not_be_done_as_announced()
    capsys.readouterr()
    settings.LANGUAGE_CODE = "pt-br"  # ASSINA_LANGUAGE=pt-br
    migration = PriceMigration.objects.get()
    assert main(["price-migration", "report", f"pm_{migration.pk}"]) == 0
    out = capsys.readouterr().out
    assert "precisa da sua atenção: sub_" in out and "ana@example.com" in out
