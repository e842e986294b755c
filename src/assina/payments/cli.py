"""Commands this app adds to ``assina`` (see ``assina.cli_support.CliBuilder``): cards, paying and
refunding invoices, dunning (policy, invoices in dunning, recovery report) and ``assina check``.

No Django import at module level: the parser is built before Django is set up.
"""

from __future__ import annotations

import json
import sys

from assina.cli_support import AMOUNT, CARD, CODE, EMAIL, ID, NAME, date_or_time, integer, text


def _invoice(value: str):
    from django.utils.translation import gettext as _

    from assina.invoices.models import Invoice

    from .services import PaymentError

    text = str(value).strip()
    query = Invoice.objects.filter(number=text)
    if text.isdigit():
        query = Invoice.objects.filter(pk=int(text))
    invoice = query.select_related("customer").first()
    if invoice is None:
        raise PaymentError(_("unknown invoice %(invoice)s") % {"invoice": repr(text)})
    return invoice


def _positive_amount(text: str, currency: str) -> int:
    from django.utils.translation import gettext as _

    from assina.core.money import parse_amount

    from .services import PaymentError

    amount = parse_amount(text, currency)
    if amount <= 0:
        raise PaymentError(_("the amount must be positive (got %(amount)s)") % {"amount": text})
    return amount


def _iso(value):
    from assina.cli_support import iso

    return iso(value)


def attempt_json(attempt) -> dict:
    return {"invoice": attempt.invoice.number, "attempt": attempt.number, "status": attempt.status,
            "amount": attempt.amount, "currency": attempt.currency, "decline_code": attempt.decline_code or None,
            "idempotency_key": attempt.idempotency_key, "at": _iso(attempt.completed_at or attempt.created_at),
            "next_retry_at": _iso(attempt.next_retry_at)}


def dunning_json(invoice) -> dict:
    invoice.refresh_from_db()
    return {"invoice": invoice.number, "status": invoice.status, "amount_due": invoice.amount_due,
            "amount_paid": invoice.amount_paid, "currency": invoice.currency, "dunning": invoice.dunning_status or None,
            "next_payment_attempt": _iso(invoice.next_payment_attempt), "final_action_at": _iso(invoice.dunning_final_at)}


def register(cli) -> None:
    customer = cli.group("customer", "customers")
    p = cli.add("card", "add a card (the default one) and retry the customer's open invoices with it", customer)
    p.add_argument("--customer", required=True, type=text(EMAIL), help="email or id")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--card", type=text(CARD), help="a sandbox test card number, e.g. 4242424242424242 (refused in live mode "
                        "and with a real gateway: use --token)")
    source.add_argument("--token", type=text(128), help="a payment method id the gateway's own fields created (pm_...)")
    p.add_argument("--exp-month", type=integer(1, 12))
    p.add_argument("--exp-year", type=integer(2000, 2200))
    p.add_argument("--replace", metavar="METHOD", type=text(ID), help="replace this payment method (pm_ID): it is removed")
    p.add_argument("--not-default", action="store_true", help="keep the current default card")
    p = cli.add("cards", "list a customer's payment methods", customer)
    p.add_argument("--customer", required=True, type=text(EMAIL))
    p = cli.add("card-remove", "remove a payment method", customer)
    p.add_argument("--customer", required=True, type=text(EMAIL))
    p.add_argument("--method", required=True, type=text(ID), help="pm_ID")
    p = cli.add("card-default", "make a payment method the default (retries open invoices with it)", customer)
    p.add_argument("--customer", required=True, type=text(EMAIL))
    p.add_argument("--method", required=True, type=text(ID), help="pm_ID")

    invoice = cli.group("invoice", "invoices")
    p = cli.add("pay", "try to collect an open invoice now (credit balance first, then the card)", invoice)
    p.add_argument("invoice", type=text(CODE), help="invoice number or id")
    p.add_argument("--method", type=text(ID), help="charge this payment method (pm_ID) of the customer")
    p = cli.add("refund", "refund a paid invoice to the card (all that is left, or --amount)", invoice)
    p.add_argument("invoice", type=text(CODE), help="invoice number or id")
    p.add_argument("--amount", type=text(AMOUNT), help="e.g. 10.00 (default: everything that can still be refunded)")
    p.add_argument("--reason", default="", type=text(NAME))
    p.add_argument("--to-balance", action="store_true", help="credit the customer's balance instead of the card")
    p = cli.add("attempts", "payment attempts of an invoice, with decline codes and the next retry", invoice)
    p.add_argument("invoice", type=text(CODE))

    dunning = cli.group("dunning", "failed payments: retries, policy, recovery")
    p = cli.add("report", "failed, recovered and lost amounts by month", dunning)
    p.add_argument("--from", dest="start", type=date_or_time, help="first day (e.g. 2027-01-01)")
    p.add_argument("--to", dest="end", type=date_or_time, help="day after the last (e.g. 2028-01-01)")
    p = cli.add("list", "invoices in dunning now", dunning)
    p.add_argument("--customer", type=text(EMAIL))
    p = cli.add("policy", "show the dunning policy, or change it with the options", dunning)
    p.add_argument("--retry-days", help="e.g. 1,3,5,7,10,14")
    p.add_argument("--grace-days", type=integer(0, 365))
    p.add_argument("--final-action", choices=["cancel", "unpaid", "pause"])
    p.add_argument("--hard-codes", help="comma-separated decline codes never retried")
    p.add_argument("--soft-codes", help="comma-separated decline codes retried")

    sandbox = cli.group("sandbox", "the sandbox payment gateway")
    p = cli.add("card-schedule", "make a customer's sandbox card start failing (or recover) at a time", sandbox)
    p.add_argument("--customer", required=True, type=text(EMAIL))
    p.add_argument("--at", required=True, type=date_or_time)
    p.add_argument("--decline-code", default="", type=text(CODE), help="e.g. insufficient_funds; empty: the card works again")

    cli.add("check", "verify the money invariants; exit code 1 with the violations when any")

    @cli.command("customer card")
    def cmd_card(args):
        from assina.time import now
        from assina.customers.services import get_customer

        from . import methods

        c = get_customer(args.customer)
        at = now()
        if args.replace:
            method = methods.replace(c, args.replace, at, number=args.card, token=args.token,
                                     exp_month=args.exp_month, exp_year=args.exp_year)
        elif args.token:
            method = methods.add_token(c, args.token, at, make_default=not args.not_default)
        else:
            method = methods.add_card(c, args.card, at, exp_month=args.exp_month, exp_year=args.exp_year,
                                      make_default=not args.not_default)
        from assina.invoices.models import Invoice

        return {"customer": c.email, "payment_method": methods.method_json(method, c.default_payment_method_id),
                "open_invoices": [dunning_json(i) for i in Invoice.objects.filter(customer=c, status="open").order_by("pk")]}

    @cli.command("customer cards")
    def cmd_cards(args):
        from assina.customers.services import get_customer

        from .methods import methods_json

        c = get_customer(args.customer)
        return {"customer": c.email, "payment_methods": methods_json(c)}

    @cli.command("customer card-remove")
    def cmd_card_remove(args):
        from assina.time import now
        from assina.customers.services import get_customer

        from . import methods

        c = get_customer(args.customer)
        removed = methods.remove(c, args.method, now())
        return {"customer": c.email, "removed": f"pm_{removed.pk}", "payment_methods": methods.methods_json(c)}

    @cli.command("customer card-default")
    def cmd_card_default(args):
        from assina.time import now
        from assina.customers.services import get_customer

        from . import methods

        c = get_customer(args.customer)
        methods.set_default(c, args.method, now())
        return {"customer": c.email, "payment_methods": methods.methods_json(c)}

    @cli.command("invoice pay")
    def cmd_pay(args):
        from assina.time import now

        from .methods import method_of
        from .services import pay_invoice

        invoice = _invoice(args.invoice)
        method = method_of(invoice.customer, args.method) if args.method else None
        attempt = pay_invoice(invoice.pk, now(), method=method)
        return {**dunning_json(invoice), "attempt": attempt_json(attempt) if attempt else None}

    @cli.command("invoice refund")
    def cmd_refund(args):
        from assina.time import now

        invoice = _invoice(args.invoice)
        if args.to_balance:
            from assina.invoices.services import create_credit_note

            from .services import PaymentError

            if not args.amount:
                from django.utils.translation import gettext as _

                raise PaymentError(_("--to-balance needs --amount"))
            note = create_credit_note(invoice.pk, _positive_amount(args.amount, invoice.currency), args.reason, now())
            return {"invoice": invoice.number, "credit_note": note.number, "amount": note.amount, "currency": note.currency,
                    "to": "balance"}
        from .refunds import refund_invoice, refund_json

        amount = _positive_amount(args.amount, invoice.currency) if args.amount else None
        return {**refund_json(refund_invoice(invoice.pk, now(), amount=amount, reason=args.reason)), "to": "card"}

    @cli.command("invoice attempts")
    def cmd_attempts(args):
        invoice = _invoice(args.invoice)
        return {**dunning_json(invoice),
                "attempts": [attempt_json(a) for a in invoice.attempts.select_related("invoice").order_by("number")]}

    @cli.command("dunning report")
    def cmd_report(args):
        from assina.cli_support import parse_time

        from .reports import recovery_report

        return recovery_report(parse_time(args.start) if args.start else None, parse_time(args.end) if args.end else None)

    @cli.command("dunning list")
    def cmd_list(args):
        from assina.invoices.models import Invoice

        from .retries import open_dunning

        query = Invoice.objects.filter(open_dunning()).select_related("customer").order_by("dunning_started_at", "pk")
        if args.customer:
            from assina.customers.services import get_customer

            query = query.filter(customer=get_customer(args.customer))
        return {"invoices": [{**dunning_json(i), "customer": i.customer.email, "attempts": i.attempt_count,
                              "failed_since": _iso(i.dunning_started_at)} for i in query[:1000]]}

    @cli.command("dunning policy")
    def cmd_policy(args):
        from assina.time import now

        from .dunning import current_policy, policy_json, save_policy

        policy = current_policy()
        changes = (args.retry_days, args.grace_days, args.final_action, args.hard_codes, args.soft_codes)
        if any(v is not None for v in changes):
            policy = save_policy(
                retry_days=args.retry_days if args.retry_days is not None else ",".join(map(str, policy.retry_days)),
                hard_codes=args.hard_codes if args.hard_codes is not None else ",".join(sorted(policy.hard_codes)),
                soft_codes=args.soft_codes if args.soft_codes is not None else ",".join(sorted(policy.soft_codes)),
                grace_days=args.grace_days if args.grace_days is not None else policy.grace_days,
                final_action=args.final_action or policy.final_action, at=now())
        return policy_json(policy)

    @cli.command("sandbox card-schedule")
    def cmd_schedule(args):
        from django.conf import settings
        from django.utils.translation import gettext as _

        from assina.cli_support import parse_time
        from assina.customers.services import get_customer

        from .sandbox import schedule_card
        from .services import PaymentError

        if settings.ASSINA_GATEWAY != "sandbox":
            raise PaymentError(_("only sandbox cards can be scheduled"))
        c = get_customer(args.customer)
        method = c.default_payment_method
        if method is None:
            raise PaymentError(_("customer %(customer)s has no card") % {"customer": c.email})
        schedule_card(method.token, parse_time(args.at), args.decline_code.strip())
        return {"customer": c.email, "card": f"pm_{method.pk}", "at": _iso(parse_time(args.at)),
                "decline_code": args.decline_code.strip() or None}

    @cli.command("check")
    def cmd_check(args):
        from assina.checks import run_checks

        result = run_checks()
        if result["ok"]:
            return result
        # Exit code 1 with the violations (the CLI's other refusals use 2: nothing was asked wrongly here).
        if args.json:
            print(json.dumps(result, default=str))
        else:
            from django.utils.translation import gettext as _

            print(_("%(count)d violation(s):") % {"count": result["violations"]})
            for check, details in result["details"].items():
                for text in details:
                    print(f"  {check}: {text}")
        sys.exit(1)
