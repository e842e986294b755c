"""The upgrades app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

``assina suggestions report [--from D] [--to D] [--json]``: suggestions shown and accepted, the
acceptance rate and the MRR they added, by kind (``suggestions.report``); ``assina suggestions
list CUSTOMER``: a customer's suggestions (at most three) with their reasons.
"""

from __future__ import annotations

from assina.cli_support import DATE, EMAIL, parse_time, text


def register(cli) -> None:
    group = cli.group("suggestions", "upsell and cross-sell suggestions (at most three per customer)")
    p = cli.add("report", "suggestions shown and accepted, acceptance rate and added MRR, by kind", group)
    p.add_argument("--from", dest="since", type=text(DATE), help="shown from (default: 90 days before --to)")
    p.add_argument("--to", dest="until", type=text(DATE), help="shown until (default: now)")

    @cli.command("suggestions report", human=print_report)
    def cmd_report(args):
        from .suggestions import report

        return report(parse_time(args.since) if args.since else None, parse_time(args.until) if args.until else None)

    p = cli.add("list", "a customer's suggestions and their reasons (records nothing)", group)
    p.add_argument("customer", type=text(EMAIL), help="cus_1 or 1")

    @cli.command("suggestions list")
    def cmd_list(args):
        from .suggestions import suggestions_for

        return [s.as_dict() for s in suggestions_for(args.customer)]


def _rate(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _mrr(amounts: dict) -> str:
    from assina.core.money import Money

    return ", ".join(str(Money(amount, currency)) for currency, amount in amounts.items() if currency) or "-"


def print_report(report: dict) -> None:
    lines = [f"Suggestions shown {report['from']} .. {report['to']}",
             f"shown {report['shown']}   accepted {report['accepted']}   acceptance {_rate(report['acceptance_rate'])}   "
             f"added MRR {_mrr(report['added_mrr'])}"]
    for row in report["by_kind"]:
        lines.append(f"  {row['kind']:<14} shown {row['shown']:>6}  accepted {row['accepted']:>6}  "
                     f"{_rate(row['acceptance_rate']):>7}  {_mrr(row['added_mrr'])}")
    print("\n".join(lines))
