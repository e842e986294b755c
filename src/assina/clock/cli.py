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
