"""``assina subscription create|show|change|addon|cancel|reactivate|pause|resume|discount|held|release`` (see
``assina.cli_support.CliBuilder``).

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import AMOUNT, CODE, EMAIL, ID, MAX_QUANTITY, NAME, QUANTITY, date_or_time, integer, text


def register(cli) -> None:
    subscription = cli.group("subscription", "subscriptions")
    p = cli.add("create", "subscribe a customer to a plan", subscription)
    p.add_argument("--customer", required=True, type=text(EMAIL), help="email or id")
    p.add_argument("--plan", required=True, type=text(CODE))
    p.add_argument("--start", type=date_or_time)
    p.add_argument("--quantity", type=QUANTITY, default=1)
    p.add_argument("--coupon", type=text(CODE))
    p.add_argument("--addon", action="append", type=text(CODE + 8), help="CODE or CODE:QUANTITY (repeatable)")
    p.add_argument("--trial-days", type=integer(0, 730))
    p = cli.add("show", "show a subscription", subscription)
    p.add_argument("id", type=text(ID))
    p = cli.add("change", "change plan or quantity", subscription)
    p.add_argument("id", type=text(ID))
    p.add_argument("--plan", type=text(CODE))
    p.add_argument("--quantity", type=QUANTITY)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at-period-end", action="store_true", help="schedule for the end of the current period")
    when.add_argument("--invoice-now", action="store_true", help="bill the proration now instead of on the next invoice")
    p = cli.add("addon", "add an add-on to a subscription or remove one, now (prorated)", subscription)
    p.add_argument("what", choices=["add", "remove"])
    p.add_argument("id", type=text(ID))
    p.add_argument("--plan", required=True, type=text(CODE), help="the add-on's code")
    p.add_argument("--quantity", type=QUANTITY, help="with add (default 1)")
    p.add_argument("--invoice-now", action="store_true", help="bill the proration now instead of on the next invoice")
    p = cli.add("cancel", "cancel a subscription", subscription)
    p.add_argument("id", type=text(ID))
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--at-period-end", action="store_true")
    when.add_argument("--now", action="store_true")
    p.add_argument("--prorate", action="store_true", help="with --now: credit the unused part of the period")
    p.add_argument("--reason", type=text(NAME))
    for name, help in (("reactivate", "undo a cancellation at period end"), ("resume", "resume a paused subscription")):
        cli.add(name, help, subscription).add_argument("id", type=text(ID))
    p = cli.add("pause", "pause a subscription", subscription)
    p.add_argument("id", type=text(ID))
    p.add_argument("--resume-at", type=date_or_time)
    p = cli.add("discount", "put a discount on a subscription from its next invoice, or remove it", subscription)
    p.add_argument("--id", required=True, type=text(ID))
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--percent-off", type=text(AMOUNT), help="e.g. 20 or 12.5")
    what.add_argument("--amount-off", type=integer(1, 10**12), help="in minor units (cents) of the subscription's currency")
    what.add_argument("--coupon", type=text(CODE), help="a catalog coupon or promotion code (its own duration)")
    what.add_argument("--remove", action="store_true", help="stop the discount from the next invoice")
    p.add_argument("--periods", type=integer(1, 120), help="for this many periods (default: forever)")
    cli.add("held", "list the subscriptions held for catch-up (too many periods were due at once)", subscription)
    p = cli.add("release", "release a subscription held for catch-up", subscription)
    p.add_argument("id", type=text(ID))
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--bill", action="store_true", help="bill every missed period now")
    how.add_argument("--skip", action="store_true", help="bill none of the missed periods; go on from the current one")

    p = cli.add("skip-delivery", "skip the next delivery of a plan that ships goods (--undo: ship it after all)",
                subscription)
    p.add_argument("id", type=text(ID))
    p.add_argument("--undo", action="store_true")
    p = cli.add("shipments", "the deliveries of a month: who ships what where (issue 19)")
    p.add_argument("--period", required=True, type=text(7), help="the month, YYYY-MM")
    p.add_argument("--csv", action="store_true", help="print CSV (one row per delivery)")
    cli.command("subscription skip-delivery")(cmd_skip_delivery)
    cli.command("shipments", human=_print_shipments)(cmd_shipments)

    for name, handler in (("create", cmd_create), ("show", cmd_show), ("change", cmd_change), ("addon", cmd_addon),
                          ("cancel", cmd_cancel),
                          ("reactivate", cmd_reactivate), ("pause", cmd_pause), ("resume", cmd_resume), ("discount", cmd_discount),
                          ("held", cmd_held), ("release", cmd_release)):
        cli.command(f"subscription {name}")(handler)


def subscription_json(sub) -> dict:
    from assina.cli_support import iso

    items = [
        {"plan": i.plan_version.plan.code, "version": i.plan_version.version, "quantity": i.quantity}
        for i in sub.items.select_related("plan_version__plan")
    ]
    return {
        "id": f"sub_{sub.pk}", "customer": sub.customer.email, "plan": sub.plan.code, "status": sub.status,
        "items": items, "currency": sub.currency, "interval": sub.interval, "interval_count": sub.interval_count,
        "current_period_start": iso(sub.current_period_start), "current_period_end": iso(sub.current_period_end),
        "trial_end": iso(sub.trial_end), "cancel_at_period_end": sub.cancel_at_period_end,
        "ended_at": iso(sub.ended_at), "coupon": sub.coupon.code if sub.coupon_id else None,
        "discount_from": iso(sub.discount_applies_from), "discount_until": iso(sub.discount_applies_until),
        "next_action_at": iso(sub.next_action_at), "catch_up_held_at": iso(sub.catch_up_held_at),
    }


def _addon_spec(spec: str) -> tuple[str, int]:
    """``CODE`` or ``CODE:QUANTITY``; a quantity that is not a whole number is refused, never guessed."""
    from django.utils.translation import gettext as _

    from assina.core.errors import DomainError

    code, sep, qty = spec.partition(":")
    if not sep:
        return code, 1
    if not (qty.strip().isascii() and qty.strip().isdigit()):
        raise DomainError(_("add-on quantity in '%(spec)s' must be a whole number (use CODE:QUANTITY, e.g. seats:3)")
                          % {"spec": spec})
    if not 1 <= int(qty) <= MAX_QUANTITY:  # the API's bound
        raise DomainError(_("add-on quantity in '%(spec)s' must be from 1 to %(max)s")
                          % {"spec": spec, "max": f"{MAX_QUANTITY:,}"})
    return code, int(qty)


def cmd_create(args):
    from assina.cli_support import parse_time
    from assina.customers.services import get_customer

    from .services import create_subscription

    addons = [_addon_spec(spec) for spec in args.addon or []]
    sub = create_subscription(customer=get_customer(args.customer), plan_code=args.plan,
                              start=parse_time(args.start) if args.start else None, quantity=args.quantity,
                              coupon_code=args.coupon, addons=addons, trial_days=args.trial_days)
    return subscription_json(sub)


def cmd_show(args):
    from .services import get_subscription

    return subscription_json(get_subscription(args.id))


def cmd_change(args):
    from .changes import change_subscription

    if args.plan is None and args.quantity is None:
        from django.utils.translation import gettext as _

        from assina.core.errors import DomainError

        raise DomainError(_("say what to change: --plan CODE and/or --quantity N"))
    sub = change_subscription(args.id, plan_code=args.plan, quantity=args.quantity, at_period_end=args.at_period_end,
                              invoice_now=args.invoice_now)
    return subscription_json(sub)


def cmd_addon(args):
    from .addons import add_addon, remove_addon

    if args.what == "add":
        change = add_addon(args.id, args.plan, args.quantity or 1, invoice_now=args.invoice_now)
    else:
        if args.quantity is not None:
            from django.utils.translation import gettext as _

            from assina.core.errors import DomainError

            raise DomainError(_("--quantity goes with add, not with remove"))
        change = remove_addon(args.id, args.plan, invoice_now=args.invoice_now)
    change.sub.refresh_from_db()
    return {**subscription_json(change.sub), "proration": change.preview.net}


def cmd_cancel(args):
    from .services import cancel_at_period_end, cancel_now

    if args.prorate and not args.now:
        from django.utils.translation import gettext as _

        from assina.core.errors import DomainError

        raise DomainError(_("--prorate only applies to --now (a cancellation at period end has no unused time)"))
    if args.now:
        sub = cancel_now(args.id, prorate=args.prorate, reason=args.reason or "")
    else:
        sub = cancel_at_period_end(args.id, reason=args.reason or "")
    return subscription_json(sub)


def cmd_reactivate(args):
    from .services import reactivate

    return subscription_json(reactivate(args.id))


def cmd_pause(args):
    from assina.cli_support import parse_time

    from .services import pause

    return subscription_json(pause(args.id, resumes_at=parse_time(args.resume_at) if args.resume_at else None))


def cmd_resume(args):
    from .services import resume

    return subscription_json(resume(args.id))


def cmd_discount(args):
    from .discounts import apply_discount, remove_discount

    if args.remove:
        if args.periods is not None:
            from django.utils.translation import gettext as _

            from assina.core.errors import DomainError

            raise DomainError(_("--periods goes with --percent-off or --amount-off, not with --remove"))
        return subscription_json(remove_discount(args.id))
    return subscription_json(apply_discount(args.id, percent_off=args.percent_off, amount_off=args.amount_off,
                                            periods=args.periods, coupon_code=args.coupon))


def cmd_held(args):
    from .models import Subscription

    held = (Subscription.objects.filter(catch_up_held_at__isnull=False)
            .select_related("customer", "plan", "coupon").order_by("catch_up_held_at", "pk"))
    return {"subscriptions": [subscription_json(sub) for sub in held]}


def cmd_release(args):
    from .release import release_catch_up

    return subscription_json(release_catch_up(args.id, "bill" if args.bill else "skip"))


def cmd_skip_delivery(args):
    from assina.cli_support import iso

    from .deliveries import skip_next_delivery, unskip_next_delivery

    if args.undo:
        return {"subscription": args.id, "unskipped": unskip_next_delivery(args.id)}
    skip, new = skip_next_delivery(args.id)
    return {"subscription": f"sub_{skip.subscription_id}", "period_start": iso(skip.period_start),
            "period_end": iso(skip.period_end), "new": new}


def cmd_shipments(args):
    from assina.cli_support import iso

    from .shipments import shipments, shipments_csv

    if args.csv:
        return {"csv": shipments_csv(args.period)}
    return {"period": args.period, "shipments": [
        {"period_start": iso(s.period_start), "invoice": s.invoice, "status": s.status,
         "subscription": f"sub_{s.subscription_id}", "customer": s.customer_id, "name": s.name, "email": s.email,
         "items": [{"plan": code, "name": name, "quantity": quantity} for code, name, quantity in s.items],
         "address": s.address} for s in shipments(args.period)]}


def _print_shipments(result) -> None:
    if "csv" in result:
        print(result["csv"], end="")
        return
    for s in result["shipments"]:
        items = "; ".join(f"{i['name']} x {i['quantity']}" for i in s["items"])
        place = ", ".join(v for v in s["address"].values() if v) or "-"
        print(f"{s['period_start'][:10]}  {s['invoice']}  {s['email']}  {items}  {place}")
