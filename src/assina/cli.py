"""The ``assina`` command. Every command accepts ``--json``.

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
from datetime import datetime, timezone
from typing import Any, Callable

COMMANDS: dict[str, Callable[[argparse.Namespace], Any]] = {}


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "assina.settings")
    import django
    from django.conf import settings
    from django.utils import translation

    django.setup()
    translation.activate(settings.LANGUAGE_CODE)  # ASSINA_LANGUAGE; English by default


def parse_time(text: str) -> datetime:
    """Accept 2027-06-01, 2027-06-01T10:00, 2027-06-01T10:00:00Z; dates without a zone are in
    the business time zone."""
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils.translation import gettext as _

    from assina.core.errors import DomainError

    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError(_("'%(text)s' is not a date or time (use 2027-06-01 or 2027-06-01T10:00:00Z)")
                          % {"text": text}) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return parsed.astimezone(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def _amount(value: int, currency: str) -> str:
    from assina.core.money import Money

    return str(Money(value, currency).to_decimal())


def subscription_json(sub) -> dict:
    items = [
        {"plan": i.plan_version.plan.code, "version": i.plan_version.version, "quantity": i.quantity}
        for i in sub.items.select_related("plan_version__plan")
    ]
    return {
        "id": f"sub_{sub.pk}", "customer": sub.customer.email, "plan": sub.plan.code, "status": sub.status,
        "items": items, "currency": sub.currency, "interval": sub.interval, "interval_count": sub.interval_count,
        "current_period_start": _iso(sub.current_period_start), "current_period_end": _iso(sub.current_period_end),
        "trial_end": _iso(sub.trial_end), "cancel_at_period_end": sub.cancel_at_period_end,
        "ended_at": _iso(sub.ended_at), "coupon": sub.coupon.code if sub.coupon_id else None,
        "next_action_at": _iso(sub.next_action_at),
    }


def invoice_json(inv) -> dict:
    return {
        "id": inv.pk, "number": inv.number, "customer": inv.customer.email, "subscription": f"sub_{inv.subscription_id}" if inv.subscription_id else None,
        "status": inv.status, "billing_reason": inv.billing_reason, "currency": inv.currency,
        "period_start": _iso(inv.period_start), "period_end": _iso(inv.period_end),
        "subtotal": inv.subtotal, "discount": inv.discount, "total": inv.total, "credit_applied": inv.credit_applied,
        "amount_due": inv.amount_due, "amount_paid": inv.amount_paid, "created_at": _iso(inv.created_at),
        "lines": [{"kind": l.kind, "description": l.description, "quantity": l.quantity, "amount": l.amount,
                   "period_start": _iso(l.period_start), "period_end": _iso(l.period_end)} for l in inv.lines.all()],
    }


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


@command("migrate")
def cmd_migrate(args):
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0 if args.json else 1)
    return {"migrated": True}


@command("plan create")
def cmd_plan_create(args):
    from assina.catalog.services import create_plan
    from assina.time import now
    from django.conf import settings

    from assina.core.money import parse_amount

    currency = args.currency or settings.ASSINA_DEFAULT_CURRENCY
    plan = create_plan(code=args.code, name=args.name or args.code, amount=parse_amount(args.amount, currency),
                       currency=currency, interval=args.interval, interval_count=args.interval_count,
                       trial_days=args.trial_days, kind="addon" if args.addon else "base", at=now(),
                       pricing_model=args.pricing_model, package_size=args.package_size)
    version = plan.current_version()
    return {"code": plan.code, "name": plan.name, "kind": plan.kind, "amount": version.unit_amount, "currency": plan.currency,
            "pricing_model": version.pricing_model, "package_size": version.package_size,
            "interval": plan.interval, "interval_count": plan.interval_count, "trial_days": plan.trial_days, "version": version.version}


@command("plan price")
def cmd_plan_price(args):
    from assina.catalog.services import change_plan_price, get_plan
    from assina.time import now
    from assina.core.money import parse_amount

    plan = get_plan(args.code)
    version = change_plan_price(args.code, amount=parse_amount(args.amount, plan.currency), at=now())
    return {"code": plan.code, "version": version.version, "amount": version.unit_amount, "currency": plan.currency}


@command("coupon create")
def cmd_coupon_create(args):
    from assina.catalog.services import create_coupon, create_promotion_code
    from assina.time import now
    from assina.core.money import parse_amount

    at = now()
    amount_off = parse_amount(args.amount_off, args.currency) if args.amount_off else None
    coupon = create_coupon(code=args.code, duration=args.duration, percent_off=args.percent_off, amount_off=amount_off,
                           currency=args.currency, duration_periods=args.periods, plans=args.plan or None,
                           redeem_by=parse_time(args.redeem_by) if args.redeem_by else None,
                           max_redemptions=args.max_redemptions, at=at)
    if args.promo_code:
        create_promotion_code(code=args.promo_code, coupon_code=coupon.code, at=at)
    return {"code": coupon.code, "duration": coupon.duration, "percent_off": str(coupon.percent_off) if coupon.percent_off else None,
            "amount_off": coupon.amount_off, "promo_code": args.promo_code}


@command("customer create")
def cmd_customer_create(args):
    from assina.time import now
    from assina.payments.new_customer import create_customer

    c = create_customer(email=args.email, name=args.name or "", locale=args.locale, currency=args.currency,
                        time_zone=args.time_zone, tax_id=args.tax_id or "", card=args.card, at=now())
    pm = c.default_payment_method
    return {"id": c.pk, "email": c.email, "name": c.name, "locale": c.locale, "currency": c.currency,
            "card": {"brand": pm.brand, "last4": pm.last4} if pm else None}


def _addon_spec(spec: str) -> tuple[str, int]:
    """``CODE`` or ``CODE:QUANTITY``; a quantity that is not a whole number is refused, never guessed."""
    from django.utils.translation import gettext as _

    from assina.core.errors import DomainError

    code, sep, qty = spec.partition(":")
    if not sep:
        return code, 1
    try:
        return code, int(qty)
    except ValueError:
        raise DomainError(_("add-on quantity in '%(spec)s' must be a whole number (use CODE:QUANTITY, e.g. seats:3)")
                          % {"spec": spec}) from None


@command("subscription create")
def cmd_subscription_create(args):
    from assina.customers.services import get_customer
    from assina.subscriptions.services import create_subscription

    addons = [_addon_spec(spec) for spec in args.addon or []]
    sub = create_subscription(customer=get_customer(args.customer), plan_code=args.plan,
                              start=parse_time(args.start) if args.start else None, quantity=args.quantity,
                              coupon_code=args.coupon, addons=addons, trial_days=args.trial_days)
    return subscription_json(sub)


@command("subscription show")
def cmd_subscription_show(args):
    from assina.subscriptions.services import get_subscription

    return subscription_json(get_subscription(args.id))


@command("subscription change")
def cmd_subscription_change(args):
    from assina.subscriptions.changes import change_subscription

    if args.plan is None and args.quantity is None:
        from django.utils.translation import gettext as _

        from assina.core.errors import DomainError

        raise DomainError(_("say what to change: --plan CODE and/or --quantity N"))
    sub = change_subscription(args.id, plan_code=args.plan, quantity=args.quantity, at_period_end=args.at_period_end,
                              invoice_now=args.invoice_now)
    return subscription_json(sub)


@command("subscription cancel")
def cmd_subscription_cancel(args):
    from assina.subscriptions.services import cancel_at_period_end, cancel_now

    if args.prorate and not args.now:
        from django.utils.translation import gettext as _

        from assina.core.errors import DomainError

        raise DomainError(_("--prorate only applies to --now (a cancellation at period end has no unused time)"))
    if args.now:
        sub = cancel_now(args.id, prorate=args.prorate, reason=args.reason or "")
    else:
        sub = cancel_at_period_end(args.id, reason=args.reason or "")
    return subscription_json(sub)


@command("subscription reactivate")
def cmd_subscription_reactivate(args):
    from assina.subscriptions.services import reactivate

    return subscription_json(reactivate(args.id))


@command("subscription pause")
def cmd_subscription_pause(args):
    from assina.subscriptions.services import pause

    return subscription_json(pause(args.id, resumes_at=parse_time(args.resume_at) if args.resume_at else None))


@command("subscription resume")
def cmd_subscription_resume(args):
    from assina.subscriptions.services import resume

    return subscription_json(resume(args.id))


@command("clock advance")
def cmd_clock_advance(args):
    from assina.scheduler import advance_clock

    to = parse_time(args.to)
    return {**advance_clock(to), "clock": _iso(to)}


@command("clock show")
def cmd_clock_show(args):
    from django.conf import settings

    from assina.clock.models import ClockState
    from assina.time import now

    frozen = ClockState.objects.filter(pk=1).values_list("frozen_at", flat=True).first()
    return {"now": _iso(now()), "mode": settings.ASSINA_MODE, "frozen": frozen is not None}


@command("invoice list")
def cmd_invoice_list(args):
    from assina.customers.services import get_customer
    from assina.invoices.models import Invoice

    query = Invoice.objects.select_related("customer").prefetch_related("lines").order_by("id")
    if args.customer:
        query = query.filter(customer=get_customer(args.customer))
    if args.status:
        query = query.filter(status=args.status)
    return {"invoices": [invoice_json(i) for i in query]}


@command("simulate")
def cmd_simulate(args):
    from assina.simulation import simulate

    return simulate(customers=args.customers, months=args.months, seed=args.seed, progress=not args.json)


@command("worker")
def cmd_worker(args):
    from assina.worker import run_worker

    return run_worker(once=args.once, interval=args.interval)


@command("serve")
def cmd_serve(args):
    from assina.server import serve

    serve(host=args.host, port=args.port, worker=not args.no_worker)


@command("createadmin")
def cmd_createadmin(args):
    from assina.accounts import ensure_admin

    username, password = ensure_admin(args.username, args.password)
    return {"username": username, "password": password}


class _Parser(argparse.ArgumentParser):
    """Usage errors keep the CLI's contract: stderr, exit code 2, and JSON when ``--json`` was asked for."""

    json_errors = False

    def error(self, message: str):
        if self.json_errors:
            self.exit(2, json.dumps({"error": f"{self.prog}: {message}"}) + "\n")
        super().error(message)


def build_parser(*, json_errors: bool = False) -> argparse.ArgumentParser:
    from assina.core.invoice_states import InvoiceStatus

    # Subparsers are created with the parent's class, so they share the flag through a subclass.
    parser_class = type("Parser", (_Parser,), {"json_errors": json_errors})
    parser = parser_class(prog="assina", description="Subscription billing and retention for small businesses.")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    sub = parser.add_subparsers(dest="group", required=True)

    def add(name: str, help: str, parent=sub):
        p = parent.add_parser(name, help=help)
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON")
        return p

    add("migrate", "create or update the database tables")

    plan = sub.add_parser("plan", help="plans and prices").add_subparsers(dest="action", required=True)
    p = add("create", "create a plan (or an add-on with --addon)", plan)
    p.add_argument("--code", required=True)
    p.add_argument("--name")
    p.add_argument("--amount", required=True, help="price per interval (per unit or package with those models), e.g. 49.90")
    p.add_argument("--currency", default=None)
    p.add_argument("--interval", required=True, choices=["day", "week", "month", "year"])
    p.add_argument("--interval-count", type=int, default=1)
    p.add_argument("--trial-days", type=int, default=0)
    p.add_argument("--addon", action="store_true")
    # Tiered prices need a table of tiers: create those in the admin.
    p.add_argument("--pricing-model", choices=["flat", "per_unit", "package"], default="flat",
                   help="flat: the amount whatever the quantity (default); per_unit: amount x quantity; "
                        "package: amount per started package of --package-size units")
    p.add_argument("--package-size", type=int, default=1)
    p = add("price", "give a plan a new price version (existing subscriptions keep theirs)", plan)
    p.add_argument("code")
    p.add_argument("--amount", required=True)

    coupon = sub.add_parser("coupon", help="coupons and promotion codes").add_subparsers(dest="action", required=True)
    p = add("create", "create a coupon", coupon)
    p.add_argument("--code", required=True)
    p.add_argument("--percent-off")
    p.add_argument("--amount-off")
    p.add_argument("--currency")
    p.add_argument("--duration", required=True, choices=["once", "repeating", "forever"])
    p.add_argument("--periods", type=int, help="number of periods for a repeating coupon")
    p.add_argument("--plan", action="append", help="restrict to this plan (repeatable)")
    p.add_argument("--redeem-by")
    p.add_argument("--max-redemptions", type=int)
    p.add_argument("--promo-code", help="also create this customer-facing promotion code")

    customer = sub.add_parser("customer", help="customers").add_subparsers(dest="action", required=True)
    p = add("create", "create a customer", customer)
    p.add_argument("--email", required=True)
    p.add_argument("--name")
    p.add_argument("--locale", default="en")
    p.add_argument("--currency")
    p.add_argument("--time-zone")
    p.add_argument("--tax-id")
    p.add_argument("--card", help="a sandbox test card number, e.g. 4242424242424242")

    subscription = sub.add_parser("subscription", help="subscriptions").add_subparsers(dest="action", required=True)
    p = add("create", "subscribe a customer to a plan", subscription)
    p.add_argument("--customer", required=True, help="email or id")
    p.add_argument("--plan", required=True)
    p.add_argument("--start")
    p.add_argument("--quantity", type=int, default=1)
    p.add_argument("--coupon")
    p.add_argument("--addon", action="append", help="CODE or CODE:QUANTITY (repeatable)")
    p.add_argument("--trial-days", type=int)
    p = add("show", "show a subscription", subscription)
    p.add_argument("id")
    p = add("change", "change plan or quantity", subscription)
    p.add_argument("id")
    p.add_argument("--plan")
    p.add_argument("--quantity", type=int)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at-period-end", action="store_true", help="schedule for the end of the current period")
    when.add_argument("--invoice-now", action="store_true", help="bill the proration now instead of on the next invoice")
    p = add("cancel", "cancel a subscription", subscription)
    p.add_argument("id")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--at-period-end", action="store_true")
    when.add_argument("--now", action="store_true")
    p.add_argument("--prorate", action="store_true", help="with --now: credit the unused part of the period")
    p.add_argument("--reason")
    for name, help in (("reactivate", "undo a cancellation at period end"), ("resume", "resume a paused subscription")):
        add(name, help, subscription).add_argument("id")
    p = add("pause", "pause a subscription", subscription)
    p.add_argument("id")
    p.add_argument("--resume-at")

    clock = sub.add_parser("clock", help="the sandbox test clock").add_subparsers(dest="action", required=True)
    p = add("advance", "move the clock forward, processing all due work in time order", clock)
    p.add_argument("--to", required=True)
    add("show", "show the clock", clock)

    invoice = sub.add_parser("invoice", help="invoices").add_subparsers(dest="action", required=True)
    p = add("list", "list invoices", invoice)
    p.add_argument("--customer")
    p.add_argument("--status", choices=[s.value for s in InvoiceStatus])

    p = add("simulate", "fill the database with a simulated business")
    p.add_argument("--customers", type=int, default=500)
    p.add_argument("--months", type=int, default=18)
    p.add_argument("--seed", type=int, default=1)

    p = add("worker", "process due work (renewals, retries)")
    p.add_argument("--once", action="store_true", help="process everything due now and exit (for cron)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between polls")

    p = add("serve", "run the web server with an embedded worker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("ASSINA_PORT", "8000")))
    p.add_argument("--no-worker", action="store_true")

    p = add("createadmin", "create (or reset) an admin user and print its login")
    p.add_argument("--username", default="admin")
    p.add_argument("--password")

    groups = {"plan": plan, "coupon": coupon, "customer": customer, "subscription": subscription,
              "clock": clock, "invoice": invoice}
    builder = CliBuilder(sub, groups, add)
    for module in EXTENSIONS:
        importlib.import_module(module).register(builder)
    return parser


# Apps that add commands (or actions to an existing group) of their own. Each module has a
# ``register(cli: CliBuilder)`` and must not import Django at module level: the parser is built
# before Django is set up.
EXTENSIONS = (
    "assina.payments.cli",
    "assina.api.cli",
    "assina.notifications.cli",
    "assina.analytics.cli",
    "assina.usage.cli",
)


class CliBuilder:
    """What an extension module uses to add its commands."""

    def __init__(self, top, groups: dict, add):
        self._top = top
        self._groups = groups
        self._add = add
        self.command = command

    def group(self, name: str, help: str):
        """The subparsers of group ``name`` (``assina NAME ACTION``), created when new."""
        if name not in self._groups:
            self._groups[name] = self._top.add_parser(name, help=help).add_subparsers(dest="action", required=True)
        return self._groups[name]

    def add(self, name: str, help: str, group=None) -> argparse.ArgumentParser:
        """A command: ``assina NAME`` or, with ``group``, ``assina GROUP NAME``. Register its
        handler with ``@cli.command("GROUP NAME")`` (or ``"NAME"``); it returns what is printed."""
        return self._add(name, help, group) if group is not None else self._add(name, help)


def _print_human(result: Any) -> None:
    if result is None:
        return
    if isinstance(result, dict) and isinstance(result.get("invoices"), list):
        for inv in result["invoices"]:
            print(f"{inv['number'] or '-':>12}  {inv['status']:<13} {inv['customer']:<30} "
                  f"{_amount(inv['total'], inv['currency']):>10} {inv['currency']}  {inv['billing_reason']}")
        from django.utils.translation import gettext as _

        print(_("%(count)d invoice(s)") % {"count": len(result["invoices"])})
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(json_errors="--json" in argv)
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
        result = COMMANDS[name](args)
    except (DomainError, ValidationError) as exc:
        _print_error("; ".join(exc.messages) if isinstance(exc, ValidationError) else localized_message(exc), args.json)
        return 2
    except DatabaseError as exc:
        _print_error(_database_error_message(exc), args.json)
        return 3
    if args.json:
        print(json.dumps(result, default=str, indent=None))
    else:
        _print_human(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
