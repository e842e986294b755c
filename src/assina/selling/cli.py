"""The selling app's commands (see ``assina.cli_support.CliBuilder``). No Django import at module level.

``assina pricing publish PLAN...`` / ``assina pricing unpublish PLAN...``: put plans on the
hosted pricing page (/pricing/) or take them off; ``assina pricing list``: what it shows.
``assina checkout create PLAN [--success-url U] [--cancel-url U] [--email E] [--promotion-code C]
[--addon A]...``: a checkout session's URL to send a buyer to; ``assina checkout show cs_…``.
"""

from __future__ import annotations

from assina.cli_support import CODE, EMAIL, text

URL = 2000


def register(cli) -> None:
    group = cli.group("pricing", "the hosted pricing page (/pricing/)")
    for name, public in (("publish", True), ("unpublish", False)):
        p = cli.add(name, "put plans on the pricing page" if public else "take plans off the pricing page", group)
        p.add_argument("plans", nargs="+", type=text(CODE), help="plan codes")

        def handler(args, public=public):
            from . import services

            return [services.set_public(code, public) for code in args.plans]

        cli.command(f"pricing {name}")(handler)

    cli.add("list", "the plans on the pricing page, a monthly plan beside its yearly one", group)

    @cli.command("pricing list")
    def cmd_list(args):
        from . import services

        return [{"monthly": e.monthly.code if e.monthly else None, "yearly": e.yearly.code if e.yearly else None,
                 "others": [p.code for p in e.others]} for e in services.pricing_entries()]

    group = cli.group("checkout", "hosted checkout sessions")
    p = cli.add("create", "a checkout session for a plan: the URL to send a buyer to", group)
    p.add_argument("plan", type=text(CODE))
    p.add_argument("--success-url", default="", type=text(URL))
    p.add_argument("--cancel-url", default="", type=text(URL))
    p.add_argument("--email", default="", type=text(EMAIL), help="fills in the buyer's e-mail")
    p.add_argument("--promotion-code", default="", type=text(CODE))
    p.add_argument("--addon", action="append", default=[], type=text(CODE), help="an add-on ticked on the page (up to 3)")

    @cli.command("checkout create")
    def cmd_create(args):
        from . import services

        session = services.create_session(plan_code=args.plan, success_url=args.success_url, cancel_url=args.cancel_url,
                                          customer_email=args.email, promotion_code=args.promotion_code,
                                          addons=args.addon)
        return services.session_summary(session)

    p = cli.add("show", "how a checkout session ended", group)
    p.add_argument("session", type=text(CODE))

    @cli.command("checkout show")
    def cmd_show(args):
        from django.utils.translation import gettext as _

        from . import services

        session = services.get_session(args.session)
        if session is None:
            raise services.CheckoutError(_("unknown checkout session %(id)s") % {"id": repr(args.session)})
        return services.session_summary(session)
