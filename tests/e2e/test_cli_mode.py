"""The database's mode as an operator meets it: ``assina migrate`` records it, every other command
(and the web app) refuses a database of another mode with how to fix it (exit 2, nothing changed),
``assina mode set live`` is the one way to go live, and live mode refuses unsafe settings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import START

# The production variables of docs/deploy.md (fake Stripe keys: nothing here calls Stripe).
LIVE = {"ASSINA_MODE": "live", "ASSINA_SECRET_KEY": "Zq8" + "x7-Lp2_vR9" * 5 + "mW4", "ASSINA_GATEWAY": "stripe",
        "ASSINA_STRIPE_API_KEY": "sk_test_x", "ASSINA_STRIPE_PUBLISHABLE_KEY": "pk_test_x",
        "ASSINA_BASE_URL": "https://billing.example.com"}
CLOCK_SHOW = ("clock", "show")


def test_a_live_database_opened_without_assina_mode_live_is_refused_and_its_clock_never_moves(tmp_path, scratch_assina):
    with scratch_assina(tmp_path, migrate=False) as cli:
        assert cli.ok("migrate", env=LIVE) == {"migrated": True}
        assert cli.ok("mode", "show", env=LIVE) == {"database": "live", "process": "live", "agree": True}
        before = cli.db.snapshot()
        # The forgotten variable: the attack that moved a live clock to 2030 and charged renewals.
        message = cli.refused("clock", "advance", "--to", "2030-01-01", words=("this database is live", "ASSINA_MODE=live"))
        assert "sandbox" in message
        cli.refused("apikey", "create", "--scope", "read", words=("this database is live",))
        cli.refused("customer", "create", "--email", "x@example.com", words=("this database is live",))
        # Migrating it again in the wrong mode changes nothing either.
        cli.refused("migrate", words=("this database is live",))
        assert cli.db.snapshot() == before
        # In its own mode, the live clock still refuses to move.
        cli.refused("clock", "advance", "--to", "2030-01-01", env=LIVE, words=("live", "cannot be moved"))
        assert cli.ok(*CLOCK_SHOW, env=LIVE)["frozen"] is False


def test_a_sandbox_becomes_live_only_by_the_mode_command(assina):
    assina.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL", "--interval", "month")
    assina.ok("customer", "create", "--email", "ana@example.com", "--card", "4242424242424242")
    assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--start", START)
    assert assina.ok("mode", "show") == {"database": "sandbox", "process": "sandbox", "agree": True}
    # Setting the variable is not how: a live process refuses the sandbox database.
    assina.refused("invoice", "list", env=LIVE, words=("database is a sandbox", "assina mode set live"))
    # The command refuses while the sandbox holds invoices (test money)...
    assina.refused("mode", "set", "live", words=("1 invoice", "--i-understand"))
    assert assina.ok("mode", "show")["database"] == "sandbox"
    # ...and goes on when told, clearing the test clock.
    switched = assina.ok("mode", "set", "live", "--i-understand")
    assert switched["database"] == "live" and "ASSINA_MODE=live" in switched["next"]
    assina.refused("invoice", "list", words=("this database is live",))
    assert assina.ok(*CLOCK_SHOW, env=LIVE)["frozen"] is False
    assert len(assina.ok("invoice", "list", env=LIVE)["invoices"]) == 1
    assina.refused("mode", "set", "live", env=LIVE, words=("already live",))
    # There is no way back.
    assert assina.run("mode", "set", "sandbox").returncode == 2


@pytest.mark.parametrize("change, words", [
    pytest.param({"ASSINA_GATEWAY": "sandbox"}, ("ASSINA_GATEWAY", "sandbox gateway"), id="sandbox-gateway"),
    pytest.param({"ASSINA_SECRET_KEY": "s3cr3t-but-much-too-short-9"}, ("ASSINA_SECRET_KEY", "50 characters"), id="short-key"),
    pytest.param({"ASSINA_SECRET_KEY": "assina-sandbox-insecure-key-do-not-use-in-live-mode"}, ("ASSINA_SECRET_KEY",),
                 id="published-key"),
    pytest.param({"ASSINA_SECRET_KEY": ""}, ("ASSINA_SECRET_KEY",), id="empty-key"),
    pytest.param({"ASSINA_DEBUG": "1"}, ("ASSINA_DEBUG",), id="debug"),
    pytest.param({"ASSINA_BASE_URL": "http://billing.example.com"}, ("ASSINA_BASE_URL", "https://"), id="http-base-url"),
])
def test_live_mode_refuses_unsafe_settings(tmp_path, scratch_assina, change, words):
    with scratch_assina(tmp_path, migrate=False) as cli:
        message = cli.refused("migrate", env={**LIVE, **change}, words=("configuration",) + words)
        assert "live mode" in message or "ASSINA_SECRET_KEY is required" in message


def test_a_local_live_trial_may_use_http_when_it_says_so(tmp_path, scratch_assina):
    with scratch_assina(tmp_path, migrate=False) as cli:
        trial = {**LIVE, "ASSINA_BASE_URL": "http://127.0.0.1:8000", "ASSINA_ALLOW_INSECURE_BASE_URL": "1"}
        assert cli.ok("migrate", env=trial) == {"migrated": True}


def _python(cli, code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *code], cwd=cli.cwd, env={**cli.env, **env}, capture_output=True, text=True,
                          timeout=120)


def test_the_web_app_does_not_start_on_a_database_of_another_mode(assina):
    started = _python(assina, ["-c", "import assina.wsgi"], LIVE)
    assert started.returncode != 0
    assert "this database is a sandbox but ASSINA_MODE is live" in started.stderr
    assert _python(assina, ["-c", "import assina.wsgi"], {}).returncode == 0


def test_check_deploy_is_clean_in_live_mode_with_the_documented_variables(assina):
    checked = _python(assina, ["-m", "django", "check", "--deploy"], {**LIVE, "DJANGO_SETTINGS_MODULE": "assina.settings"})
    assert checked.returncode == 0, checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout, checked.stdout + checked.stderr
    assert "WARNING" not in checked.stdout + checked.stderr
    # The same check in sandbox mode (no HTTPS settings) is what it would catch.
    sandbox = _python(assina, ["-m", "django", "check", "--deploy"], {"DJANGO_SETTINGS_MODULE": "assina.settings"})
    assert "security.W004" in sandbox.stdout + sandbox.stderr and "security.W008" in sandbox.stdout + sandbox.stderr


def test_mode_show_speaks_json(assina):
    shown = assina.run("mode", "show")
    assert shown.returncode == 0 and json.loads(shown.stdout)["database"] == "sandbox"
