"""``Idempotency-Key`` on POST requests, with Stripe's semantics.

- The first request with a key runs; its response (status and body) is stored and replayed
  to any retry with the same key for ``ASSINA_API_IDEMPOTENCY_HOURS`` (24 h), with the header
  ``Idempotent-Replayed: true``. Older records are deleted by the job ``api_idempotency_purge``
  (``assina.api.jobs``).
- The same key with other parameters (method, path or body) → 422 ``idempotency_key_reused``.
- The same key while the first request still runs → 409 ``idempotency_request_in_progress``.
- Keys belong to the API key that sent them.
- A request refused by schema validation before it ran stores nothing (as Stripe does).

Two workers agree through the unique (API key, key) constraint: the insert that wins runs the
request. A row left "in flight" by a process that died is taken over after
``ASSINA_API_IDEMPOTENCY_LOCK_SECONDS``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from .errors import ApiProblem
from .keys import wall_clock
from .models import IdempotencyRecord, replay_window

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


def _lock_timeout() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "ASSINA_API_IDEMPOTENCY_LOCK_SECONDS", 300)))


def fingerprint(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request.body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass
class Claim:
    """This request owns the key: run it, then ``finish`` (or ``abandon``)."""

    record_id: int


def begin(request: HttpRequest, api_key_id: int, key: str) -> Claim | HttpResponse:
    """Claim ``key`` for this request, or return the stored response to replay."""
    if not key or len(key) > MAX_LENGTH or not key.isprintable():
        raise ApiProblem(400, "idempotency_key_invalid",
                         _("an Idempotency-Key is 1 to %(max)d printable characters") % {"max": MAX_LENGTH})
    print_ = fingerprint(request)
    for _attempt in range(3):
        now = wall_clock()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(api_key_id=api_key_id, key=key, fingerprint=print_,
                                                          method=request.method, path=request.path[:500], created_at=now)
            return Claim(record.pk)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(api_key_id=api_key_id, key=key).first()
        if existing is None:
            continue  # deleted meanwhile (expired or abandoned): try to claim it again
        stale = existing.created_at < now - replay_window() or (
            existing.response_status is None and existing.created_at < now - _lock_timeout())
        if stale:
            # Expired, or left in flight by a process that died: only one taker wins this delete.
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.response_status is None:
            raise ApiProblem(409, "idempotency_request_in_progress",
                             _("a request with this Idempotency-Key is still being processed; retry later"),
                             headers={"Retry-After": "1"})
        if existing.fingerprint != print_:
            raise ApiProblem(422, "idempotency_key_reused",
                             _("this Idempotency-Key was used with other parameters (%(method)s %(path)s); use a new key")
                             % {"method": existing.method, "path": existing.path})
        response = HttpResponse(bytes(existing.response_body or b""), status=existing.response_status,
                                content_type=existing.response_content_type or "application/json")
        response["Idempotent-Replayed"] = "true"
        return response
    raise ApiProblem(409, "idempotency_request_in_progress",
                     _("a request with this Idempotency-Key is still being processed; retry later"), headers={"Retry-After": "1"})


def finish(claim: Claim, response: HttpResponse) -> None:
    IdempotencyRecord.objects.filter(pk=claim.record_id).update(
        response_status=response.status_code, response_body=without_secret(bytes(response.content)),
        response_content_type=response.get("Content-Type", ""), completed_at=wall_clock())


def without_secret(content: bytes) -> bytes:
    """The stored copy of an answer that shows a secret once (a new webhook endpoint's signing
    secret) has it masked: a replay of the request answers ``"secret": "whsec_…a1b2"``, so a
    logged or leaked Idempotency-Key never yields the secret again (issue 14)."""
    if b'"secret"' not in content:
        return content
    try:
        body = json.loads(content)
    except ValueError:
        return content
    secret = body.get("secret") if isinstance(body, dict) else None
    if not isinstance(secret, str) or len(secret) < 8:
        return content
    prefix = secret[:secret.index("_") + 1] if "_" in secret[:12] else ""
    masked = f"{prefix}…{secret[-4:]}"
    stored = content.replace(json.dumps(secret).encode(), json.dumps(masked, ensure_ascii=False).encode())
    if stored == content or secret.encode() in stored:  # written some other way (escaped): write it anew
        stored = json.dumps({**body, "secret": masked}, ensure_ascii=False).encode()
    return stored


def abandon(claim: Claim) -> None:
    """Nothing ran (the request was refused before it started): free the key."""
    IdempotencyRecord.objects.filter(pk=claim.record_id).delete()
