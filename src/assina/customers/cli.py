"""``assina customer create`` (see ``assina.cli_support.CliBuilder``); the card commands of the
group are the payments app's.

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import CARD, EMAIL, NAME, text


def register(cli) -> None:
    customer = cli.group("customer", "customers")
    p = cli.add("create", "create a customer", customer)
    # The API's bounds (customers.api.CustomerCreate).
    p.add_argument("--email", required=True, type=text(EMAIL))
    p.add_argument("--name", type=text(NAME))
    p.add_argument("--locale", default="en", type=text(8))
    p.add_argument("--currency", type=text(3))
    p.add_argument("--time-zone", type=text(64))
    p.add_argument("--country", type=text(2), help="two-letter ISO 3166 code, e.g. BR")
    p.add_argument("--tax-id", type=text(64))
    p.add_argument("--card", type=text(CARD), help="a sandbox test card number, e.g. 4242424242424242")

    cli.command("customer create")(cmd_customer_create)


def cmd_customer_create(args):
    from assina.payments.new_customer import create_customer
    from assina.time import now

    c = create_customer(email=args.email, name=args.name or "", locale=args.locale, currency=args.currency,
                        time_zone=args.time_zone, country=args.country or "", tax_id=args.tax_id or "", card=args.card, at=now())
    pm = c.default_payment_method
    return {"id": c.pk, "email": c.email, "name": c.name, "locale": c.locale, "currency": c.currency,
            "card": {"brand": pm.brand, "last4": pm.last4} if pm else None}
