"""Commands this app adds to ``assina`` (see ``assina.cli_support.CliBuilder``): ``assina email ...``
and ``assina campaign ...``. Django is imported inside the handlers only."""

from assina.cli_support import CODE, EMAIL, date_or_time, integer, text


def register(cli) -> None:
    email = cli.group("email", help="customer messages: the outbox, test sends")
    p = cli.add("list", "messages in the outbox (newest first)", email)
    p.add_argument("--customer", type=text(EMAIL), help="email or id of a customer")
    p.add_argument("--status", type=text(CODE), help="queued, sent, failed, invalid, suppressed, skipped")
    p.add_argument("--limit", type=integer(1, 10_000), default=50)
    p = cli.add("send-test", "send a message template filled with sample values to an address", email)
    p.add_argument("--to", required=True, type=text(EMAIL))
    p.add_argument("--template", required=True, type=text(CODE), help="welcome, receipt, payment_failed, ...")
    p.add_argument("--locale", default="en", type=text(8), help="en or pt-BR")
    cli.add("send", "produce and send every message due now (what the worker does)", email)

    campaign = cli.group("campaign", help="marketing campaigns to saved segments")
    cli.add("list", "campaigns with their counts", campaign)
    p = cli.add("send", "queue a campaign for its segment now, or schedule it with --at", campaign)
    p.add_argument("campaign_id", type=integer(1))
    p.add_argument("--at", type=date_or_time, help="ISO time to send it (default: now)")

    cli.command("email list")(cmd_email_list)
    cli.command("email send-test")(cmd_email_send_test)
    cli.command("email send")(cmd_email_send)
    cli.command("campaign list")(cmd_campaign_list)
    cli.command("campaign send")(cmd_campaign_send)


def _row(message) -> dict:
    return {"id": message.pk, "to": message.to_email, "template": message.template, "locale": message.locale,
            "subject": message.subject, "status": message.status, "attempts": message.attempts,
            "due_at": message.due_at.isoformat(), "sent_at": message.sent_at.isoformat() if message.sent_at else None,
            "provider_response": message.provider_response}


def cmd_email_list(args):
    from assina.customers.services import get_customer
    from assina.notifications.models import Message

    query = Message.objects.all()
    if args.customer:
        query = query.filter(customer=get_customer(args.customer))
    if args.status:
        query = query.filter(status=args.status)
    return {"messages": [_row(m) for m in query.order_by("-id")[: max(1, args.limit)]]}


def cmd_email_send_test(args):
    import uuid

    from django.utils.translation import gettext as _

    from assina.time import now
    from assina.core.errors import DomainError
    from assina.notifications.catalog import MESSAGES
    from assina.notifications.models import Message
    from assina.notifications.outbox import Draft, queue, test_context
    from assina.notifications.rendering import message_locale
    from assina.notifications.sending import send_due

    if args.template not in MESSAGES:
        raise DomainError(_("unknown message template %(name)s (use one of: %(names)s)")
                          % {"name": repr(args.template), "names": ", ".join(MESSAGES)})
    at = now()
    draft = Draft(key=f"test:{uuid.uuid4().hex}", template=args.template, customer=None, due_at=at,
                  context=test_context(args.template, args.locale), to_email=args.to,
                  locale=message_locale(args.locale), kind=Message.Kind.TEST)
    queue([draft], at)
    send_due(at, at_due_time=False)
    return _row(Message.objects.get(key=draft.key))


def cmd_email_send(args):
    from assina.time import now
    from assina.notifications.jobs import run

    return run(now(), at_due_time=False)


def cmd_campaign_list(args):
    from assina.notifications.campaigns import stats
    from assina.notifications.models import Campaign

    campaigns = list(Campaign.objects.select_related("segment").order_by("-id"))
    counts = stats([c.pk for c in campaigns])
    return {"campaigns": [{"id": c.pk, "name": c.name, "segment": c.segment.name, "status": c.status,
                           "scheduled_at": c.scheduled_at.isoformat() if c.scheduled_at else None,
                           "recipients": c.recipients, **counts[c.pk]} for c in campaigns]}


def cmd_campaign_send(args):
    from django.utils.translation import gettext as _

    from assina.cli_support import parse_time
    from assina.time import now
    from assina.core.errors import DomainError
    from assina.notifications import campaigns
    from assina.notifications.models import Campaign
    from assina.notifications.rendering import TemplateError

    if not Campaign.objects.filter(pk=args.campaign_id).exists():
        raise DomainError(_("unknown campaign %(id)s") % {"id": args.campaign_id})
    try:
        if args.at:
            campaign = campaigns.schedule(args.campaign_id, parse_time(args.at))
            return {"id": campaign.pk, "status": campaign.status, "scheduled_at": campaign.scheduled_at.isoformat()}
        counts = campaigns.send_now(args.campaign_id, now())
    except TemplateError as exc:
        raise DomainError(str(exc)) from None
    return {"id": args.campaign_id, "status": "queued", **{str(k): v for k, v in counts.items()}}
