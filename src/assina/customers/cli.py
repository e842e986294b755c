"""``assina customer create`` (see ``assina.cli_support.CliBuilder``); the card commands of the
group are the payments app's.

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations


def register(cli) -> None:
    customer = cli.group("customer", "customers")
    p = cli.add("create", "create a customer", customer)
    p.add_argument("--email", required=True)
    p.add_argument("--name")
    p.add_argument("--locale", default="en")
    p.add_argument("--currency")
    p.add_argument("--time-zone")
    p.add_argument("--tax-id")
    p.add_argument("--card", help="a sandbox test card number, e.g. 4242424242424242")

    cli.command("customer create")(cmd_customer_create)


def cmd_customer_create(args):
    from assina.payments.new_customer import create_customer
    from assina.time import now

    c = create_customer(email=args.email, name=args.name or "", locale=args.locale, currency=args.currency,
                        time_zone=args.time_zone, tax_id=args.tax_id or "", card=args.card, at=now())
    pm = c.default_payment_method
    return {"id": c.pk, "email": c.email, "name": c.name, "locale": c.locale, "currency": c.currency,
            "card": {"brand": pm.brand, "last4": pm.last4} if pm else None}
