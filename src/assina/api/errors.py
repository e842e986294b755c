"""Every 4xx/5xx of the API as an RFC 9457 problem (``application/problem+json``).

A problem always carries a stable machine-readable ``code`` (clients branch on it; the wording
of ``title`` and ``detail`` is translated into the language of ``Accept-Language`` and may
change). The codes are listed in docs/api.md.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja.errors import AuthenticationError, HttpError, ValidationError

from assina.core.errors import DomainError, IllegalTransition

log = logging.getLogger("assina.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The title of each status: a short, fixed summary of the problem type (RFC 9457 §3.1.4).
TITLES = {
    400: gettext_lazy("Bad request"),
    401: gettext_lazy("Authentication required"),
    402: gettext_lazy("Payment declined"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Not found"),
    405: gettext_lazy("Method not allowed"),
    409: gettext_lazy("Conflict"),
    413: gettext_lazy("Request too large"),
    414: gettext_lazy("URL too long"),
    422: gettext_lazy("Unprocessable request"),
    429: gettext_lazy("Too many requests"),
    500: gettext_lazy("Internal error"),
    503: gettext_lazy("Service unavailable"),
}


class ApiProblem(Exception):
    """Raise anywhere under /api/v1 to answer with a problem."""

    def __init__(self, status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 errors: list[dict] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.errors = errors


def not_found(kind: str, ident: Any) -> ApiProblem:
    return ApiProblem(404, "resource_missing", _("no %(kind)s with id %(id)s") % {"kind": kind, "id": repr(str(ident))})


def nothing_to_change() -> ApiProblem:
    return ApiProblem(422, "nothing_to_change", _("say what to change"))


def problem_body(status: int, code: str, detail: str, *, instance: str | None = None,
                 errors: list[dict] | None = None) -> bytes:
    body: dict[str, Any] = {
        "type": f"urn:assina:problem:{code}",
        "title": str(TITLES.get(status, TITLES[400 if status < 500 else 500])),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return json.dumps(body, ensure_ascii=False).encode()


def problem_response(request: HttpRequest | None, status: int, code: str, detail: str, *,
                     headers: dict[str, str] | None = None, errors: list[dict] | None = None) -> HttpResponse:
    body = problem_body(status, code, detail, instance=request.path if request is not None else None, errors=errors)
    response = HttpResponse(body, status=status, content_type=f"{PROBLEM_CONTENT_TYPE}; charset=utf-8")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def domain_error_code(exc: DomainError) -> str:
    """A stable code for a business-rule refusal: the error's own ``code`` (e.g. a card's
    decline code) or its class name (``SubscriptionError`` → ``subscription_error``)."""
    code = getattr(exc, "code", None) or getattr(exc, "decline_code", None)
    return str(code) if code else _snake(type(exc).__name__)


def domain_error_status(exc: DomainError) -> int:
    status = getattr(exc, "status", None)
    if isinstance(status, int) and 400 <= status < 500:
        return status
    if isinstance(exc, IllegalTransition):
        return 409
    if type(exc).__name__ == "CardError":
        return 402  # like Stripe: the request was valid, the card said no
    return 422


def _validation_errors(exc: ValidationError) -> list[dict]:
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ())]
        errors.append({"loc": loc, "message": str(error.get("msg", "")), "type": str(error.get("type", ""))})
    return errors


def install(api) -> None:
    """Map every exception the API (and the routers it mounts) can raise to a problem."""
    from assina.i18n import localized_message

    def on_problem(request, exc: ApiProblem):
        return problem_response(request, exc.status, exc.code, exc.detail, headers=exc.headers, errors=exc.errors)

    def on_validation(request, exc: ValidationError):
        # Stripe saves no idempotent result for a request that never started executing.
        request._assina_idempotency_skip = True
        errors = _validation_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(request, 400, "invalid_json", _("the request body is not valid JSON"), errors=errors)
        return problem_response(request, 422, "validation_error",
                                _("the request does not match the schema: see errors"), errors=errors)

    def on_domain(request, exc: DomainError):
        return problem_response(request, domain_error_status(exc), domain_error_code(exc), localized_message(exc))

    def on_404(request, exc: Http404):
        return problem_response(request, 404, "resource_missing", _("not found"))

    def on_auth(request, exc: AuthenticationError):
        return problem_response(request, 401, "authentication_required",
                                _("send an API key: Authorization: Bearer sk_…"), headers={"WWW-Authenticate": "Bearer"})

    def on_http(request, exc: HttpError):
        if exc.status_code == 400:  # ninja's only 400: a body it cannot parse
            request._assina_idempotency_skip = True
            return problem_response(request, 400, "invalid_json", _("the request body is not valid JSON"))
        return problem_response(request, exc.status_code, "http_error", str(exc))

    def on_django_validation(request, exc: DjangoValidationError):
        return problem_response(request, 422, "invalid_request", "; ".join(str(m) for m in exc.messages))

    def on_missing(request, exc: ObjectDoesNotExist):
        return problem_response(request, 404, "resource_missing", _("not found"))

    def on_too_big(request, exc: RequestDataTooBig):
        return problem_response(request, 413, "request_too_large", _("the request body is too large"))

    def on_integrity(request, exc: IntegrityError):
        # A database constraint (one invoice per period, unique codes...) refused a write the
        # services did not foresee: nothing was written; logged because it is a missing check.
        log.exception("constraint refused %s %s", request.method, request.path)
        return problem_response(request, 409, "conflict", _("this conflicts with existing data; nothing was changed"))

    def on_unexpected(request, exc: Exception):
        log.exception("unexpected error in %s %s", request.method, request.path)
        return problem_response(request, 500, "internal_error", _("an unexpected error happened; it has been logged"))

    api.add_exception_handler(ApiProblem, on_problem)
    api.add_exception_handler(ValidationError, on_validation)
    api.add_exception_handler(DomainError, on_domain)
    api.add_exception_handler(Http404, on_404)
    api.add_exception_handler(AuthenticationError, on_auth)
    api.add_exception_handler(HttpError, on_http)
    api.add_exception_handler(DjangoValidationError, on_django_validation)
    api.add_exception_handler(ObjectDoesNotExist, on_missing)
    api.add_exception_handler(RequestDataTooBig, on_too_big)
    api.add_exception_handler(IntegrityError, on_integrity)
    api.add_exception_handler(Exception, on_unexpected)
