"""A real SMTP server for the message tests: aiosmtpd on 127.0.0.1, on a free port.

What it received is parsed with the standard ``email`` package. ``reject`` makes it refuse a
recipient with a given reply (``"550 5.1.1 no such user"``, ``"451 4.3.0 try later"``).
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reject: dict[str, str] = {}

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 Ok: queued"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"].addresses[0].addr_spec == address]


@contextmanager
def smtp_server(port: int | None = None):
    """Yields (inbox, port)."""
    port = port or free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def parts(message) -> tuple[str, str]:
    """The plain text and HTML parts of a multipart/alternative message (nbsp as spaces)."""
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content().replace("\xa0", " ")
    html = message.get_body(("html",)).get_content().replace("\xa0", " ")
    return text, html


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def sent_on(message):
    return parsedate_to_datetime(message["Date"]).date()


def path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path


def web_transactions():
    """Real transactions (the payment flow commits before it charges) with the apps a web
    request needs (sessions, auth, admin) besides Assina's."""
    import pytest
    from factories import ASSINA_APPS

    return pytest.mark.django_db(transaction=True, available_apps=[
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions",
        "django.contrib.messages", "django.contrib.staticfiles", *ASSINA_APPS])
