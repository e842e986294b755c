"""The database's mode, recorded once, and the agreement every process checks before it acts.

``assina migrate`` records the mode (``ASSINA_MODE`` at that moment) in the one
``Installation`` row the first time (``record_mode``, run on Django's ``post_migrate``). From
then on the database says what it is: a web process, a worker or a CLI command whose
``ASSINA_MODE`` differs refuses to start or act (``require_agreement``), so a live database
opened with a forgotten variable never moves its clock or takes sandbox keys. A sandbox
database becomes live only through ``assina mode set live`` (``services.switch_to_live``).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from assina.core.errors import DomainError

from . import queries
from .models import Installation


class ModeMismatch(DomainError):
    """The process's ASSINA_MODE is not the database's mode (or the database has none yet)."""


def new_signing_key() -> str:
    return secrets.token_urlsafe(48)


def record_mode(using: str = DEFAULT_DB_ALIAS) -> Installation:
    """The installation row, created with this process's mode when the database has none."""
    mode = settings.ASSINA_MODE
    # Wall-clock time: the sandbox's test clock does not exist before the database does.
    row, created = Installation.objects.using(using).get_or_create(pk=1, defaults={
        "mode": mode, "created_at": datetime.now(timezone.utc),
        "link_signing_key": new_signing_key() if mode == Installation.Mode.SANDBOX else ""})
    if created:
        forget_link_signing_key()
    return row


def recorded_mode() -> str | None:
    """The database's mode, or None when it has not been recorded (run ``assina migrate``).

    A database without the table raises the database error: the CLI answers it with its
    "run assina migrate" hint.
    """
    return queries.recorded_mode()


def mismatch_message(database_mode: str | None) -> str | None:
    """Why this process must not act on this database, or None when the modes agree."""
    process_mode = settings.ASSINA_MODE
    if database_mode == process_mode:
        return None
    if database_mode is None:
        return _("this database has no recorded mode: run 'assina migrate' with ASSINA_MODE set to the mode it is for")
    if database_mode == Installation.Mode.LIVE:
        return _("this database is live but ASSINA_MODE is %(mode)s: set ASSINA_MODE=live (with the live settings of "
                 "docs/deploy.md) or point ASSINA_DATABASE_URL at a sandbox database") % {"mode": process_mode}
    return _("this database is a sandbox but ASSINA_MODE is %(mode)s: set ASSINA_MODE=sandbox, point "
             "ASSINA_DATABASE_URL at the live database, or make this one live with 'assina mode set live'") % {
        "mode": process_mode}


def require_agreement() -> None:
    """Raise ``ModeMismatch`` unless the database's recorded mode is ``ASSINA_MODE``."""
    message = mismatch_message(recorded_mode())
    if message is not None:
        raise ModeMismatch(message)


_sandbox_key: list[str] = []  # the key read by this process, once


def link_signing_key() -> str:
    """The key that signs and checks the links in customer messages.

    Live: ``ASSINA_SECRET_KEY`` (checked strong at start-up). Sandbox: the database's own random
    key, made at migrate, so a sandbox never signs with a key published in the source. Read once
    per process (a campaign signs one link per recipient).
    """
    if settings.ASSINA_MODE == Installation.Mode.LIVE:
        return settings.SECRET_KEY
    if _sandbox_key:
        return _sandbox_key[0]
    row = Installation.objects.filter(pk=1).values_list("mode", "link_signing_key").first()
    if row is None or row[0] != Installation.Mode.SANDBOX or not row[1]:
        raise ModeMismatch(mismatch_message(row[0] if row else None)
                           or _("this database has no link signing key: run 'assina migrate'"))
    _sandbox_key[:] = [row[1]]
    return row[1]


def forget_link_signing_key() -> None:
    """Read the key again at next use (after the row changed: tests, a switch to live)."""
    _sandbox_key.clear()
