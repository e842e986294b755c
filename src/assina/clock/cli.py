"""``assina clock advance|show``: the sandbox test clock (see ``assina.cli_support.CliBuilder``).

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import date_or_time


def register(cli) -> None:
    clock = cli.group("clock", "the sandbox test clock")
    p = cli.add("advance", "move the clock forward, processing all due work in time order", clock)
    p.add_argument("--to", required=True, type=date_or_time)
    cli.add("show", "show the clock", clock)

    cli.command("clock advance")(cmd_clock_advance)
    cli.command("clock show")(cmd_clock_show)

    mode = cli.group("mode", "the database's mode: sandbox or live")
    cli.add("show", "show the database's mode and this process's ASSINA_MODE", mode)
    p = cli.add("set", "make this sandbox database live, for good", mode)
    p.add_argument("mode", choices=["live"], help="the new mode (a live database never goes back)")
    p.add_argument("--i-understand", action="store_true",
                   help="switch even though the database holds sandbox invoices (test money)")
    cli.command("mode show")(cmd_mode_show)
    cli.command("mode set")(cmd_mode_set)


# Commands that run whatever the database's mode: they read or change the mode itself, or
# (migrate) record it on a new database and check it on an existing one.
MODE_FREE_COMMANDS = frozenset({"migrate", "mode show", "mode set"})


def require_mode_agreement(command: str) -> None:
    """Before any other command acts: the process's ASSINA_MODE must be the database's mode."""
    if command in MODE_FREE_COMMANDS:
        return
    from .installation import require_agreement

    require_agreement()


def check_before_migrate() -> None:
    """``assina migrate`` on a database whose recorded mode differs refuses before it changes
    anything; on a database without a record it goes on (``post_migrate`` records the mode).

    A database set up before modes were recorded gets ASSINA_MODE at that migrate: one that
    already holds live API keys is refused in sandbox mode, so an upgrade without ASSINA_MODE=live
    cannot make a live database a sandbox.
    """
    from django.conf import settings
    from django.db import connection

    from .installation import ModeMismatch, mismatch_message, recorded_mode
    from .models import Installation

    tables = connection.introspection.table_names()
    if Installation._meta.db_table in tables:
        mode = recorded_mode()
        if mode is not None:
            message = mismatch_message(mode)
            if message is not None:
                raise ModeMismatch(message)
            return
    from assina.api.models import ApiKey

    if settings.ASSINA_MODE == "sandbox" and ApiKey._meta.db_table in tables and ApiKey.objects.filter(mode="live").exists():
        from django.utils.translation import gettext as _

        raise ModeMismatch(_("this database holds live API keys: run 'assina migrate' with ASSINA_MODE=live to record "
                             "it as live"))


def cmd_mode_show(args):
    from django.conf import settings

    from .installation import recorded_mode

    database = recorded_mode()
    return {"database": database, "process": settings.ASSINA_MODE, "agree": database == settings.ASSINA_MODE}


def cmd_mode_set(args):
    from django.conf import settings

    from assina.invoices.models import Invoice

    from .services import switch_to_live

    row = switch_to_live(invoice_count=Invoice.objects.count(), i_understand=args.i_understand)
    result = {"database": row.mode, "switched_at": row.switched_to_live_at.isoformat().replace("+00:00", "Z")}
    if settings.ASSINA_MODE != row.mode:
        result["next"] = "set ASSINA_MODE=live with the live settings of docs/deploy.md, then start the web and worker processes"
    return result


def cmd_clock_advance(args):
    from assina.cli_support import iso, parse_time
    from assina.scheduler import advance_clock

    to = parse_time(args.to)
    return {**advance_clock(to), "clock": iso(to)}


def cmd_clock_show(args):
    from django.conf import settings

    from assina.cli_support import iso
    from assina.time import now

    from .models import ClockState

    frozen = ClockState.objects.filter(pk=1).values_list("frozen_at", flat=True).first()
    return {"now": iso(now()), "mode": settings.ASSINA_MODE, "frozen": frozen is not None}
