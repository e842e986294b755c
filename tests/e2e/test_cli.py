"""The ``assina`` command as an operator runs it: real console script, real database, ``--json``.

Every test starts from ``assina migrate`` and ``assina clock advance --to START`` on a database
of its own (the bad-input tests share one per module: refusing them must change nothing, which
each of them checks by comparing every row of every table before and after).

The console script runs what needs a process: a first billing walk, the worker, settings from
the environment (live mode, Portuguese) and the start-up check of an unmigrated database. The
other cases run the CLI's ``main`` in this process on the test database (``cli``): the same
parser, commands, printers and exit codes, without a second of process start-up each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import pytest

# The clock of every test starts here (after real "now": a sandbox clock never goes back).
START = "2027-01-31T10:00:00Z"
CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"


def create_pro_plan(cli) -> dict:
    return cli.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL",
                  "--interval", "month")


def create_ana(cli) -> dict:
    return cli.ok("customer", "create", "--email", "ana@example.com", "--name", "Ana", "--locale", "pt-BR", "--card", CARD_OK)


def subscribe_ana(cli, plan: str = "pro", *extra: str) -> dict:
    return cli.ok("subscription", "create", "--customer", "ana@example.com", "--plan", plan, "--start", START, *extra)


@pytest.fixture
def cli(assina_in_process):
    """The CLI's ``main`` in this process, on the test database, its clock at START."""
    return assina_in_process


# --- the happy paths -------------------------------------------------------------------------


def test_five_months_of_a_monthly_plan_bill_five_paid_invoices_numbered_in_order(assina):
    assert assina.start == START
    plan = create_pro_plan(assina)
    assert plan == {"code": "pro", "name": "Pro", "kind": "base", "amount": 4990, "currency": "BRL",
                    "pricing_model": "flat", "package_size": 1, "interval": "month", "interval_count": 1,
                    "trial_days": 0, "version": 1}
    customer = create_ana(assina)
    assert (customer["email"], customer["name"], customer["locale"], customer["currency"]) == ("ana@example.com", "Ana", "pt-BR", "BRL")
    assert customer["card"] == {"brand": "visa", "last4": "4242"}

    sub = subscribe_ana(assina)
    assert sub["id"].startswith("sub_")
    assert (sub["status"], sub["plan"], sub["customer"]) == ("active", "pro", "ana@example.com")
    assert (sub["current_period_start"], sub["current_period_end"]) == (START, "2027-02-28T10:00:00Z")

    advanced = assina.ok("clock", "advance", "--to", "2027-06-01")
    assert advanced["clock"] == "2027-06-01T00:00:00Z"
    assert advanced["renewals"] == 4

    invoices = assina.invoices()
    assert [i["number"] for i in invoices] == [f"2027-00000{n}" for n in range(1, 6)]
    # Anchored on the 31st: short months end on their last day, long ones go back to the 31st.
    assert [i["period_start"][:10] for i in invoices] == ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31"]
    assert {(i["status"], i["total"], i["amount_paid"], i["currency"], i["subscription"]) for i in invoices} == {
        ("paid", 4990, 4990, "BRL", sub["id"])}
    assert [i["billing_reason"] for i in invoices] == ["subscription_create"] + ["subscription_cycle"] * 4
    assert assina.invoices("--customer", "ana@example.com") == invoices

    # Advancing to the same time again finds nothing due: no invoice is created twice.
    assert assina.ok("clock", "advance", "--to", "2027-06-01").get("renewals", 0) == 0

    human = assina.run("invoice", "list", json_output=False)
    assert human.returncode == 0, str(human)
    lines = human.stdout.splitlines()
    assert lines[-1] == "5 invoice(s)"
    assert "2027-000005" in lines[4] and "paid" in lines[4] and "49.90 BRL" in lines[4]


def test_changing_plan_now_prorates_onto_the_next_invoice(cli):
    create_pro_plan(cli)
    cli.ok("plan", "create", "--code", "max", "--name", "Max", "--amount", "99.90", "--currency", "BRL", "--interval", "month")
    create_ana(cli)
    sub = subscribe_ana(cli)
    cli.ok("clock", "advance", "--to", "2027-02-14T10:00:00Z")  # half of the 28-day period is left

    changed = cli.ok("subscription", "change", sub["id"], "--plan", "max")
    assert changed["plan"] == "max"
    assert changed["items"] == [{"plan": "max", "version": 1, "quantity": 1}]
    assert (changed["current_period_start"], changed["current_period_end"]) == (START, "2027-02-28T10:00:00Z")

    cli.ok("clock", "advance", "--to", "2027-03-01")
    invoices = cli.invoices()
    assert len(invoices) == 2  # the change itself billed nothing: its proration waited for the renewal
    renewal = invoices[1]
    assert (renewal["number"], renewal["status"], renewal["period_start"]) == ("2027-000002", "paid", "2027-02-28T10:00:00Z")
    assert sorted((l["kind"], l["amount"]) for l in renewal["lines"]) == [
        ("proration", -2495), ("proration", 4995), ("subscription", 9990)]
    assert renewal["total"] == renewal["amount_paid"] == 9990 - 2495 + 4995


def test_change_at_period_end_waits_for_the_renewal_and_is_not_prorated(cli):
    team = cli.ok("plan", "create", "--code", "team", "--name", "Team", "--amount", "19.90", "--interval", "month",
                     "--pricing-model", "per_unit")
    assert (team["pricing_model"], team["amount"]) == ("per_unit", 1990)
    create_ana(cli)
    sub = subscribe_ana(cli, "team", "--quantity", "2")

    scheduled = cli.ok("subscription", "change", sub["id"], "--quantity", "5", "--at-period-end")
    assert scheduled["items"] == [{"plan": "team", "version": 1, "quantity": 2}]  # nothing changes yet

    cli.ok("clock", "advance", "--to", "2027-03-01")
    shown = cli.ok("subscription", "show", sub["id"])
    assert shown["items"] == [{"plan": "team", "version": 1, "quantity": 5}]
    assert (shown["status"], shown["current_period_start"]) == ("active", "2027-02-28T10:00:00Z")
    invoices = cli.invoices()
    assert [(i["number"], i["status"], i["total"]) for i in invoices] == [("2027-000001", "paid", 2 * 1990),
                                                                         ("2027-000002", "paid", 5 * 1990)]
    assert [(l["kind"], l["quantity"], l["amount"]) for l in invoices[1]["lines"]] == [("subscription", 5, 5 * 1990)]


def test_cancel_at_period_end_can_be_reactivated_and_otherwise_ends_the_subscription(cli):
    create_pro_plan(cli)
    create_ana(cli)
    sub = subscribe_ana(cli)

    canceling = cli.ok("subscription", "cancel", sub["id"], "--at-period-end", "--reason", "too expensive")
    assert (canceling["status"], canceling["cancel_at_period_end"], canceling["ended_at"]) == ("active", True, None)
    reactivated = cli.ok("subscription", "reactivate", sub["id"])
    assert (reactivated["status"], reactivated["cancel_at_period_end"]) == ("active", False)

    assert cli.ok("clock", "advance", "--to", "2027-03-01")["renewals"] == 1  # reactivated: it renews

    cli.ok("subscription", "cancel", sub["id"], "--at-period-end")
    assert cli.ok("clock", "advance", "--to", "2027-04-01")["canceled_at_period_end"] == 1
    ended = cli.ok("subscription", "show", sub["id"])
    assert (ended["status"], ended["ended_at"], ended["next_action_at"]) == ("canceled", "2027-03-31T10:00:00Z", None)
    assert [(i["number"], i["status"]) for i in cli.invoices()] == [("2027-000001", "paid"), ("2027-000002", "paid")]

    before = cli.db.snapshot()
    cli.refused("subscription", "reactivate", sub["id"], words=("cannot be reactivated",))
    assert cli.db.snapshot() == before


def test_pause_stops_billing_and_resume_bills_a_new_period_minus_the_unused_credit(cli):
    create_pro_plan(cli)
    create_ana(cli)
    sub = subscribe_ana(cli)
    cli.ok("clock", "advance", "--to", "2027-02-14T10:00:00Z")

    paused = cli.ok("subscription", "pause", sub["id"])
    assert (paused["status"], paused["current_period_end"], paused["next_action_at"]) == ("paused", "2027-02-14T10:00:00Z", None)
    assert cli.ok("clock", "advance", "--to", "2027-03-15T10:00:00Z").get("renewals", 0) == 0  # nothing billed

    resumed = cli.ok("subscription", "resume", sub["id"])
    assert resumed["status"] == "active"
    assert (resumed["current_period_start"], resumed["current_period_end"]) == ("2027-03-15T10:00:00Z", "2027-04-15T10:00:00Z")
    invoices = cli.invoices()
    assert len(invoices) == 2
    # Half of the first period was unused when it paused: 24.95 of credit pays part of the new one.
    assert {k: invoices[1][k] for k in ("number", "status", "period_start", "total", "credit_applied", "amount_paid")} == {
        "number": "2027-000002", "status": "paid", "period_start": "2027-03-15T10:00:00Z", "total": 4990,
        "credit_applied": 2495, "amount_paid": 2495}

    cli.refused("subscription", "resume", sub["id"], words=("not paused",))


def test_worker_once_catches_up_a_backdated_subscription_and_is_idempotent(assina):
    create_pro_plan(assina)
    create_ana(assina)
    # Two months back: more than the one period a start may lie in the past by default (issue 14).
    sub = assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro",
                    "--start", "2026-11-30T10:00:00Z", env={"ASSINA_MAX_BACKDATE_DAYS": "62"})
    assert sub["current_period_end"] == "2026-12-30T10:00:00Z"  # already over: due now

    assert assina.ok("worker", "--once")["renewals"] == 2
    invoices = assina.invoices()
    # The frozen test clock bills each period when it fell due, so the numbers follow the years.
    assert [(i["number"], i["period_start"], i["created_at"], i["status"]) for i in invoices] == [
        ("2026-000001", "2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z", "paid"),
        ("2026-000002", "2026-12-30T10:00:00Z", "2026-12-30T10:00:00Z", "paid"),
        ("2027-000001", "2027-01-30T10:00:00Z", "2027-01-30T10:00:00Z", "paid"),
    ]

    assert assina.ok("worker", "--once").get("renewals", 0) == 0
    assert assina.invoices() == invoices
    shown = assina.ok("subscription", "show", sub["id"])
    assert (shown["current_period_start"], shown["current_period_end"]) == ("2027-01-30T10:00:00Z", "2027-02-28T10:00:00Z")


# --- bad input: a clear message on stderr, exit code 2, nothing on stdout, nothing changed ------
# One database per module (per xdist worker): a refusal must change nothing, which each test
# proves by comparing every row of every table before and after, and, where it matters, what
# the CLI itself shows (invoice list, subscription show, clock show) against the world's start.

INVOICE_LIST = ("invoice", "list")
CLOCK_SHOW = ("clock", "show")


@dataclass
class World:
    cli: object  # conftest.Assina
    active: str  # sub_… of ana on pro, active
    ended: str  # sub_… of ana on pro, canceled
    shown: dict  # what the views printed once the world was built

    def show(self, view: tuple[str, ...]) -> dict:
        return self.cli.ok(*view)


def build_world(cli) -> World:
    create_pro_plan(cli)
    create_ana(cli)
    cli.ok("customer", "create", "--email", "joe@example.com", "--currency", "USD", "--card", CARD_OK)
    active = subscribe_ana(cli)["id"]
    ended = subscribe_ana(cli)["id"]
    canceled = cli.ok("subscription", "cancel", ended, "--now")
    assert canceled["status"] == "canceled"
    # What the views print now (the cancel printed the subscription as `show` does).
    shown = {INVOICE_LIST: cli.ok(*INVOICE_LIST), ("subscription", "show", ended): canceled,
             CLOCK_SHOW: {"now": START, "mode": "sandbox", "frozen": True}}
    return World(cli, active, ended, shown=shown)


@pytest.fixture
def world(cli) -> World:
    """The world in this process, on the test database (rolled back after each test)."""
    return build_world(cli)


@pytest.fixture(scope="module")
def world_process(tmp_path_factory: pytest.TempPathFactory, scratch_assina) -> Iterator[World]:
    """The world through the console script, for the settings a process reads from its environment."""
    with scratch_assina(tmp_path_factory.mktemp("bad-input")) as cli:
        yield build_world(cli)


def refused_changing_nothing(world: World, *args: str, words: tuple[str, ...], view: tuple[str, ...] | None = None,
                             **kwargs) -> str:
    """``args`` is refused with ``words`` in the message, and no row of the database changes
    (nor what ``view`` prints)."""
    before = world.cli.db.snapshot()
    message = world.cli.refused(*args, words=words, **kwargs)
    assert world.cli.db.snapshot() == before, f"assina {' '.join(args)} was refused but changed the database"
    if view is not None:
        assert world.show(view) == world.shown[view]
    return message


SUBSCRIBE_ANA = ("subscription", "create", "--customer", "ana@example.com", "--plan")
PLAN = ("plan", "create", "--code", "bad", "--name", "Bad", "--currency", "BRL")


@pytest.mark.parametrize("args, words, view", [
    pytest.param((*SUBSCRIBE_ANA, "enterprise"), ("unknown plan", "enterprise"), INVOICE_LIST, id="unknown-plan"),
    pytest.param(("subscription", "create", "--customer", "joe@example.com", "--plan", "pro"),
                 ("currency mismatch", "BRL", "USD"), INVOICE_LIST, id="currency-mismatch"),
    pytest.param((*SUBSCRIBE_ANA, "pro", "--start", "2027-03-01T00:00:00Z"), ("future", "advance the clock"), INVOICE_LIST,
                 id="start-in-future"),
    pytest.param((*SUBSCRIBE_ANA, "pro", "--start", "31/01/2027"), ("not a date", "31/01/2027"), None, id="malformed-start"),
    pytest.param((*SUBSCRIBE_ANA, "pro", "--addon", "seats:two"), ("add-on quantity", "whole number"), None,
                 id="addon-quantity-not-a-number"),
])
def test_bad_subscription_is_refused_and_bills_nothing(world: World, args, words, view):
    refused_changing_nothing(world, *args, words=words, view=view)


@pytest.mark.parametrize("args, words", [
    pytest.param((*PLAN, "--amount", "-5", "--interval", "month"), ("negative",), id="negative-amount"),
    pytest.param((*PLAN, "--amount", "abc", "--interval", "month"), ("abc", "not a valid amount"), id="non-numeric-amount"),
    pytest.param((*PLAN, "--amount", "10", "--interval", "month", "--interval-count", "0"), ("interval count", "between 1"),
                 id="interval-count-0"),
    # A usage error from argparse keeps the contract too: exit 2 and, with --json, a JSON error.
    pytest.param((*PLAN, "--amount", "10", "--interval", "fortnight"), ("--interval", "invalid choice", "fortnight"),
                 id="unknown-interval"),
])
def test_bad_plan_is_refused_and_creates_nothing(world: World, args, words):
    refused_changing_nothing(world, *args, words=words)


def test_declined_card_is_refused_and_creates_no_customer(world: World):
    refused_changing_nothing(world, "customer", "create", "--email", "bob@example.com", "--card", CARD_DECLINED,
                             words=("declined",))
    world.cli.refused("invoice", "list", "--customer", "bob@example.com", words=("unknown customer", "bob@example.com"))


@pytest.mark.parametrize("when", ["--now", "--at-period-end"])
def test_cancelling_a_canceled_subscription_is_refused(world: World, when):
    refused_changing_nothing(world, "subscription", "cancel", world.ended, when, words=("already canceled", world.ended),
                             view=("subscription", "show", world.ended))


@pytest.mark.parametrize("args, words", [
    pytest.param(("change",), ("say what to change",), id="change-nothing"),
    pytest.param(("cancel", "--at-period-end", "--prorate"), ("--prorate", "--now"), id="prorate-without-now"),
    pytest.param(("cancel",), ("--at-period-end", "--now", "required"), id="cancel-without-when"),
    pytest.param(("change", "--quantity", "2", "--at-period-end", "--invoice-now"), ("--invoice-now", "not allowed with"),
                 id="change-both-later-and-now"),
])
def test_incomplete_subscription_command_is_refused(world: World, args, words):
    action, *rest = args
    refused_changing_nothing(world, "subscription", action, world.active, *rest, words=words)


@pytest.mark.parametrize("to, words", [
    pytest.param("2027-01-01", ("cannot go backwards",), id="backwards"),
    pytest.param("2027-13-01", ("not a date", "2027-13-01"), id="malformed-date"),
])
def test_bad_clock_move_is_refused(world: World, to, words):
    refused_changing_nothing(world, "clock", "advance", "--to", to, words=words, view=CLOCK_SHOW)
    assert world.shown[CLOCK_SHOW]["now"] == START


def test_clock_of_a_sandbox_database_is_not_moved_by_a_live_process(world_process: World):
    # The database is a sandbox: a process in live mode refuses to act on it at all (a live
    # database's clock refusing to move: tests/e2e/test_cli_mode.py).
    live = {"ASSINA_MODE": "live", "ASSINA_SECRET_KEY": "k" * 20 + "-live-secret-of-fifty-characters-1",
            "ASSINA_GATEWAY": "stripe", "ASSINA_STRIPE_API_KEY": "sk_test_x", "ASSINA_STRIPE_PUBLISHABLE_KEY": "pk_test_x",
            "ASSINA_BASE_URL": "https://billing.example.com"}
    refused_changing_nothing(world_process, "clock", "advance", "--to", "2027-07-01", env=live,
                             words=("database is a sandbox", "ASSINA_MODE is live"))


def test_live_mode_without_a_secret_key_is_a_configuration_error(world_process: World):
    refused_changing_nothing(world_process, *INVOICE_LIST, env={"ASSINA_MODE": "live"},
                             words=("configuration", "ASSINA_SECRET_KEY"))


def test_invoice_list_refuses_an_unknown_status_instead_of_listing_nothing(world: World):
    world.cli.refused(*INVOICE_LIST, "--status", "bogus", words=("--status", "invalid choice", "bogus"))


def test_errors_without_json_are_one_plain_line_on_stderr(world: World):
    result = world.cli.run(*SUBSCRIBE_ANA, "enterprise", json_output=False)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "error: unknown plan 'enterprise'\n"), str(result)


PORTUGUESE = {"ASSINA_LANGUAGE": "pt-br"}


@pytest.mark.parametrize("args, english, portuguese", [
    pytest.param((*SUBSCRIBE_ANA, "enterprise"), "unknown plan 'enterprise'", "plano desconhecido 'enterprise'",
                 id="service"),
    pytest.param((*PLAN, "--amount", "49.999", "--interval", "month"), "BRL amounts have at most 2 decimals",
                 "valores em BRL têm no máximo 2 casas decimais", id="core"),
    pytest.param(("customer", "create", "--email", "bob@example.com", "--card", CARD_DECLINED), "Your card was declined.",
                 "Seu cartão foi recusado.", id="sandbox-decline"),
])
def test_errors_are_in_portuguese_with_assina_language_pt_br(world_process: World, args, english, portuguese):
    assert refused_changing_nothing(world_process, *args, words=()) == english
    assert refused_changing_nothing(world_process, *args, words=(), env=PORTUGUESE) == portuguese


def test_plain_output_is_in_portuguese_with_assina_language_pt_br(world_process: World):
    result = world_process.cli.run(*SUBSCRIBE_ANA, "enterprise", json_output=False, env=PORTUGUESE)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", "erro: plano desconhecido 'enterprise'\n"), str(result)
    listed = world_process.cli.run(*INVOICE_LIST, json_output=False, env=PORTUGUESE)
    count = len(world_process.shown[INVOICE_LIST]["invoices"])
    assert listed.returncode == 0 and listed.stdout.splitlines()[-1] == f"{count} fatura(s)", str(listed)


def test_an_unsupported_language_is_a_configuration_error(world_process: World):
    refused_changing_nothing(world_process, *INVOICE_LIST, env={"ASSINA_LANGUAGE": "fr"},
                             words=("configuration", "ASSINA_LANGUAGE"))


def test_a_database_that_was_never_migrated_says_to_run_migrate(tmp_path, scratch_assina):
    with scratch_assina(tmp_path, migrate=False) as cli:
        result = cli.run(*INVOICE_LIST)
        assert (result.returncode, result.stdout) == (3, ""), str(result)
        assert "assina migrate" in result.stderr and "Traceback" not in result.stderr, str(result)
