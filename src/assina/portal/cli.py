"""``assina portal link|revoke`` (see ``assina.cli_support.CliBuilder``).

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import EMAIL, text

FLOWS = ("cancel", "update_payment_method", "change_plan", "switch_to_annual")


def register(cli) -> None:
    portal = cli.group("portal", "the customer portal")
    p = cli.add("link", "make a single-use portal link for a customer (valid 24 hours)", portal)
    p.add_argument("--customer", required=True, type=text(EMAIL), help="e-mail or id")
    p.add_argument("--flow", choices=FLOWS, type=text(32))
    p.add_argument("--return-url", type=text(2000))
    p = cli.add("revoke", "end every portal session and unused link of a customer", portal)
    p.add_argument("--customer", required=True, type=text(EMAIL), help="e-mail or id")
    cli.command("portal link")(cmd_portal_link)
    cli.command("portal revoke")(cmd_portal_revoke)


def cmd_portal_link(args):
    from assina.cli_support import iso
    from assina.portal import services

    link, url = services.create_link(services.find_customer(args.customer), flow=args.flow or "",
                                     return_url=args.return_url or "")
    return {"url": url, "expires_at": iso(link.expires_at)}


def cmd_portal_revoke(args):
    from assina.portal import services

    return services.revoke(services.find_customer(args.customer))
