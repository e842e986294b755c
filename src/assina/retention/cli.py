"""The retention app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

``assina retention report [--from D] [--to D] [--json]``: the cancel flow's figures (``report.py``).
"""

from __future__ import annotations

from assina.cli_support import DATE, text


def register(cli) -> None:
    group = cli.group("retention", "the cancel flow: reasons, offers and saves")
    p = cli.add("report", "reasons, offers, acceptance and save rates (validated at 30 days), by reason, offer and "
                          "variant, with A against B tested", group)
    p.add_argument("--from", dest="since", type=text(DATE), help="first day (YYYY-MM-DD) or month (YYYY-MM) of the "
                                                                  "sessions' start (default: 90 days before --to)")
    p.add_argument("--to", dest="until", type=text(DATE), help="last day or month, included (default: today)")

    @cli.command("retention report", human=print_report)
    def cmd_report(args):
        from .report import retention_report

        return retention_report(args.since, args.until)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _mrr(amounts: dict[str, int]) -> str:
    from assina.core.money import Money

    return ", ".join(str(Money(amount, currency)) for currency, amount in amounts.items()) or "-"


def report_lines(report: dict) -> list[str]:
    """The report as text: the totals, then one table per grouping, then A against B."""
    lines = [f"Cancel sessions started {report['from']} .. {report['to']} (as of {report['as_of']})",
             f"sessions: {report['sessions']}   outcomes: "
             + ", ".join(f"{name} {count}" for name, count in report["outcomes"].items()),
             f"offers shown: {report['offers_shown']}   accepted: {report['offers_accepted']}   "
             f"acceptance rate: {_rate(report['acceptance_rate'])}",
             f"saves (still paying after {report['save_window_days']} days): {report['saves']} of "
             f"{report['evaluated']} evaluated ({report['pending']} pending)   save rate: {_rate(report['save_rate'])}   "
             f"saved MRR: {_mrr(report['saved_mrr'])}",
             f"accepted but not paying at {report['save_window_days']} days: {report['accepted_not_paying']}   "
             f"stayed without an offer: {report['stayed_without_offer']}"]
    head = f"{'':<18}{'sessions':>9}{'share':>8}{'shown':>7}{'accepted':>9}{'accept%':>9}{'saves':>7}{'save%':>8}  saved MRR"
    for title, key in (("By reason", "reasons"), ("By offer", "offers"), ("By variant", "variants")):
        lines += ["", title, head]
        for g in report[key]:
            lines.append(f"{g['key']:<18}{g['sessions']:>9}{_rate(g['share']):>8}{g['offers_shown']:>7}"
                         f"{g['offers_accepted']:>9}{_rate(g['acceptance_rate']):>9}{g['saves']:>7}"
                         f"{_rate(g['save_rate']):>8}  {_mrr(g['saved_mrr'])}")
    test = report["variant_test"]
    lines += ["", "A against B" + (f" (reasons: {', '.join(test['reasons'])})" if test["reasons"] else
                                   ": no reason had both variants in this range")]
    if test["reasons"]:
        for name in ("save_rate", "acceptance_rate"):
            c = test[name]
            verdict = "significant at 5%" if c["significant"] else "not significant at 5%"
            p = "-" if c["p_value"] is None else f"{c['p_value']:.4f}"
            diff = "-" if c["difference"] is None else f"{c['difference'] * 100:+.1f} points"
            lines.append(f"{name}: A {_rate(c['a']['rate'])} ({c['a']['successes']}/{c['a']['trials']}), "
                         f"B {_rate(c['b']['rate'])} ({c['b']['successes']}/{c['b']['trials']}), B-A {diff}, "
                         f"p = {p} ({c['test'] or '-'}), {verdict}")
    return lines


def print_report(report: dict) -> None:
    print("\n".join(report_lines(report)))
