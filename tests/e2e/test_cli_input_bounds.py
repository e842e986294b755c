"""The CLI applies the API's bounds (issue 14): out-of-range dates, quantities and numbers, overlong
text and arguments that are not UTF-8 exit 2 with a clear message, no traceback, nothing changed.
On SQLite and (ASSINA_TEST_ENGINE=postgres) PostgreSQL. The many cases run the CLI's ``main`` in
this process (the parser and the messages are the same); the real console script takes raw bytes
in argv, Portuguese from ASSINA_LANGUAGE and a year-1 coupon."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ASSINA


def test_a_coupon_dated_year_1_and_a_pause_until_9999_are_refused(assina):
    assina.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL",
              "--interval", "month")
    assina.ok("customer", "create", "--email", "ana@example.com", "--name", "Ana", "--card", "4242424242424242")
    sub = assina.ok("subscription", "create", "--customer", "ana@example.com", "--plan", "pro",
                    "--start", "2027-01-31T10:00:00Z")
    before = assina.db.snapshot()
    assina.refused("coupon", "create", "--code", "OLD", "--duration", "once", "--percent-off", "10",
                   "--redeem-by", "0001-01-01T00:00:00Z", words=("--redeem-by", "between the years 1970 and 2099"))
    assina.refused("subscription", "pause", sub["id"], "--resume-at", "9999-12-31T00:00:00Z",
                   words=("--resume-at", "between the years 1970 and 2099"))
    assert assina.db.snapshot() == before


# --- every argument is bounded like the API (issue 14) -------------------------------------------
NOT_UTF8 = b"Ana \xff\xfe Souza"  # Latin-1 bytes from a terminal that is not UTF-8
HUGE = "9223372036854775808"  # one more than the largest 64-bit integer


def run_bytes(assina, *args: bytes | str, json_output: bool = True) -> subprocess.CompletedProcess:
    """The CLI run with raw bytes in argv, as a shell passes them (no decoding by the test)."""
    argv = [a if isinstance(a, bytes) else a.encode() for a in args]
    return subprocess.run([bytes(ASSINA), *([b"--json"] if json_output else []), *argv], cwd=assina.cwd, env=assina.env,
                          capture_output=True, timeout=120)


def open_shop(cli):
    cli.ok("plan", "create", "--code", "pro", "--name", "Pro", "--amount", "49.90", "--currency", "BRL",
           "--interval", "month")
    cli.ok("plan", "create", "--code", "seat", "--name", "Seat", "--amount", "5.00", "--currency", "BRL",
           "--interval", "month", "--addon")
    cli.ok("customer", "create", "--email", "ana@example.com", "--name", "Ana", "--card", "4242424242424242")
    return cli


@pytest.fixture
def shop(assina_in_process):
    """The shop in this process (``main`` on the test database)."""
    return open_shop(assina_in_process)


@pytest.fixture
def shop_process(assina):
    """The shop through the console script, on a scratch database."""
    return open_shop(assina)


def arguments_as_python_reads_them(args) -> list[str]:
    """What the interpreter makes of argv bytes at start-up (the file system encoding, undecodable
    bytes kept as surrogates), for ``main`` in this process."""
    return [os.fsdecode(a) if isinstance(a, bytes) else a for a in args]


@pytest.mark.parametrize("args", [
    ("customer", "create", "--email", "bia@example.com", "--name", NOT_UTF8),
    ("customer", "create", "--email", b"bia\xe9@example.com"),
    ("plan", "create", "--code", "basic", "--name=" .encode() + NOT_UTF8, "--amount", "9.90", "--interval", "month"),
    ("subscription", "create", "--customer", "ana@example.com", "--plan", b"pr\xf3"),
], ids=["name", "email", "name=", "plan"])
def test_arguments_that_are_not_utf8_are_refused_with_exit_2(shop, args):
    before = shop.db.snapshot()
    for json_output in (True, False):
        result = shop.run(*arguments_as_python_reads_them(args), json_output=json_output)
        assert result.returncode == 2, (args, result)
        result.stderr.encode("utf-8")  # the message itself is valid UTF-8 (no surrogate from argv)
        assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
        assert "not valid UTF-8" in (json.loads(result.stderr)["error"] if json_output else result.stderr)
    assert shop.db.snapshot() == before


def test_bytes_that_are_not_utf8_from_a_shell_are_refused_by_the_console_script(assina):
    before = assina.db.snapshot()
    for args in (("customer", "create", "--email", "bia@example.com", "--name", NOT_UTF8),
                 ("plan", "create", "--code", "basic", "--name=".encode() + NOT_UTF8, "--amount", "9.90", "--interval", "month")):
        for json_output in (True, False):
            result = run_bytes(assina, *args, json_output=json_output)
            stderr = result.stderr.decode("utf-8")  # the message itself is valid UTF-8
            assert result.returncode == 2, (args, result)
            assert result.stdout == b"" and "Traceback" not in stderr, stderr
            assert "not valid UTF-8" in (json.loads(stderr)["error"] if json_output else stderr)
    assert assina.db.snapshot() == before


@pytest.mark.parametrize("args, words", [
    (("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--quantity", HUGE),
     ("--quantity", "from 1 to 1,000,000")),
    (("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--quantity", "1000001"),
     ("--quantity", "from 1 to 1,000,000")),
    (("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--addon", f"seat:{HUGE}"),
     ("add-on quantity", "1,000,000")),
    (("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--trial-days", HUGE),
     ("--trial-days", "from 0 to 730")),
    (("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--start", "0001-01-01"),
     ("between the years 1970 and 2099",)),
    (("subscription", "create", "--customer", "ana@example.com", "--plan", "pro", "--start", "9999-12-31T23:00:00"),
     ("between the years 1970 and 2099",)),
    (("plan", "create", "--code", "big", "--name", "Big", "--amount", "1", "--interval", "month",
      "--interval-count", "1" * 30), ("--interval-count", "must be from")),
    (("customer", "create", "--email", "bia@example.com", "--name", "x" * 100_000),
     ("--name", "longer than 200 characters", "100,000 given")),
    (("plan", "create", "--code", "p" * 100_000, "--name", "P", "--amount", "1", "--interval", "month"),
     ("--code", "longer than 64 characters")),
    (("customer", "create", "--email", "bia@example.com", "--tax-id", "9" * 100_000), ("--tax-id", "longer than 64")),
    (("subscription", "show", "9" * 30), ("unknown subscription",)),
    (("subscription", "show", "9" * 100_000), ("longer than 40 characters",)),
    (("invoice", "pay", "9" * 30), ("unknown invoice",)),
    (("customer", "cards", "--customer", "9" * 30), ("unknown customer",)),
    (("email", "list", "--limit", HUGE), ("--limit",)),
    (("dunning", "policy", "--grace-days", HUGE), ("--grace-days",)),
    (("simulate", "--customers", HUGE), ("--customers",)),
], ids=lambda v: v[1] if isinstance(v, tuple) and v and v[0] in ("subscription", "plan", "customer") else None)
def test_out_of_bounds_arguments_exit_2_with_a_clear_message_and_change_nothing(shop, args, words):
    before = shop.db.snapshot()
    shop.refused(*args, words=words)
    plain = shop.run(*args, json_output=False)  # and the same without --json: a message, no traceback
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and "error" in plain.stderr, str(plain)
    assert shop.db.snapshot() == before


def test_bounds_errors_are_translated(shop_process):
    message = shop_process.refused("subscription", "create", "--customer", "ana@example.com", "--plan", "pro",
                           "--quantity", HUGE, words=("--quantity",), env={"ASSINA_LANGUAGE": "pt-br"})
    assert "deve ser de 1 a 1.000.000" in message
