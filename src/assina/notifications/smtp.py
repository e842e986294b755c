"""Where mail goes: ``ASSINA_SMTP_URL``.

- ``console`` (default): messages are printed on standard error (development).
- ``smtp://user:pass@host:587``: SMTP with STARTTLS (required when a password is given, so it
  never crosses the network in clear; ``?starttls=off`` for a local relay without TLS).
- ``smtps://user:pass@host:465``: implicit TLS.
- ``file:DIRECTORY`` (or ``file:///absolute/dir``): each message is written to the directory as
  an ``.eml`` file any mail client opens (the demo uses it: a simulated business sends
  thousands of messages, too many for a terminal).

Failures are sorted into what the sender does next: ``PermanentFailure`` (a 5xx about this
message: mark it failed), ``TemporaryFailure`` (a 4xx about this message: retry it later) and
``ServerUnavailable`` (cannot connect, authenticate or the connection dropped: every message
waits, none is lost).
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from pathlib import Path
from email.header import decode_header, make_header
from email.message import Message
from urllib.parse import parse_qs, unquote, urlsplit


class PermanentFailure(Exception):
    pass


class TemporaryFailure(Exception):
    pass


class ServerUnavailable(Exception):
    pass


def _reply(code: int, message) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}"[:500]


def _decoded(value) -> str:
    return str(make_header(decode_header(str(value))))


class FileTransport:
    """Writes each message to ``directory`` as ``<Message-ID>.eml``. A message sent again (after
    a crash) has the same Message-ID and overwrites its own file: one file per message."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServerUnavailable(f"cannot create the mail directory {directory}: {exc}") from exc

    def send(self, message: Message, sender: str, recipient: str) -> str:
        name = (message.get("Message-ID") or "").strip("<>").split("@")[0] or "message"
        path = self.directory / f"{name}.eml"
        try:
            path.write_bytes(message.as_bytes())
        except OSError as exc:
            raise ServerUnavailable(f"cannot write {path}: {exc}") from exc
        return f"file: {path}"

    def close(self) -> None:
        pass


class ConsoleTransport:
    """Prints messages on standard error: standard output belongs to the command that runs the job
    (``assina clock advance --json`` prints its result there)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def send(self, message: Message, sender: str, recipient: str) -> str:
        # The headers and the plain-text part: readable in a terminal (the HTML is in the admin).
        headers = "".join(f"{name}: {_decoded(value)}\n" for name, value in message.items()
                          if name.lower() not in ("mime-version", "content-type", "content-transfer-encoding"))
        text = next((part.get_payload(decode=True).decode("utf-8") for part in message.walk()
                     if part.get_content_type() == "text/plain"), "")
        self.stream.write(headers + "\n" + text + "-" * 72 + "\n")
        self.stream.flush()
        return "console: printed"

    def close(self) -> None:
        pass


class SmtpTransport:
    def __init__(self, url: str, timeout: float = 30.0):
        parts = urlsplit(url)
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.starttls = options.get("starttls", "require" if self.password else "auto")
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        try:
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if not self.implicit_tls and self.starttls != "off":
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif self.starttls == "require":
                    smtp.close()
                    raise ServerUnavailable("the SMTP server does not offer STARTTLS; refusing to send the password in clear")
            if self.user:
                smtp.login(self.user, self.password)
        except ServerUnavailable:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}"[:500]) from exc
        return smtp

    def send(self, message: Message, sender: str, recipient: str) -> str:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        recipients = [recipient]
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                self._reset()
                raise (PermanentFailure if code >= 500 else TemporaryFailure)(_reply(code, reply))
            for recipient in recipients:
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    self._reset()
                    raise (PermanentFailure if code >= 500 else TemporaryFailure)(_reply(code, reply))
            code, reply = smtp.data(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))  # SMTP wants CRLF
            if code != 250:
                raise (PermanentFailure if code >= 500 else TemporaryFailure)(_reply(code, reply))
            return _reply(code, reply)
        except smtplib.SMTPResponseException as exc:
            self._reset()
            if exc.smtp_code == 421:  # the server is closing the connection
                self.close()
                raise ServerUnavailable(_reply(exc.smtp_code, exc.smtp_error)) from exc
            raise (PermanentFailure if exc.smtp_code >= 500 else TemporaryFailure)(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}"[:500]) from exc

    def _reset(self) -> None:
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def open_transport(url: str | None = None):
    from django.conf import settings

    url = url or settings.ASSINA_SMTP_URL
    if url == "console":
        return ConsoleTransport()
    if url.startswith("file:"):
        directory = urlsplit(url).path if url.startswith("file://") else url[len("file:"):]
        if not directory:
            raise ServerUnavailable("ASSINA_SMTP_URL file: needs a directory, e.g. file:mail or file:///var/mail/assina")
        return FileTransport(unquote(directory))
    if url.startswith(("smtp://", "smtps://")):
        return SmtpTransport(url)
    raise ServerUnavailable(f"ASSINA_SMTP_URL must be 'console', file:DIRECTORY, smtp://... or smtps://..., not {url!r}")
