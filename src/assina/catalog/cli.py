"""``assina plan create|price`` and ``assina coupon create`` (see ``assina.cli_support.CliBuilder``).

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import AMOUNT, CODE, NAME, date_or_time, integer, text


def register(cli) -> None:
    plan = cli.group("plan", "plans and prices")
    p = cli.add("create", "create a plan (or an add-on with --addon)", plan)
    p.add_argument("--code", required=True, type=text(CODE))
    p.add_argument("--name", type=text(NAME))
    p.add_argument("--amount", required=True, type=text(AMOUNT), help="price per interval (per unit or package with those models), e.g. 49.90")
    p.add_argument("--currency", default=None, type=text(3))
    p.add_argument("--interval", required=True, choices=["day", "week", "month", "year"])
    p.add_argument("--interval-count", type=integer(), default=1)  # the range per unit: core.periods
    p.add_argument("--trial-days", type=integer(0, 730), default=0)
    p.add_argument("--addon", action="store_true")
    # Tiered prices need a table of tiers: create those in the admin.
    p.add_argument("--pricing-model", choices=["flat", "per_unit", "package"], default="flat",
                   help="flat: the amount whatever the quantity (default); per_unit: amount x quantity; "
                        "package: amount per started package of --package-size units")
    p.add_argument("--package-size", type=integer(maximum=10**9), default=1)  # at least 1: core.pricing says so
    p = cli.add("price", "give a plan a new price version (existing subscriptions keep theirs)", plan)
    p.add_argument("code", type=text(CODE))
    p.add_argument("--amount", required=True, type=text(AMOUNT))

    p = cli.add("bundle", "create a bundle: parts sold together at a price or a percent off their sum", plan)
    p.add_argument("--code", required=True, type=text(CODE))
    p.add_argument("--name", type=text(NAME))
    p.add_argument("--part", action="append", required=True, type=text(CODE + 8), help="CODE or CODE:QUANTITY (2 or more)")
    price = p.add_mutually_exclusive_group(required=True)
    price.add_argument("--amount", type=text(AMOUNT), help="the bundle's price per interval, e.g. 89.90")
    price.add_argument("--percent-off", type=text(AMOUNT), help="percent off the sum of the parts, e.g. 15")
    p = cli.add("shipping", "a plan's shipping: fee per delivery, free-shipping threshold, skips per year", plan)
    p.add_argument("code", type=text(CODE))
    p.add_argument("--off", action="store_true", help="the plan ships nothing")
    p.add_argument("--fee", type=text(AMOUNT), default="0")
    p.add_argument("--free-from", type=text(AMOUNT), help="spend per period from which shipping is free")
    p.add_argument("--max-skips", type=integer(0, 52), default=2, help="skipped deliveries allowed per year")
    cli.command("plan bundle")(cmd_plan_bundle)
    cli.command("plan shipping")(cmd_plan_shipping)

    coupon = cli.group("coupon", "coupons and promotion codes")
    p = cli.add("create", "create a coupon", coupon)
    p.add_argument("--code", required=True, type=text(CODE))
    p.add_argument("--percent-off", type=text(AMOUNT))
    p.add_argument("--amount-off", type=text(AMOUNT))
    p.add_argument("--currency", type=text(3))
    p.add_argument("--duration", required=True, choices=["once", "repeating", "forever"])
    p.add_argument("--periods", type=integer(1, 1000), help="number of periods for a repeating coupon")
    p.add_argument("--plan", action="append", type=text(CODE), help="restrict to this plan (repeatable)")
    p.add_argument("--redeem-by", type=date_or_time)
    p.add_argument("--max-redemptions", type=integer(1, 10**9))
    p.add_argument("--promo-code", type=text(CODE), help="also create this customer-facing promotion code")

    cli.command("plan create")(cmd_plan_create)
    cli.command("plan price")(cmd_plan_price)
    cli.command("coupon create")(cmd_coupon_create)


def cmd_plan_create(args):
    from django.conf import settings

    from assina.core.money import parse_amount
    from assina.time import now

    from .services import create_plan

    currency = args.currency or settings.ASSINA_DEFAULT_CURRENCY
    plan = create_plan(code=args.code, name=args.name or args.code, amount=parse_amount(args.amount, currency),
                       currency=currency, interval=args.interval, interval_count=args.interval_count,
                       trial_days=args.trial_days, kind="addon" if args.addon else "base", at=now(),
                       pricing_model=args.pricing_model, package_size=args.package_size)
    version = plan.current_version()
    return {"code": plan.code, "name": plan.name, "kind": plan.kind, "amount": version.unit_amount, "currency": plan.currency,
            "pricing_model": version.pricing_model, "package_size": version.package_size,
            "interval": plan.interval, "interval_count": plan.interval_count, "trial_days": plan.trial_days, "version": version.version}


def cmd_plan_price(args):
    from assina.core.money import parse_amount
    from assina.time import now

    from .services import change_plan_price, get_plan

    plan = get_plan(args.code)
    version = change_plan_price(args.code, amount=parse_amount(args.amount, plan.currency), at=now())
    return {"code": plan.code, "version": version.version, "amount": version.unit_amount, "currency": plan.currency}


def cmd_coupon_create(args):
    from assina.cli_support import parse_time
    from assina.core.money import parse_amount
    from assina.time import now

    from .services import create_coupon, create_promotion_code

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


def cmd_plan_bundle(args):
    from django.utils.translation import gettext as _

    from assina.core.money import parse_amount
    from assina.time import now

    from .services import CatalogError, bundle_parts, create_bundle, get_plan

    parts = []
    for spec in args.part:
        code, _sep, quantity = spec.partition(":")
        if quantity and not quantity.isdigit():
            raise CatalogError(_("a part's quantity must be a whole number of at least 1"))
        parts.append((code, int(quantity) if quantity else 1))
    amount = parse_amount(args.amount, get_plan(parts[0][0]).currency) if args.amount else None
    plan = create_bundle(code=args.code, name=args.name or args.code, parts=parts, price=amount,
                         percent_off=args.percent_off, at=now())
    version = plan.current_version()
    return {"code": plan.code, "amount": version.unit_amount, "currency": plan.currency,
            "percent_off": str(version.bundle_percent_off) if version.bundle_percent_off is not None else None,
            "parts": [{"plan": p.component.code, "quantity": p.quantity, "value": p.value} for p in bundle_parts(version)],
            "ships_goods": plan.ships_goods}


def cmd_plan_shipping(args):
    from assina.core.money import parse_amount
    from assina.time import now

    from .services import get_plan, set_shipping

    currency = get_plan(args.code).currency
    plan = set_shipping(args.code, ships_goods=not args.off, fee=parse_amount(args.fee, currency),
                        free_from=parse_amount(args.free_from, currency) if args.free_from else None,
                        max_skips_per_year=args.max_skips, at=now())
    return {"code": plan.code, "ships_goods": plan.ships_goods, "shipping_amount": plan.shipping_amount,
            "free_shipping_from": plan.free_shipping_from, "max_skips_per_year": plan.max_skips_per_year}
