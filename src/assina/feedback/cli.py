"""The feedback app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

- ``assina feedback import FILE.csv``: responses from another tool (``email,survey,score,comment,submitted_at``);
  any bad row (reported with its line) means nothing is imported; importing again changes nothing.
- ``assina feedback report [--from --to] [--plan]``: NPS, CSAT and response rate with their breakdowns.
- ``assina feedback themes [--from --to] [--refresh]``: the ranked pain points with the ids of their responses.
- ``assina feedback tallies [--rebuild]``: check the NPS report's counts against the responses (exit 2 when they
  differ), or recompute them.
- ``assina feedback send --segment NAME [--survey nps|csat]``: a manual survey to a saved segment.
"""

from __future__ import annotations

from assina.cli_support import NAME, date_or_time, text


def register(cli) -> None:
    group = cli.group("feedback", "NPS and CSAT surveys, their scores and the pain points in the comments")
    p = cli.add("import", "import survey responses from a CSV file (email,survey,score,comment,submitted_at)", group)
    p.add_argument("file", type=text(4096), help="path of the CSV file (UTF-8)")
    for name, helptext in (("report", "NPS, CSAT and response rate, by month, plan, country, locale and cohort"),
                           ("themes", "the pain points in the comments, ranked (passives and detractors first)")):
        p = cli.add(name, helptext, group)
        p.add_argument("--from", dest="since", type=date_or_time, help="first day (2027-01-01)")
        p.add_argument("--to", dest="until", type=date_or_time, help="last day, included")
        if name == "report":
            p.add_argument("--plan", type=text(60), help="only customers of this plan code")
        else:
            p.add_argument("--refresh", action="store_true", help="find the themes of every comment again first")
            p.add_argument("--by", choices=("impact", "frequency"), default="impact",
                           help="impact: passives and detractors first (default); frequency: most customers first")
    p = cli.add("tallies", "check the NPS report's counts against the responses (exit 2 when they differ)", group)
    p.add_argument("--rebuild", action="store_true", help="recompute the counts from the responses")
    p = cli.add("send", "send a survey now to the customers of a saved segment (the 90-day NPS throttle holds)", group)
    p.add_argument("--segment", required=True, type=text(NAME))
    p.add_argument("--survey", choices=("nps", "csat"), default="nps")
    p = cli.add("announce", "'you asked, we did': tell the customers who raised a theme what changed; marks it addressed",
                group)
    p.add_argument("--theme", required=True, type=text(60), help="the theme's code, e.g. support-speed")
    p.add_argument("--note-en", required=True, type=text(2000), help="what changed, in English")
    p.add_argument("--note-pt", required=True, type=text(2000), help="what changed, in Portuguese")

    @cli.command("feedback import")
    def cmd_import(args):
        from pathlib import Path

        from django.utils.translation import gettext as _

        from assina.time import now

        from .services import FeedbackError, import_csv

        try:
            data = Path(args.file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise FeedbackError(_("cannot read %(file)s: %(error)s") % {"file": args.file, "error": exc}) from None
        result = import_csv(data, now())
        if result.errors:
            lines = "; ".join(_("line %(line)d: %(error)s") % e for e in result.errors[:50])
            raise FeedbackError(_("nothing imported, %(count)d bad rows: %(lines)s") % {"count": len(result.errors), "lines": lines})
        return result.as_dict()

    @cli.command("feedback report")
    def cmd_report(args):
        from assina.success.feedback_bands import by_health_band

        from .reports import feedback_report

        report = feedback_report(since=args.since, until=args.until, plan=args.plan)
        report["by_health_band"] = by_health_band(report["from"], report["to"], args.plan)
        return _plain(report)

    @cli.command("feedback themes")
    def cmd_themes(args):
        from assina.time import now

        from .reports import _month
        from .themes import ranked_themes, refresh

        if args.refresh:
            refresh(now())
        since = _month(args.since, end=False)
        until = _month(args.until, end=True)
        return {"themes": ranked_themes(since=since, until=until, examples=3, order=args.by)}

    @cli.command("feedback tallies")
    def cmd_tallies(args):
        from django.utils.translation import gettext as _

        from . import tallies
        from .services import FeedbackError

        if args.rebuild:
            rows = tallies.rebuild()
            return {"rebuilt": True, "count_rows": rows, "responses": tallies.total()}
        wrong = tallies.check()
        if wrong:
            raise FeedbackError(_("%(count)d score counts differ from the responses (run with --rebuild): %(first)s")
                                % {"count": len(wrong), "first": wrong[:5]})
        return {"ok": True, "responses": tallies.total()}

    @cli.command("feedback send")
    def cmd_send(args):
        from assina.time import now

        from .sending import send_to_segment

        return send_to_segment(args.segment, args.survey, now())

    @cli.command("feedback announce")
    def cmd_announce(args):
        from assina.time import now

        from .sending import announce_addressed

        return announce_addressed(args.theme, args.note_en, args.note_pt, now())


def _plain(report: dict) -> dict:
    return {k: (v.isoformat().replace("+00:00", "Z") if hasattr(v, "isoformat") else v) for k, v in report.items()}
