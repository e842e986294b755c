"""The imports app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

- ``assina import customers FILE.csv``: ``email,name,created_at`` (optional ``country,locale,currency,external_id``).
- ``assina import subscriptions FILE.csv``: ``customer_email,plan_code,amount,currency,interval,started_at,ended_at``
  (optional ``interval_count,quantity,cancel_reason``); never billed or charged.
- ``assina import events FILE.csv``: ``customer_email,name,occurred_at`` (optional ``value``).

Any bad row (reported with its line) means nothing is imported (exit 2); importing the same file
again changes nothing. See docs/import.md.
"""

from __future__ import annotations

from assina.cli_support import text

KINDS = {
    "customers": "import past customers from a CSV file (email,name,created_at[,country,locale,currency,external_id])",
    "subscriptions": "import past and active subscriptions, never billed (customer_email,plan_code,amount,currency,"
                     "interval,started_at,ended_at[,interval_count,quantity,cancel_reason])",
    "events": "import what customers did in the product (customer_email,name,occurred_at[,value])",
}


def register(cli) -> None:
    group = cli.group("import", "bring a business's history into Assina (customers, subscriptions, engagement events)")
    for kind, helptext in KINDS.items():
        p = cli.add(kind, helptext, group)
        p.add_argument("file", type=text(4096), help="path of the CSV file (UTF-8)")
        cli.command(f"import {kind}")(_handler(kind))


def _handler(kind: str):
    def run(args):
        from pathlib import Path

        from django.utils.translation import gettext as _

        from assina.time import now

        from . import services
        from .services import ImportsError

        try:
            data = Path(args.file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportsError(_("cannot read %(file)s: %(error)s") % {"file": args.file, "error": exc}) from None
        result = getattr(services, f"import_{kind}")(data, now(), file_name=Path(args.file).name)
        if result.error_count:
            lines = "; ".join(_("line %(line)d: %(error)s") % e for e in result.errors[:50])
            raise ImportsError(_("nothing imported, %(count)d bad rows: %(lines)s")
                               % {"count": result.error_count, "lines": lines})
        return result.as_dict()

    return run
