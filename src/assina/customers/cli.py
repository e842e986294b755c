"""``assina customer create|export|erase`` (see ``assina.cli_support.CliBuilder``); the card commands of the
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

    p = cli.add("export", "print everything held about a customer (personal data export, LGPD/GDPR)", customer)
    p.add_argument("customer", type=text(EMAIL), help="email or id")
    p = cli.add("erase", "anonymise a customer's personal data; invoices and amounts stay", customer)
    p.add_argument("customer", type=text(EMAIL), help="email or id")

    cli.command("customer create")(cmd_customer_create)
    cli.command("customer export", human=_print_json)(cmd_customer_export)
    cli.command("customer erase")(cmd_customer_erase)


def _print_json(result) -> None:
    import json

    print(json.dumps(result, indent=2, ensure_ascii=False, default=str))


def cmd_customer_export(args):
    from assina.customers.services import get_customer
    from assina.privacy.export import export_customer

    return export_customer(get_customer(args.customer))


def cmd_customer_erase(args):
    from assina.cli_support import iso
    from assina.customers.services import get_customer
    from assina.privacy.erase import erase_customer
    from assina.time import now

    result = erase_customer(get_customer(args.customer).pk, now())
    return {**result, "erased_at": iso(result["erased_at"])}


def cmd_customer_create(args):
    from assina.payments.new_customer import create_customer
    from assina.time import now

    c = create_customer(email=args.email, name=args.name or "", locale=args.locale, currency=args.currency,
                        time_zone=args.time_zone, country=args.country or "", tax_id=args.tax_id or "", card=args.card, at=now())
    pm = c.default_payment_method
    return {"id": c.pk, "email": c.email, "name": c.name, "locale": c.locale, "currency": c.currency,
            "card": {"brand": pm.brand, "last4": pm.last4} if pm else None}
