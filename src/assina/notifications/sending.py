"""Sending due messages from the outbox.

A worker *claims* due rows (status ``sending`` with a wall-clock lease; ``SKIP LOCKED`` on
PostgreSQL so two workers never take the same row), sends them over one SMTP connection, and
marks each one in a single UPDATE that stores the status and the server's reply together. A
worker that crashes after sending but before marking leaves a claimed row: when the lease
expires it is sent again with the *same* Message-ID, which receivers use to drop the copy.
Temporary failures wait with exponential backoff; a server that is down delays everything and
loses nothing; a permanent (5xx) refusal is marked ``failed`` and shown in the admin.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from .models import Message
from .outbox import mail_domain
from .producing import remake, wall_now
from .smtp import PermanentFailure, ServerUnavailable, TemporaryFailure, open_transport

BACKOFF = (60, 300, 1800, 7200, 21600)  # then every 6 hours, for as long as it takes
BATCH = 200


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF[min(attempts, len(BACKOFF)) - 1] if attempts else BACKOFF[0])


def from_address() -> str:
    return settings.ASSINA_EMAIL_FROM or formataddr((settings.ASSINA_BUSINESS_NAME, f"no-reply@{mail_domain()}"))


def build_email(message: Message, date: datetime) -> MIMEMultipart:
    """The MIME message: multipart/alternative (plain text, then HTML), stable Message-ID.

    Built with the ``email.mime`` classes: the header registry of ``EmailMessage`` costs
    milliseconds per message, which a billing run's thousands of receipts would feel."""
    email = MIMEMultipart("alternative")
    email["From"] = _header_address(from_address())
    email["To"] = message.to_email
    email["Subject"] = Header(message.subject, "utf-8") if not message.subject.isascii() else message.subject
    email["Date"] = format_datetime(date)
    email["Message-ID"] = message.message_id
    email["Content-Language"] = message.locale
    if settings.ASSINA_EMAIL_REPLY_TO:
        # Replies reach a person only when the business says where (the From is no-reply).
        email["Reply-To"] = _header_address(settings.ASSINA_EMAIL_REPLY_TO)
    if message.unsubscribe_url:
        # RFC 8058: the URL unsubscribes with a POST (one click in the mail client), never a GET.
        email["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    else:
        email["Auto-Submitted"] = "auto-generated"
    email.attach(MIMEText(message.text, "plain", "utf-8"))
    email.attach(MIMEText(message.html, "html", "utf-8"))
    return email


def _header_address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


def envelope_sender() -> str:
    return parseaddr(from_address())[1]


def claim(until: datetime, limit: int | None = None) -> list[Message]:
    wall = wall_now()
    with transaction.atomic():
        due = (Message.objects.filter(Q(status=Message.Status.QUEUED, next_attempt_at__lte=until)
                                      | Q(status=Message.Status.SENDING, claimed_until__lt=wall))
               .order_by("next_attempt_at", "id"))
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit or BATCH])
        if not ids:
            return []
        Message.objects.filter(pk__in=ids).update(status=Message.Status.SENDING,
                                                  claimed_until=wall + timedelta(seconds=settings.ASSINA_EMAIL_CLAIM_SECONDS))
    return list(Message.objects.filter(pk__in=ids).order_by("next_attempt_at", "id"))


MARK_EVERY = 20


class Outcomes:
    """What happened to each claimed message, written to the outbox every ``MARK_EVERY`` messages
    in one transaction (one UPDATE per message stores its status and the server's reply). A crash
    loses at most the last few marks: those messages are sent again with the same Message-ID."""

    def __init__(self) -> None:
        self.pending: list[tuple[int, dict]] = []

    def mark(self, message: Message, **fields) -> None:
        self.pending.append((message.pk, fields))
        if len(self.pending) >= MARK_EVERY:
            self.flush()

    def retry(self, message: Message, until: datetime, reply: str) -> None:
        attempts = message.attempts + 1
        self.mark(message, status=Message.Status.QUEUED, attempts=attempts, next_attempt_at=until + backoff(attempts),
                  provider_response=reply[:500])

    def flush(self) -> None:
        if not self.pending:
            return
        with transaction.atomic():
            for pk, fields in self.pending:
                # Only while it is still our claim.
                Message.objects.filter(pk=pk, status=Message.Status.SENDING).update(claimed_until=None, **fields)
        self.pending = []


def _recheck(batch: list[Message], until: datetime, at_due_time: bool, outcomes: Outcomes,
             counts: Counter) -> tuple[list[Message], dict[int, dict]]:
    """Check again the premise of the messages a later change can undo (``producing.remake``):
    those whose premise is gone are marked ``skipped`` with the reason and not sent; the others
    go out as made now, and that text is what the outbox keeps. Returns the messages to send
    and, by id, the fields to store with the ones made anew."""
    made = remake(batch, {m.pk: (m.due_at if at_due_time else until) for m in batch})
    if not made:
        return batch, {}
    kept, remade = [], {}
    for message in batch:
        fresh = made.get(message.pk)
        if fresh is None:
            kept.append(message)
        elif fresh.status == Message.Status.SKIPPED:
            outcomes.mark(message, status=Message.Status.SKIPPED, next_attempt_at=None,
                          provider_response=fresh.provider_response[:500])
            counts["emails_skipped"] += 1
        else:
            message.subject, message.html, message.text = fresh.subject, fresh.html, fresh.text
            remade[message.pk] = {"subject": fresh.subject, "html": fresh.html, "text": fresh.text}
            kept.append(message)
    return kept, remade


def send_due(until: datetime, *, at_due_time: bool, transport=None) -> Counter:
    counts: Counter = Counter()
    own_transport = transport is None
    sender = envelope_sender()
    outcomes = Outcomes()
    try:
        while True:
            batch = claim(until)
            if not batch:
                break
            batch, remade = _recheck(batch, until, at_due_time, outcomes, counts)
            if not batch:
                continue
            if transport is None:
                try:
                    transport = open_transport()
                except ServerUnavailable as exc:
                    for message in batch:
                        outcomes.retry(message, until, str(exc))
                    counts["emails_deferred"] += len(batch)
                    break
            down = None
            for message in batch:
                if down is not None:
                    outcomes.retry(message, until, down)
                    counts["emails_deferred"] += 1
                    continue
                date = message.due_at if at_due_time else until
                try:
                    reply = transport.send(build_email(message, date), sender, message.to_email)
                except PermanentFailure as exc:
                    outcomes.mark(message, status=Message.Status.FAILED, attempts=message.attempts + 1, next_attempt_at=None,
                                  provider_response=str(exc)[:500])
                    counts["emails_failed"] += 1
                except TemporaryFailure as exc:
                    outcomes.retry(message, until, str(exc))
                    counts["emails_deferred"] += 1
                except ServerUnavailable as exc:
                    down = str(exc)
                    outcomes.retry(message, until, down)
                    counts["emails_deferred"] += 1
                else:
                    outcomes.mark(message, status=Message.Status.SENT, attempts=message.attempts + 1, sent_at=date,
                                  next_attempt_at=None, provider_response=reply[:500], **remade.get(message.pk, {}))
                    counts["emails_sent"] += 1
            outcomes.flush()
            if down is not None:
                break
    finally:
        outcomes.flush()
        if own_transport and transport is not None:
            transport.close()
    return counts
