"""What every operation of /api/v1 goes through, whichever router defines it.

Installed with ``api.add_decorator(guard, mode="view")``, so it wraps the routers the API
mounts (usage, webhooks, metrics) as well as its own: authentication by API key, the write
scope for anything but reads, the per-key rate limit, and ``Idempotency-Key`` on POST.
"""

from __future__ import annotations

import functools
import math

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from . import idempotency, ratelimit
from .errors import ApiProblem, problem_response
from .keys import Authenticated, authenticate

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_REFUSALS = {
    "invalid_api_key": lambda: _("this API key is not valid"),
    "api_key_revoked": lambda: _("this API key has been revoked"),
    "wrong_mode_key": lambda: _("this key belongs to another mode: this server runs in %(mode)s mode") ,
}


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticated(request: HttpRequest) -> Authenticated:
    if hasattr(request, "api_key"):
        return request.api_key
    token = _bearer(request)
    if token is None:
        raise ApiProblem(401, "authentication_required", _("send an API key: Authorization: Bearer sk_…"),
                         headers={"WWW-Authenticate": "Bearer"})
    result = authenticate(token)
    if isinstance(result, str):
        from django.conf import settings

        detail = _REFUSALS[result]() % {"mode": settings.ASSINA_MODE} if result == "wrong_mode_key" else _REFUSALS[result]()
        raise ApiProblem(401, result, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.api_key = result
    return result


def guard(run):
    @functools.wraps(run)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            key = authenticated(request)
            if request.method not in READ_METHODS and not key.can_write:
                raise ApiProblem(403, "insufficient_scope", _("this API key can only read; use a key with the write scope"))
            wait = ratelimit.check(key.id)
            if wait is not None:
                seconds = max(1, math.ceil(wait))
                raise ApiProblem(429, "rate_limited", _("too many requests for this API key; retry in %(seconds)d s")
                                 % {"seconds": seconds}, headers={"Retry-After": str(seconds)})
            claim = None
            if request.method == "POST" and idempotency.HEADER in request.headers:
                try:
                    request.body  # noqa: B018 - read it now, where a too large body can be answered
                except RequestDataTooBig:
                    raise ApiProblem(413, "request_too_large", _("the request body is too large")) from None
                outcome = idempotency.begin(request, key.id, request.headers[idempotency.HEADER])
                if isinstance(outcome, HttpResponse):
                    return outcome
                claim = outcome
        except ApiProblem as exc:
            return problem_response(request, exc.status, exc.code, exc.detail, headers=exc.headers, errors=exc.errors)
        if claim is None:
            return run(request, *args, **kwargs)
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            idempotency.abandon(claim)  # nothing was answered: the client may retry with the key
            raise
        if getattr(request, "_assina_idempotency_skip", False):
            idempotency.abandon(claim)
        else:
            idempotency.finish(claim, response)
        return response

    return guarded
