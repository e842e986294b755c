"""Creating, finding and revoking API keys.

A key is ``sk_<mode>_<43 url-safe characters>`` (256 random bits), and its row records the mode
it was made in. A request is served only when the secret's prefix, the key row's mode, the
database's recorded mode (``assina.clock.installation``) and the process's ``ASSINA_MODE`` all
agree: a sandbox key minted before a database was switched to live never reads live data. Only
its SHA-256 is stored; the secret is shown once.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from assina.clock.installation import mismatch_message, require_agreement
from assina.core.errors import DomainError

from .errors import ApiProblem
from .models import ApiKey
from .queries import key_by_hash

MODES = ("sandbox", "live")
# last_used_at is written at most this often per key and process: a read must not cost a write.
LAST_USED_RESOLUTION = 60.0
_last_used_written: dict[str, float] = {}  # by key hash


class ApiKeyError(DomainError):
    pass


def wall_clock() -> datetime:
    """The real time: keys and HTTP retries live in real time, not on a sandbox's test clock."""
    return datetime.now(timezone.utc)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mode_of(secret: str) -> str | None:
    for mode in MODES:
        if secret.startswith(f"sk_{mode}_"):
            return mode
    return None


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once, never stored


def create_key(*, scope: str, name: str = "") -> NewKey:
    if scope not in ApiKey.Scope.values:
        raise ApiKeyError(_("scope must be 'read' or 'write', not %(scope)s") % {"scope": repr(scope)})
    require_agreement()  # a key is minted only in the database's own mode
    mode = settings.ASSINA_MODE
    secret = f"sk_{mode}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(name=name.strip()[:100], mode=mode, scope=scope, key_hash=hash_secret(secret),
                                hint=f"sk_{mode}_…{secret[-4:]}", created_at=wall_clock())
    return NewKey(key, secret)


def find_key(ident: str | int) -> ApiKey:
    value = str(ident).strip()
    query = ApiKey.objects.filter(pk=int(value)) if value.isdigit() else ApiKey.objects.filter(Q(name=value) | Q(key_hash=hash_secret(value)))
    keys = list(query[:2])
    if len(keys) != 1:
        raise ApiKeyError(_("unknown API key %(key)s (give its id, its name or the secret)") % {"key": repr(value)}
                          if not keys else _("more than one API key is named %(key)s; give its id") % {"key": repr(value)})
    return keys[0]


def revoke_key(ident: str | int) -> ApiKey:
    key = find_key(ident)
    if key.revoked_at is None:
        key.revoked_at = wall_clock()
        key.save(update_fields=["revoked_at"])
    return key


@dataclass(frozen=True)
class Authenticated:
    id: int
    scope: str
    mode: str

    @property
    def can_write(self) -> bool:
        return self.scope == ApiKey.Scope.WRITE


def authenticate(secret: str) -> Authenticated | str:
    """The key behind a secret, or the problem code that refuses it."""
    mode = mode_of(secret)
    if mode is None:
        return "invalid_api_key"
    if mode != settings.ASSINA_MODE:
        return "wrong_mode_key"
    digest = hash_secret(secret)
    # The row is read on every request (a fixed statement, api.queries), so a revoked key is
    # refused at once, by every process.
    row = key_by_hash(digest)
    if row is None:
        return "invalid_api_key"
    pk, scope, revoked_at, key_mode, database_mode = row
    if database_mode != settings.ASSINA_MODE:
        # This process must not serve this database at all (assina.clock.installation).
        raise ApiProblem(503, "database_mode_mismatch", mismatch_message(database_mode))
    if key_mode != database_mode:
        return "wrong_mode_key"
    if revoked_at is not None:
        return "api_key_revoked"
    _touch(pk, digest)
    return Authenticated(pk, scope, mode)


def _touch(pk: int, digest: str) -> None:
    now = time.time()
    if now - _last_used_written.get(digest, 0.0) < LAST_USED_RESOLUTION:
        return
    _last_used_written[digest] = now
    at = wall_clock()
    # The condition keeps other processes from rewriting it within the same minute.
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=at - timedelta(seconds=LAST_USED_RESOLUTION)),
                          pk=pk).update(last_used_at=at)
