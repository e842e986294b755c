"""``assina metrics``: the dashboard's figures on the command line; ``assina forecast``: the lifetime
value models on numbers an operator brings (see ``assina.cli_support.CliBuilder``)."""

from assina.cli_support import CODE, DATE, NAME, integer, number, text


def register(cli) -> None:
    register_forecast(cli)
    p = cli.add("metrics", "revenue metrics: MRR, movements, churn, retention, cohorts, LTV")
    p.add_argument("--as-of", type=text(DATE), help="figures as of the end of this date (default: now)")
    p.add_argument("--from", dest="since", type=text(DATE), help="first month of the range (a date or YYYY-MM)")
    p.add_argument("--to", dest="until", type=text(DATE), help="last month of the range (a date or YYYY-MM)")
    p.add_argument("--months", type=integer(1, 1200), help="length of the range ending at --to / --as-of (default 12)")
    p.add_argument("--plan", type=text(CODE), help="only subscriptions on this plan (code)")
    p.add_argument("--segment", type=text(NAME), help="only customers of this segment (customer metadata 'segment')")
    p.add_argument("--country", type=text(2), help="only customers of this country (ISO code)")
    p.add_argument("--currency", type=text(3), help="only customers paying in this currency (amounts in it, unconverted)")

    @cli.command("metrics")
    def cmd_metrics(args):
        from .service import report

        result = report(as_of=args.as_of, since=args.since, until=args.until, months=args.months, plan=args.plan,
                        segment=args.segment, country=args.country, currency=args.currency)
        if args.json:
            return result
        return _human(result)


def _human(result: dict) -> dict:
    """The headline figures, one per line (amounts as decimals of the currency)."""
    from assina.analytics.presentation import decimal_amount

    s, cur = result["summary"], result["currency"]
    money = ("mrr", "arr", "mrr_start", "new", "expansion", "contraction", "churn", "reactivation", "net")
    lines = {"range": f"{result['from']} .. {result['to']}", "as_of": result["as_of"], "currency": cur}
    lines.update({k: decimal_amount(s[k], cur) for k in money})
    for key in ("customers", "customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "net_revenue_retention",
                "gross_revenue_retention", "quick_ratio", "trial_conversion_rate", "dunning_recovery_rate", "annual_share"):
        lines[key] = s[key] if s[key] is None or isinstance(s[key], int) else round(s[key], 4)
    lines["arpa"] = decimal_amount(None if s["arpa"] is None else round(s["arpa"]), cur)
    lines["ltv"] = decimal_amount(None if s["ltv"] is None else round(s["ltv"]), cur)
    lines["reconciles"] = result["reconciles"]
    return lines


def register_forecast(cli) -> None:
    """``assina forecast retention|purchases``: the lifetime value models on numbers brought in."""
    group = cli.group("forecast", "lifetime value forecasts: retention (sBG), repeat purchases (BG/NBD + Gamma-Gamma)")
    p = cli.add("retention", "fit the retention model to a cohort's survivor counts and project it", group)
    p.add_argument("--counts", required=True, type=text(100_000),
                   help="customers at the start, then still customers after each period: 1000,631,468,...")
    p.add_argument("--horizon", type=integer(1, 1200), default=12, help="periods to project (default 12)")
    p.add_argument("--discount-rate", type=number(0, 1), default=0.1, help="discount rate per period for DERL (default 0.1)")

    p = cli.add("purchases", "fit the purchase and order value models to a customer summary (CSV)", group)
    p.add_argument("--summary", required=True, type=text(4096),
                   help="CSV with customer_id,frequency,recency,T and optionally monetary_value")
    p.add_argument("--horizon", type=integer(1, 1200), default=12, help="periods to forecast (default 12)")
    p.add_argument("--discount-rate", type=number(0, 1), default=0.01, help="discount rate per period for CLV (default 0.01)")
    p.add_argument("--period", type=number(0.0001, 1_000_000), default=1.0,
                   help="length of one period in the summary's time unit (default 1; 4.345 for months of weeks)")
    p.add_argument("--out", type=text(4096), help="write the per-customer figures to this CSV instead of printing them")

    @cli.command("forecast retention")
    def cmd_retention(args):
        from .forecast_files import parse_counts, retention

        return retention(parse_counts(args.counts), args.horizon, args.discount_rate)

    @cli.command("forecast purchases")
    def cmd_purchases(args):
        from .forecast_files import purchases

        return purchases(args.summary, args.horizon, args.discount_rate, args.period, args.out)
