"""Operator accounts for the admin."""

from __future__ import annotations

import secrets


def ensure_admin(username: str = "admin", password: str | None = None) -> tuple[str, str]:
    """Create the admin user, or reset its password; returns the login to print once."""
    from django.contrib.auth import get_user_model

    password = password or secrets.token_urlsafe(9)
    User = get_user_model()
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True, "is_superuser": True})
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return username, password
