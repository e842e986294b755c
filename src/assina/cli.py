"""The ``assina`` command: the parser, assembled from the apps' commands, and how results and
errors are printed. Every command accepts ``--json``.

Each app adds its commands from its ``cli.py`` (``register(cli)``, see ``assina.cli_support``);
this module keeps only the operator's own: ``migrate``, ``simulate``, ``worker``, ``serve`` and
``createadmin``.

Exit codes: 0 done; 2 refused (bad input, a business rule said no, bad configuration) with
nothing changed; 3 database error; anything else is a bug (Python prints the traceback).
Errors go to stderr: ``error: <message>``, or ``{"error": "<message>"}`` with ``--json``. Messages are
in English, or in Brazilian Portuguese with ``ASSINA_LANGUAGE=pt-br``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

from assina import cli_support
from assina.cli_support import CliBuilder


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django
    from django.conf import settings
    from django.utils import translation

    from assina import admin_site

    admin_site.DISCOVER = False  # a command shows no admin page; `assina serve` loads them with the URLs
    django.setup()
    translation.activate(settings.LANGUAGE_CODE)  # ASSINA_LANGUAGE; English by default


def cmd_migrate(args):
    from django.core.management import call_command

    from assina.clock.cli import check_before_migrate

    check_before_migrate()  # a database of the other mode is refused before anything changes
    call_command("migrate", interactive=False, verbosity=0 if args.json else 1)
    return {"migrated": True}


def cmd_simulate(args):
    from assina.simulation.runner import simulate

    return simulate(customers=args.customers, months=args.months, seed=args.seed, progress=not args.json)


def cmd_worker(args):
    from assina.worker import run_worker

    return run_worker(once=args.once, interval=args.interval)


def cmd_serve(args):
    from assina.server import serve

    serve(host=args.host, port=args.port, worker=not args.no_worker)


def cmd_createadmin(args):
    from assina.accounts import ensure_admin

    username, password = ensure_admin(args.username, args.password)
    return {"username": username, "password": password}


def _register_migrate(cli: CliBuilder) -> None:
    cli.add("migrate", "create or update the database tables")
    cli.command("migrate")(cmd_migrate)


def _register_operations(cli: CliBuilder) -> None:
    p = cli.add("simulate", "fill the database with a simulated business")
    p.add_argument("--customers", type=cli_support.integer(1, 1_000_000), default=500)
    p.add_argument("--months", type=cli_support.integer(1, 1200), default=18)
    p.add_argument("--seed", type=int, default=1)

    p = cli.add("worker", "process due work (renewals, retries)")
    p.add_argument("--once", action="store_true", help="process everything due now and exit (for cron)")
    p.add_argument("--interval", type=cli_support.number(0.01, 86_400), default=5.0, help="seconds between polls")

    p = cli.add("serve", "run the web server with an embedded worker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=cli_support.integer(0, 65_535), default=int(os.environ.get("ASSINA_PORT", "8000")))
    p.add_argument("--no-worker", action="store_true")

    p = cli.add("createadmin", "create (or reset) an admin user and print its login")
    p.add_argument("--username", default="admin", type=cli_support.text(150))
    p.add_argument("--password", type=cli_support.text(128))

    for name, handler in (("simulate", cmd_simulate), ("worker", cmd_worker), ("serve", cmd_serve),
                          ("createadmin", cmd_createadmin)):
        cli.command(name)(handler)


# The apps' command modules, in the order ``assina --help`` lists them: BILLING right after
# ``migrate``, then this module's operations (simulate, worker, serve, createadmin), then
# EXTENSIONS. Each has a ``register(cli: CliBuilder)`` and imports no Django at module level.
BILLING = (
    "assina.catalog.cli",
    "assina.customers.cli",
    "assina.subscriptions.cli",
    "assina.clock.cli",
    "assina.invoices.cli",
)
EXTENSIONS = (
    "assina.payments.cli",
    "assina.api.cli",
    "assina.notifications.cli",
    "assina.analytics.cli",
    "assina.usage.cli",
    "assina.webhooks.cli",
    "assina.portal.cli",
    "assina.retention.cli",
    "assina.upgrades.cli",
    "assina.feedback.cli",
    "assina.selling.cli",
    "assina.repricing.cli",
    "assina.engagement.cli",
    "assina.imports.cli",
    "assina.success.cli",
    "assina.playbooks.cli",
    "assina.workspace.cli",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors keep the CLI's contract: stderr, exit code 2, and JSON when ``--json`` was asked for."""

    json_errors = False

    def error(self, message: str):
        if self.json_errors:
            self.exit(2, json.dumps({"error": f"{self.prog}: {message}"}) + "\n")
        super().error(message)

    # --- input bounds (issue 14): every argument is bounded, even one whose app names no bound.
    def _add_action(self, action: argparse.Action) -> argparse.Action:
        # Every argument passes here, those of mutually exclusive groups too.
        if action.nargs != 0 and not isinstance(action, argparse._SubParsersAction):
            if action.type is None:
                action.type = cli_support.text()
            elif action.type is int:
                action.type = cli_support.integer()
        return super()._add_action(action)


def build(*, json_errors: bool = False) -> tuple[argparse.ArgumentParser, CliBuilder]:
    """The parser of every command, and the builder holding their handlers and printers."""
    # Subparsers are created with the parent's class, so they share the flag through a subclass.
    parser_class = type("Parser", (_Parser,), {"json_errors": json_errors})
    parser = parser_class(prog="assina", description="Subscription billing and retention for small businesses.")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub = parser.add_subparsers(dest="group", required=True)

    def add(name: str, help: str, parent=sub):
        p = parent.add_parser(name, help=help)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")
        return p

    cli = CliBuilder(sub, add)
    _register_migrate(cli)
    for module in BILLING:
        importlib.import_module(module).register(cli)
    _register_operations(cli)
    for module in EXTENSIONS:
        importlib.import_module(module).register(cli)
    return parser, cli


def _print_human(result: Any) -> None:
    if result is None:
        return
    if isinstance(result, dict):
        for key, value in result.items():
            print(f"{key}: {value if not isinstance(value, (dict, list)) else json.dumps(value, default=str)}")
        return
    print(result)


def _print_error(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}), file=sys.stderr)
        return
    from django.conf import settings

    if settings.configured:  # not when the settings themselves are the error
        from django.utils.translation import gettext as _

        print(_("error: %(message)s") % {"message": message}, file=sys.stderr)
    else:
        print(f"error: {message}", file=sys.stderr)


def _database_error_message(exc: Exception) -> str:
    from django.utils.translation import gettext as _

    text = str(exc).strip()
    message = _("database error: %(error)s") % {"error": text}
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        message += " " + _("(has this database been set up? run: assina migrate)")
    return message


def _refuse_undecodable(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Bytes that are not UTF-8 in an argument are a usage error (exit 2), named by its option,
    before argparse quotes the value in a message or a handler stores it."""
    for position, value in enumerate(argv):
        if cli_support.not_utf8(value):
            option, sep, _value = value.partition("=")
            if not (sep and option.startswith("--")):
                previous = argv[position - 1] if position else ""
                option = previous if previous.startswith("-") and not cli_support.not_utf8(previous) else str(position + 1)
            parser.error(cli_support._("argument %(argument)s: not valid UTF-8 text") % {"argument": option})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, cli = build(json_errors="--json" in argv)
    _refuse_undecodable(parser, argv)
    args = parser.parse_args(argv)
    name = args.group if getattr(args, "action", None) is None else f"{args.group} {args.action}"
    from django.core.exceptions import ImproperlyConfigured

    try:
        _setup_django()
    except ImproperlyConfigured as exc:  # a bad ASSINA_* setting: say which, no traceback
        _print_error(f"configuration: {exc}", args.json)
        return 2
    from django.core.exceptions import ValidationError
    from django.db import DatabaseError

    from assina.core.errors import DomainError
    from assina.i18n import localized_message

    try:
        # The database's mode must be ASSINA_MODE before any command acts (assina.clock.installation).
        from assina.clock.cli import require_mode_agreement

        require_mode_agreement(name)
        result = cli.commands[name](args)
    except (DomainError, ValidationError) as exc:
        _print_error("; ".join(exc.messages) if isinstance(exc, ValidationError) else localized_message(exc), args.json)
        return 2
    except DatabaseError as exc:
        _print_error(_database_error_message(exc), args.json)
        return 3
    except OverflowError:  # a number typed in, too large for a date or a column (the types bound most)
        _print_error(cli_support._("a number given is out of range"), args.json)
        return 2
    if args.json:
        print(json.dumps(result, default=str, indent=None))
    else:
        cli.printers.get(name, _print_human)(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
