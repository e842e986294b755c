"""The engagement app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

- ``assina engagement onboarding [--customer cus_1 ...]``: onboarding per signup cohort (completion,
  time to first value, each milestone done, late, missed or pending); with ``--customer``, those
  customers' milestones one by one.
- ``assina engagement milestone --name N --event E --due-days D [--first-value] [--position P]``:
  define an onboarding milestone (the admin does the same).
"""

from __future__ import annotations

from assina.cli_support import CODE, ID, integer, text


def register(cli) -> None:
    group = cli.group("engagement", "what customers do in the product: onboarding milestones and their completion")
    p = cli.add("onboarding", "onboarding completion and time to first value per signup cohort (or per customer)", group)
    p.add_argument("--customer", action="append", type=text(ID), help="a customer id (cus_1); repeat for more")
    p = cli.add("milestone", "define an onboarding milestone: the event that marks it and its due day", group)
    p.add_argument("--name", required=True, type=text(100), help="e.g. 'First report exported'")
    p.add_argument("--event", required=True, type=text(CODE), help="the engagement event's name, e.g. report_exported")
    p.add_argument("--due-days", required=True, type=integer(0, 3650), help="days after signing up")
    p.add_argument("--first-value", action="store_true", help="time to first value is measured to this milestone")
    p.add_argument("--position", type=integer(0, 1000), default=0, help="order among the milestones")

    @cli.command("engagement onboarding", human=_print_onboarding)
    def cmd_onboarding(args):
        from django.utils.translation import gettext as _

        from .onboarding import onboarding_cohorts, onboarding_status
        from .services import EngagementError

        if not args.customer:
            return onboarding_cohorts()
        ids = []
        for ref in args.customer:
            digits = ref.removeprefix("cus_")
            if not digits.isdigit() or len(digits) > 18:
                raise EngagementError(_("no customer with id %(id)s") % {"id": repr(ref)})
            ids.append(int(digits))
        found = onboarding_status(ids)
        missing = [f"cus_{pk}" for pk in ids if pk not in found]
        if missing:
            raise EngagementError(_("no customer with id %(id)s") % {"id": repr(missing[0])})
        return {"customers": [_status_dict(found[pk]) for pk in ids]}

    @cli.command("engagement milestone")
    def cmd_milestone(args):
        from .services import create_milestone

        m = create_milestone(name=args.name, event_name=args.event, due_days=args.due_days,
                             first_value=args.first_value, position=args.position)
        return {"id": m.pk, "name": m.name, "event_name": m.event_name, "due_days": m.due_days,
                "first_value": m.first_value, "position": m.position}


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _status_dict(s) -> dict:
    return {"customer": f"cus_{s.customer_id}", "signed_up_at": _iso(s.signed_up_at), "reached": s.reached,
            "total": s.total, "completed": s.completed, "completed_at": _iso(s.completed_at),
            "first_value_at": _iso(s.first_value_at), "days_to_first_value": s.days_to_first_value,
            "milestones": [{"name": m.name, "event_name": m.event_name, "due_at": _iso(m.due_at),
                            "reached_at": _iso(m.reached_at), "state": m.state} for m in s.milestones]}


def _print_onboarding(result: dict) -> None:
    from django.utils.translation import gettext as _

    if "customers" in result and isinstance(result["customers"], list):
        labels = {"done": _("done"), "late": _("late"), "missed": _("missed"), "pending": _("pending")}
        for c in result["customers"]:
            states = ", ".join(f"{m['name']}: {labels[m['state']]}" for m in c["milestones"])
            print(f"{c['customer']}: {c['reached']}/{c['total']} — {states}")
        return
    if not result["milestones"]:
        print(_("No onboarding milestones yet: define them in the admin or with 'assina engagement milestone'."))
        return
    print(_("%(completed)d of %(customers)d customers completed onboarding")
          % {"completed": result["completed"], "customers": result["customers"]})
    for c in result["cohorts"]:
        days = c["median_days_to_first_value"]
        print(_("%(cohort)s: %(completed)d/%(customers)d completed, %(reached)d reached first value, median %(days)s days")
              % {"cohort": c["cohort"], "completed": c["completed"], "customers": c["customers"],
                 "reached": c["reached_first_value"], "days": "—" if days is None else days})
