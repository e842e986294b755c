"""Operator accounts for the admin: creating the first one (``assina createadmin``), Django's
password validators on every password set here, and the admin login throttled per user name
and per client address (``throttle``, ``views``)."""

from __future__ import annotations

import secrets


def ensure_admin(username: str = "admin", password: str | None = None) -> tuple[str, str]:
    """Create the admin user, or reset its password; returns the login to print once.

    A password that Django's validators (``AUTH_PASSWORD_VALIDATORS``) refuse raises their
    ``ValidationError`` (the CLI prints its messages and exits 2) and nothing is saved."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.db import transaction

    password = password or secrets.token_urlsafe(12)
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(username=username).first() or User(username=username)
        validate_password(password, user)  # before anything is written
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
    return username, password
