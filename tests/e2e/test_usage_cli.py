"""``assina metric create|list`` and ``assina plan meter`` as an operator runs them: real console
script, a database of the test's own, ``--json``.

Amounts are typed in the plan's currency and stored in minor units exactly as ``plan create``
converts them. The bad-input tests check that refusing changes no row of any table.

A metered renewal, plain output and Portuguese (ASSINA_LANGUAGE) run through the console script;
the other cases run the CLI's ``main`` in this process on the test database (the same parser,
commands and messages, without a process start-up per command).
"""

from __future__ import annotations

import subprocess
import sys
from typing import Iterator

import pytest

from conftest import START

CARD_OK = "4242424242424242"

# Usage events have no CLI (the business's application sends them to the API): the tests store
# them with the service the API calls.
RECORD_USAGE = """
import sys, types
from datetime import datetime
import django
django.setup()
from assina.usage.services import record_usage
email, metric, at, *values = sys.argv[1:]
record_usage([types.SimpleNamespace(id=f"e{n}", customer=None, customer_email=email, metric=metric, value=int(v),
                                    timestamp=datetime.fromisoformat(at), properties={})
              for n, v in enumerate(values)])
"""


def record_usage(cli, email: str, metric: str, at: str, *values: int) -> None:
    proc = subprocess.run([sys.executable, "-c", RECORD_USAGE, email, metric, at, *map(str, values)],
                          env={**cli.env, "DJANGO_SETTINGS_MODULE": "assina.settings"}, cwd=cli.cwd,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def create_plan(cli, code: str = "pro", amount: str = "49.90", currency: str = "BRL") -> dict:
    return cli.ok("plan", "create", "--code", code, "--name", code.title(), "--amount", amount, "--currency", currency,
                  "--interval", "month")


# --- the happy paths -------------------------------------------------------------------------


def test_a_metric_and_its_metered_price_from_the_cli_bill_the_usage_at_renewal(assina):
    create_plan(assina)
    metric = assina.ok("metric", "create", "--code", "api_calls", "--name", "API calls")
    assert metric == {"code": "api_calls", "name": "API calls", "aggregation": "sum", "unique_property": None,
                      "created_at": START}
    price = assina.ok("plan", "meter", "--plan", "pro", "--metric", "api_calls", "--unit-amount", "0.02")
    assert price == {"plan": "pro", "version": 1, "metric": "api_calls", "pricing_model": "per_unit", "unit_amount": 2,
                     "tiers": [], "package_size": 1, "currency": "BRL"}
    assert assina.ok("metric", "list") == {"metrics": [{**metric, "plans": [{"plan": "pro", "version": 1}]}]}

    assina.ok("customer", "create", "--email", "ana@example.com", "--card", CARD_OK)
    sub = assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--start", START)
    assina.ok("clock", "advance", "--to", "2027-02-10T12:00:00Z")
    record_usage(assina, "ana@example.com", "api_calls", "2027-02-10T12:00:00+00:00", 3, 997)
    assina.ok("clock", "advance", "--to", sub["current_period_end"])

    renewal = assina.invoices()[-1]
    assert renewal["billing_reason"] == "subscription_cycle"
    usage = [line for line in renewal["lines"] if line["description"] == "API calls usage"]
    assert [(line["quantity"], line["amount"]) for line in usage] == [(1000, 2000)]  # 1,000 calls at 0.02
    assert (renewal["total"], renewal["status"]) == (4990 + 2000, "paid")


def test_metric_aggregations_and_the_counted_property(assina_in_process):
    assina = assina_in_process
    assert assina.ok("metric", "create", "--code", "peak-seats", "--aggregation", "max")["aggregation"] == "max"
    assert assina.ok("metric", "create", "--code", "messages", "--aggregation", "count")["name"] == "messages"
    mau = assina.ok("metric", "create", "--code", "mau", "--name", "Active users", "--aggregation", "unique_count",
                    "--unique-property", "user_id")
    assert (mau["aggregation"], mau["unique_property"]) == ("unique_count", "user_id")
    listed = assina.ok("metric", "list")["metrics"]
    assert [(m["code"], m["aggregation"], m["plans"]) for m in listed] == [
        ("mau", "unique_count", []), ("messages", "count", []), ("peak-seats", "max", [])]


@pytest.mark.parametrize("currency, typed, minor", [
    pytest.param("BRL", "0.02", 2, id="BRL-cents"),
    pytest.param("BRL", "1.5", 150, id="BRL-one-decimal"),
    pytest.param("JPY", "3", 3, id="JPY-no-decimals"),
    pytest.param("BHD", "0.005", 5, id="BHD-three-decimals"),
])
def test_unit_amount_is_converted_in_the_plans_currency_like_plan_create(assina_in_process, currency, typed, minor):
    assina = assina_in_process
    create_plan(assina, amount=typed, currency=currency)
    assina.ok("metric", "create", "--code", "api_calls")
    price = assina.ok("plan", "meter", "--plan", "pro", "--metric", "api_calls", "--unit-amount", typed)
    assert (price["unit_amount"], price["currency"]) == (minor, currency)
    assert create_plan(assina, code="same", amount=typed, currency=currency)["amount"] == minor


def test_package_and_tiered_metered_prices(assina_in_process):
    assina = assina_in_process
    create_plan(assina)
    create_plan(assina, code="max")
    for code in ("sms", "gb"):
        assina.ok("metric", "create", "--code", code)
    package = assina.ok("plan", "meter", "--plan", "pro", "--metric", "sms", "--pricing-model", "package",
                        "--unit-amount", "5.00", "--package-size", "100")
    assert (package["pricing_model"], package["unit_amount"], package["package_size"]) == ("package", 500, 100)
    graduated = assina.ok("plan", "meter", "--plan", "pro", "--metric", "gb", "--pricing-model", "graduated",
                          "--tier", "10:0", "--tier", "100:0.50:2.00", "--tier", "inf:0.25")
    assert graduated["tiers"] == [{"up_to": 10, "unit_amount": 0, "flat_amount": 0},
                                  {"up_to": 100, "unit_amount": 50, "flat_amount": 200},
                                  {"up_to": None, "unit_amount": 25, "flat_amount": 0}]
    volume = assina.ok("plan", "meter", "--plan", "max", "--metric", "gb", "--pricing-model", "volume",
                       "--tier", "100:1", "--tier", "*:0.80")
    assert (volume["pricing_model"], [t["unit_amount"] for t in volume["tiers"]]) == ("volume", [100, 80])
    listed = {m["code"]: m["plans"] for m in assina.ok("metric", "list")["metrics"]}
    assert listed == {"gb": [{"plan": "pro", "version": 1}, {"plan": "max", "version": 1}],
                      "sms": [{"plan": "pro", "version": 1}]}


def test_human_output_and_portuguese(assina):
    created = assina.run("metric", "create", "--code", "api_calls", "--name", "API calls", json_output=False)
    assert created.returncode == 0, str(created)
    assert "code: api_calls" in created.stdout.splitlines()
    listed = assina.run("metric", "list", json_output=False)
    assert listed.returncode == 0 and "api_calls" in listed.stdout, str(listed)
    refused = assina.run("metric", "create", "--code", "api_calls", json_output=False, env={"ASSINA_LANGUAGE": "pt-br"})
    assert (refused.returncode, refused.stdout) == (2, ""), str(refused)
    assert refused.stderr == "erro: já existe uma métrica com código api_calls\n"


# --- bad input is refused and changes nothing -----------------------------------------------


class World:
    def __init__(self, cli) -> None:
        self.cli = cli


def build_world(cli) -> World:
    create_plan(cli)
    cli.ok("metric", "create", "--code", "api_calls", "--name", "API calls")
    cli.ok("metric", "create", "--code", "storage", "--aggregation", "max")
    cli.ok("plan", "meter", "--plan", "pro", "--metric", "api_calls", "--unit-amount", "0.02")
    return World(cli)


@pytest.fixture
def world(assina_in_process) -> World:
    """The world in this process, on the test database (rolled back after each test)."""
    return build_world(assina_in_process)


@pytest.fixture(scope="module")
def world_process(tmp_path_factory: pytest.TempPathFactory, scratch_assina) -> Iterator[World]:
    """The world through the console script, for ASSINA_LANGUAGE (read by a process at start-up)."""
    with scratch_assina(tmp_path_factory.mktemp("usage-bad-input")) as cli:
        yield build_world(cli)


def refused_changing_nothing(world: World, *args: str, words: tuple[str, ...], **kwargs) -> str:
    before = world.cli.db.snapshot()
    message = world.cli.refused(*args, words=words, **kwargs)
    assert world.cli.db.snapshot() == before, f"assina {' '.join(args)} was refused but changed the database"
    return message


METRIC = ("metric", "create")
METER = ("plan", "meter", "--plan", "pro", "--metric", "storage")


@pytest.mark.parametrize("args, words", [
    pytest.param((*METRIC, "--code", "api_calls"), ("already exists", "api_calls"), id="duplicate-code"),
    pytest.param((*METRIC, "--code", "API Calls"), ("metric code", "lower-case", "API Calls"), id="bad-code"),
    pytest.param((*METRIC, "--code", "x", "--aggregation", "avg"), ("--aggregation", "invalid choice", "avg"),
                 id="unknown-aggregation"),
    pytest.param((*METRIC, "--code", "mau", "--aggregation", "unique_count"), ("unique count", "property"),
                 id="unique-count-without-property"),
    pytest.param((*METRIC, "--code", "mau", "--aggregation", "unique_count", "--unique-property", "user id"),
                 ("unique count", "property"), id="bad-property"),
    pytest.param((*METRIC, "--code", "calls", "--unique-property", "user_id"), ("only a unique count",),
                 id="property-on-a-sum"),
    pytest.param((*METRIC, "--code", "calls", "--name", "x" * 201), ("name", "200"), id="name-too-long"),
    pytest.param(("metric", "create", "--name", "Calls"), ("--code", "required"), id="no-code"),
])
def test_bad_metric_is_refused_and_creates_nothing(world: World, args, words):
    refused_changing_nothing(world, *args, words=words)


@pytest.mark.parametrize("args, words", [
    pytest.param(("plan", "meter", "--plan", "enterprise", "--metric", "storage", "--unit-amount", "1"),
                 ("unknown plan", "enterprise"), id="unknown-plan"),
    pytest.param(("plan", "meter", "--plan", "pro", "--metric", "gb", "--unit-amount", "1"), ("metric", "gb"),
                 id="unknown-metric"),
    pytest.param(("plan", "meter", "--plan", "pro", "--metric", "api_calls", "--unit-amount", "0.05"),
                 ("already bills", "api_calls"), id="duplicate-price"),
    pytest.param((*METER, "--unit-amount", "-0.02"), ("negative",), id="negative-amount"),
    pytest.param((*METER, "--unit-amount", "abc"), ("abc", "not a valid amount"), id="non-numeric-amount"),
    pytest.param((*METER, "--unit-amount", "0,02"), ("0,02", "not a valid amount"), id="decimal-comma"),
    pytest.param((*METER, "--unit-amount", "0.001"), ("BRL", "2 decimals"), id="below-the-minor-unit"),
    pytest.param(METER, ("--unit-amount",), id="no-amount"),
    pytest.param((*METER, "--pricing-model", "flat", "--unit-amount", "1"), ("--pricing-model", "invalid choice", "flat"),
                 id="flat"),
    pytest.param((*METER, "--pricing-model", "package", "--unit-amount", "1", "--package-size", "0"),
                 ("package size", "at least 1"), id="package-size-0"),
    pytest.param((*METER, "--unit-amount", "1", "--tier", "10:1"), ("only graduated and volume",), id="tier-on-per-unit"),
    pytest.param((*METER, "--pricing-model", "graduated"), ("--tier",), id="graduated-without-tiers"),
    pytest.param((*METER, "--pricing-model", "graduated", "--unit-amount", "1", "--tier", "inf:1"),
                 ("--tier", "--unit-amount"), id="graduated-with-unit-amount"),
    pytest.param((*METER, "--pricing-model", "volume", "--tier", "10:1"), ("last tier", "no upper bound"),
                 id="last-tier-bounded"),
    pytest.param((*METER, "--pricing-model", "volume", "--tier", "10:1", "--tier", "5:1", "--tier", "inf:1"),
                 ("strictly increasing",), id="tiers-out-of-order"),
    pytest.param((*METER, "--pricing-model", "volume", "--tier", "ten:1", "--tier", "inf:1"), ("upper bound", "ten:1"),
                 id="tier-bound-not-a-number"),
    pytest.param((*METER, "--pricing-model", "volume", "--tier", "10", "--tier", "inf:1"), ("UP_TO:UNIT_AMOUNT", "'10'"),
                 id="tier-without-amount"),
    pytest.param((*METER, "--pricing-model", "volume", "--tier", "10:-1", "--tier", "inf:1"), ("negative",),
                 id="tier-negative-amount"),
])
def test_bad_metered_price_is_refused_and_creates_nothing(world: World, args, words):
    refused_changing_nothing(world, *args, words=words)


def test_refusals_are_translated(world_process: World):
    message = refused_changing_nothing(world_process, *METER, "--unit-amount", "-1", words=("negativo",),
                                       env={"ASSINA_LANGUAGE": "pt-br"})
    assert message == "o valor não pode ser negativo"
    refused_changing_nothing(world_process, *METER, words=("informe o preço por unidade",), env={"ASSINA_LANGUAGE": "pt-br"})
