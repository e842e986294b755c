"""``assina price-migration create --amount`` reads the new price as every other command does:
decimals in the plan's currency (docs/cli.md), refused in the user's language with nothing
written when it is not one."""

from __future__ import annotations

import json

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.models import PlanVersion
from assina.cli import main
from assina.notifications.models import Message
from assina.repricing.models import PriceMigration, PriceMigrationMember

pytestmark = pytest.mark.django_db(transaction=True)


def _run(capsys, *args) -> tuple[int, dict]:
    code = main(["price-migration", "create", "--plan", "pro", "--effective", "2027-03-01", *args, "--json"])
    out = capsys.readouterr()
    return code or 0, json.loads(out.out or out.err)


def _written() -> tuple[int, int, int, int]:
    return (PlanVersion.objects.count(), PriceMigration.objects.count(), PriceMigrationMember.objects.count(),
            Message.objects.filter(template__startswith="price_migration").count())


def _setup():
    start_clock(utc(2027, 1, 1))
    make_plan("pro", 5000, name="Pro")
    for _n in range(2):
        subscribe(make_customer(), "pro")


def test_the_new_price_is_typed_in_decimals_like_plan_create(capsys):
    _setup()
    code, report = _run(capsys, "--amount", "60.00")
    assert code == 0, report
    assert (report["notified"], report["new_version"]) == (2, 2)
    assert PlanVersion.objects.get(plan__code="pro", version=2).unit_amount == 6000
    assert PriceMigration.objects.get().new_version.unit_amount == 6000


@pytest.mark.parametrize(("amount", "english", "portuguese"), [
    ("60,00", "'60,00' is not a valid amount; use digits and a dot, like 49.90",
     "'60,00' não é um valor válido; use dígitos e ponto decimal, como 49.90"),
    ("60.001", "BRL amounts have at most 2 decimals", "valores em BRL têm no máximo 2 casas decimais"),
    ("0", "the new price must be more than zero", "o novo preço deve ser maior que zero"),
], ids=["comma", "too many decimals", "zero"])
def test_a_bad_amount_is_refused_in_the_users_language_and_nothing_is_written(capsys, settings, amount, english, portuguese):
    _setup()
    before = _written()
    code, body = _run(capsys, "--amount", amount)
    assert (code, body["error"]) == (2, english)
    settings.LANGUAGE_CODE = "pt-br"
    code, body = _run(capsys, "--amount", amount)
    assert (code, body["error"]) == (2, portuguese)
    assert _written() == before


def test_an_unknown_plan_with_an_amount_is_refused(capsys):
    _setup()
    before = _written()
    code = main(["price-migration", "create", "--plan", "nope", "--amount", "60.00", "--effective", "2027-03-01", "--json"])
    out = capsys.readouterr()
    assert code == 2 and json.loads(out.out or out.err)["error"] == "unknown plan 'nope'"
    assert _written() == before
