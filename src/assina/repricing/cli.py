"""The repricing app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

``assina price-migration create --plan CODE [--amount 59.90] --effective DATE ...``: create a
migration and queue its notices; ``report ID``: its figures; ``list``: the migrations.
"""

from __future__ import annotations

from assina.cli_support import AMOUNT, CODE, DATE, ID, NAME, integer, parse_time, text


def register(cli) -> None:
    group = cli.group("price-migration", "price increases with a choice for existing subscribers")
    p = cli.add("create", "a new price for a plan, announced to its subscribers with options (at least 30 days ahead)", group)
    p.add_argument("--plan", required=True, type=text(CODE), help="the plan whose price rises")
    p.add_argument("--amount", type=text(AMOUNT),
                   help="the new price in the plan's currency, e.g. 59.90 (a new plan version); default: the plan's current version")
    p.add_argument("--effective", required=True, type=text(DATE), help="from this date (at least 30 days ahead), "
                                                                       "at each subscription's first renewal on or after it")
    p.add_argument("--who", choices=("all", "segment", "before"), default="all", help="all subscribers of the plan, a "
                                                                                      "saved segment, or those who subscribed before a date")
    p.add_argument("--segment", type=text(NAME), help="the saved segment's id or name (--who segment)")
    p.add_argument("--before", type=text(DATE), help="subscribed before this date (--who before)")
    p.add_argument("--loyalty-percent", type=text(AMOUNT), help="a loyalty discount on the new price, in percent")
    p.add_argument("--loyalty-periods", type=integer(1, 24), help="for this many periods")
    p.add_argument("--switch-plan", type=text(CODE), help="a cheaper plan offered to keep paying about the same")
    p.add_argument("--allow-annual", action="store_true", help="offer to keep the old price on an annual switch "
                                                               "(the plan's annual billing offer, or --annual-plan)")
    p.add_argument("--annual-plan", type=text(CODE), help="the annual plan whose current price is kept")
    p.add_argument("--default", choices=("accept", "switch"), default="accept", help="what applies without an answer")

    @cli.command("price-migration create", human=print_report)
    def cmd_create(args):
        from .report import migration_report
        from .services import create_migration, new_price

        migration = create_migration(
            plan_code=args.plan, new_amount=new_price(args.plan, args.amount) if args.amount is not None else None, effective_at=parse_time(args.effective), audience=args.who,
            segment=args.segment, subscribed_before=parse_time(args.before) if args.before else None,
            loyalty_percent=args.loyalty_percent, loyalty_periods=args.loyalty_periods, switch_plan_code=args.switch_plan,
            allow_annual=args.allow_annual, annual_plan_code=args.annual_plan, default_choice=args.default)
        return migration_report(migration.pk)

    p = cli.add("report", "a migration's figures: notified, accepted, switched, cancelled, no answer, MRR, churn", group)
    p.add_argument("migration", type=text(ID), help="pm_1 or 1")

    @cli.command("price-migration report", human=print_report)
    def cmd_report(args):
        from .report import migration_report

        return migration_report(args.migration)

    cli.add("list", "the latest migrations", group)

    @cli.command("price-migration list")
    def cmd_list(args):
        from .report import migrations_list

        return migrations_list()


def _mrr(amounts: dict[str, int]) -> str:
    from assina.core.money import Money

    return ", ".join(str(Money(amount, currency)) for currency, amount in amounts.items()) or "-"


def _rate(value) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def print_report(report: dict) -> None:
    churn = report["churn"]
    print("\n".join([
        f"{report['migration']}: plan {report['plan']} v{report['new_version']} from {report['effective_at']} "
        f"(notified {report['notified_at']}, {report['status']}; default {report['default']}; offers {', '.join(report['offers'])})",
        f"notified {report['notified']}   accepted {report['accepted']}   switched {report['switched']}   "
        f"annual {report['annual']}   cancelled {report['cancelled']}   no answer {report['no_answer']}",
        "outcomes: " + (", ".join(f"{k} {v}" for k, v in report["outcomes"].items()) or "-"),
        f"MRR before {_mrr(report['mrr_before'])}   after {_mrr(report['mrr_after'])}",
        f"churn: group {_rate(churn['group']['rate'])} ({churn['group']['churned']}/{churn['group']['subscriptions']}), "
        f"rest {_rate(churn['rest']['rate'])} ({churn['rest']['churned']}/{churn['rest']['subscriptions']})",
    ]))
    from django.utils.translation import gettext as _

    for row in report.get("attention", ()):
        print(_("needs your attention: %(subscription)s (%(customer)s): %(note)s") % row)
