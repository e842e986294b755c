"""Commands this app adds to ``assina`` (see ``assina.cli_support.CliBuilder``): ``assina metric create|list``
and ``assina plan meter`` (a metered price on a plan's newest version).

Amounts are typed as decimals in the plan's currency (``0.02``) and converted to minor units with
``parse_amount``, as ``assina plan create --amount`` does. No Django import at module level: the
parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import AMOUNT, CODE, NAME, integer, text

AGGREGATIONS = ("sum", "max", "count", "unique_count")
METERED_MODELS = ("per_unit", "package", "graduated", "volume")
TIERED = ("graduated", "volume")


def register(cli) -> None:
    metric = cli.group("metric", "usage metrics (what usage events measure)")
    p = cli.add("create", "define a metric that usage events are sent for", metric)
    p.add_argument("--code", required=True, type=text(CODE), help="what events name in 'metric', e.g. api_calls")
    p.add_argument("--name", type=text(NAME), help="shown on invoices, e.g. 'API calls' (default: the code)")
    p.add_argument("--aggregation", choices=AGGREGATIONS, default="sum",
                   help="how a period's events add up to the billed quantity (default: sum)")
    p.add_argument("--unique-property", default="", type=text(CODE),
                   help="with unique_count: the event property whose distinct values are counted, e.g. user_id")
    cli.add("list", "list the metrics and the plans that bill them", metric)

    plan = cli.group("plan", "plans and prices")
    p = cli.add("meter", "bill a metric on a plan's newest version, in arrears at each period end", plan)
    p.add_argument("--plan", required=True, type=text(CODE), help="plan (or add-on) code")
    p.add_argument("--metric", required=True, type=text(CODE), help="metric code")
    p.add_argument("--pricing-model", choices=METERED_MODELS, default="per_unit",
                   help="per_unit: amount x quantity (default); package: amount per started package of "
                        "--package-size units; graduated/volume: the --tier table")
    p.add_argument("--unit-amount", type=text(AMOUNT), help="price per unit (or package) in the plan's currency, e.g. 0.02")
    p.add_argument("--package-size", type=integer(maximum=10**9), default=1)  # at least 1: core.pricing says so
    p.add_argument("--tier", action="append", type=text(NAME), metavar="UP_TO:UNIT_AMOUNT[:FLAT_AMOUNT]",
                   help="graduated/volume: one tier, in order; the last one is inf (e.g. --tier 1000:0.02 --tier inf:0.01)")

    @cli.command("metric create")
    def cmd_metric_create(args):
        from django.utils.translation import gettext as _

        from assina.catalog.models import Metric
        from assina.time import now

        from .services import MetricError, create_metric

        # SQLite would store a longer name and PostgreSQL fail on it: refuse it here, the same on both.
        longest = Metric._meta.get_field("name").max_length
        if len(args.name or "") > longest:
            raise MetricError(_("a metric name has at most %(count)d characters") % {"count": longest})
        return metric_json(create_metric(code=args.code, name=args.name or args.code, aggregation=args.aggregation,
                                         unique_property=args.unique_property.strip(), at=now()))

    @cli.command("metric list")
    def cmd_metric_list(args):
        from assina.catalog.models import MeteredPrice, Metric

        prices: dict[int, list[dict]] = {}
        for price in MeteredPrice.objects.select_related("plan_version__plan").order_by("metric_id", "id"):
            prices.setdefault(price.metric_id, []).append(
                {"plan": price.plan_version.plan.code, "version": price.plan_version.version})
        return {"metrics": [{**metric_json(m), "plans": prices.get(m.pk, [])} for m in Metric.objects.order_by("code")]}

    @cli.command("plan meter")
    def cmd_plan_meter(args):
        from django.utils.translation import gettext as _

        from assina.catalog.services import get_plan
        from assina.time import now
        from assina.core.money import parse_amount

        from .services import MetricError, add_metered_price, get_metric

        plan = get_plan(args.plan)
        get_metric(args.metric)  # an unknown metric is named before any amount is checked
        tiers = None
        if args.pricing_model in TIERED:
            if args.unit_amount is not None:
                raise MetricError(_("a graduated or volume price takes its amounts from --tier, not --unit-amount"))
            if not args.tier:
                raise MetricError(_("a graduated or volume price needs its tiers: --tier UP_TO:UNIT_AMOUNT (the last UP_TO is inf)"))
            tiers = [_tier(spec, plan.currency) for spec in args.tier]
        else:
            if args.tier:
                raise MetricError(_("only graduated and volume prices have tiers (--pricing-model graduated or volume)"))
            if args.unit_amount is None:
                raise MetricError(_("say the price per unit (or package): --unit-amount, e.g. 0.02"))
        unit_amount = parse_amount(args.unit_amount, plan.currency) if args.unit_amount is not None else 0
        price = add_metered_price(plan_code=plan.code, metric_code=args.metric, pricing_model=args.pricing_model,
                                  unit_amount=unit_amount, tiers=tiers, package_size=args.package_size, at=now())
        version = price.plan_version
        return {"plan": plan.code, "version": version.version, "metric": price.metric.code,
                "pricing_model": price.pricing_model, "unit_amount": price.unit_amount, "tiers": price.tiers,
                "package_size": price.package_size, "currency": version.currency}


def metric_json(metric) -> dict:
    return {"code": metric.code, "name": metric.name, "aggregation": metric.aggregation,
            "unique_property": metric.unique_property or None,
            "created_at": metric.created_at.isoformat().replace("+00:00", "Z")}


def _tier(spec: str, currency: str) -> dict:
    """``UP_TO:UNIT_AMOUNT[:FLAT_AMOUNT]`` as the service's tier (amounts in minor units);
    ``UP_TO`` is a whole number of units, or ``inf`` (or ``*``, as in the admin) for the last tier."""
    from django.utils.translation import gettext as _

    from assina.core.money import parse_amount

    from .services import MetricError

    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise MetricError(_("a tier is UP_TO:UNIT_AMOUNT or UP_TO:UNIT_AMOUNT:FLAT_AMOUNT (e.g. 1000:0.02); got %(spec)s")
                          % {"spec": repr(spec)})
    bound = parts[0].strip().lower()
    if bound in ("inf", "*"):
        up_to = None
    elif bound.isascii() and bound.isdigit():
        up_to = int(bound)
    else:
        raise MetricError(_("a tier's upper bound is a whole number of units or inf; got %(spec)s") % {"spec": repr(spec)})
    flat = parse_amount(parts[2], currency) if len(parts) == 3 else 0
    # The same shape as the admin's tiers (assina.catalog.admin.parse_tiers).
    return {"up_to": up_to, "unit_amount": parse_amount(parts[1], currency), "flat_amount": flat}
