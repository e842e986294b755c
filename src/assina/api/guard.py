"""What every operation of /api/v1 goes through, whichever router defines it.

``ApiMiddleware`` (first in ``MIDDLEWARE``) gives /api/v1/ requests a short middleware chain.
``guard``, installed with ``api.add_decorator(guard, mode="view")``, wraps the routers the API
mounts (usage, webhooks, metrics) as well as its own: authentication by API key, the write
scope for anything but reads, the per-key rate limit, and ``Idempotency-Key`` on POST.
"""

from __future__ import annotations

import functools
import logging
import math
import re

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.locale import LocaleMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import ResolverMatch, get_resolver, get_urlconf
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from . import http_limits, idempotency, nul_characters, ratelimit
from .errors import ApiProblem, problem_response
from .keys import Authenticated, authenticate

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_REFUSALS = {
    "invalid_api_key": lambda: _("this API key is not valid"),
    "api_key_revoked": lambda: _("this API key has been revoked"),
    "wrong_mode_key": lambda: _("this key belongs to another mode: this server runs in %(mode)s mode") ,
}


def _bearer(request: HttpRequest) -> str | None:
    # META, not request.headers: that builds a dict of every header on first use.
    header = request.META.get("HTTP_AUTHORIZATION", "")
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
            body = None
            if request.method == "POST":
                try:
                    body = request.body  # read it now, where a too large body can be answered
                except RequestDataTooBig:
                    raise ApiProblem(413, "request_too_large", _("the request body is too large")) from None
            place = nul_characters.where_nul(request, body)
            if place is not None:
                raise nul_characters.nul_problem(place)
            if request.method == "POST" and idempotency.HEADER in request.headers:
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


API_PREFIX = "/api/v1/"
# /api/v1/subscriptions/<id>: what a developer's site asks on every page view. Django's resolver
# walks three levels of includes and a dozen patterns to find it (a tenth of the read's CPU); this
# is the same route (one path segment, as ninja's "{subscription_id}" matches), and the view is
# the one the resolver gives for it, looked up once (see ApiMiddleware._hot_route).
HOT_ROUTE = re.compile(r"/api/v1/subscriptions/(?P<subscription_id>[^/]+)\Z")
HOT_SAMPLE = "/api/v1/subscriptions/sub_1"


class ApiLocaleMiddleware(LocaleMiddleware):
    """LocaleMiddleware for a site without language prefixes in its URLs, in two lookups.

    Same outcome (language from the cookie or Accept-Language; Vary and Content-Language on
    the response) without the URL-prefix checks that cost a regex per request each way.
    """

    def process_request(self, request):
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()

    def process_response(self, request, response):
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class ApiHostMiddleware:
    """A Host header outside ALLOWED_HOSTS: the API's ``400 bad_host`` problem.

    Django would answer its HTML 400 page (CommonMiddleware asks for the host first). Placed
    after the language middleware, so the problem speaks the request's language, and before
    CommonMiddleware. Logged as Django logs it (``django.security.DisallowedHost``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost as exc:
            logging.getLogger("django.security.DisallowedHost").error(str(exc), extra={"status_code": 400, "request": request})
            return problem_response(request, 400, "bad_host",
                                    _("this server does not answer to the host in the Host header"))
        return self.get_response(request)


def _without_body(response: HttpResponse) -> HttpResponse:
    """A HEAD answer: the GET answer's status and headers (Content-Length included), no body.

    Not left to the server: Django's WSGI handler sends a body as it is, whatever the method.
    """
    if response.streaming:
        response.streaming_content = []  # the headers (a file's Content-Length) stay
    else:
        if not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        response.content = b""
    return response


class ApiMiddleware:
    """/api/v1/ requests skip the middleware that only browser pages use.

    First in ``MIDDLEWARE``. An API request is authenticated by its key, never by a cookie, so
    whitenoise (static files), sessions, CSRF, user authentication and messages have nothing to
    do for it, yet they cost a third of a subscription read's CPU. /api/v1/ gets its own chain:
    the security headers, the language (problems follow Accept-Language), the host check and
    Content-Length, X-Frame-Options -- the same middleware classes, so the same behaviour --
    and then the URL's view, as Django's handler would call it. Every other path (admin,
    dashboard, customer pages) goes through the whole ``MIDDLEWARE`` list unchanged.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        # The short LocaleMiddleware is only right while no URL carries a language prefix.
        locale = ApiLocaleMiddleware if not is_language_prefix_patterns_used(settings.ROOT_URLCONF)[0] else LocaleMiddleware
        chain = convert_exception_to_response(self._view)
        for middleware in reversed((SecurityMiddleware, locale, ApiHostMiddleware, CommonMiddleware, XFrameOptionsMiddleware)):
            chain = convert_exception_to_response(middleware(chain))
        self.api_chain = chain

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            response = self.api_chain(request)
            # HEAD: whatever GET would answer (problems included), without the body.
            return _without_body(response) if request.method == "HEAD" else response
        return self.get_response(request)

    _hot: ResolverMatch | None | bool = False  # False: not looked up yet; None: the URLconf differs

    def _hot_route(self) -> ResolverMatch | None:
        """The resolver's answer for the hot route, if the URLconf still routes it as HOT_ROUTE says."""
        if self._hot is False:
            try:
                match = get_resolver(get_urlconf()).resolve(HOT_SAMPLE)
            except Exception:  # noqa: BLE001 - no such route: every request takes the resolver
                match = None
            expected = HOT_ROUTE.match(HOT_SAMPLE).groupdict()
            self._hot = match if match is not None and match.kwargs == expected and not match.args else None
        return self._hot

    def _match(self, request: HttpRequest) -> ResolverMatch:
        hot = HOT_ROUTE.match(request.path_info)
        sample = self._hot_route() if hot is not None else None
        if sample is not None:  # the same view and arguments the resolver would give
            return ResolverMatch(sample.func, (), hot.groupdict(), sample.url_name, sample.app_names,
                                 sample.namespaces, sample.route, captured_kwargs=hot.groupdict())
        return get_resolver(get_urlconf()).resolve(request.path_info)

    def _view(self, request: HttpRequest) -> HttpResponse:
        """What ``BaseHandler._get_response`` does, less the hooks no API middleware has.

        HEAD is answered as GET (RFC 9110 §9.3.2): the operations declare GET only, so the view
        runs as a GET; ``__call__`` drops the body.
        """
        if http_limits.url_too_long(request):
            return http_limits.uri_too_long_response()
        head = request.method == "HEAD"
        if head:
            request.method = "GET"
        try:
            response = self._respond(request)
        finally:
            if head:
                request.method = "HEAD"
        if isinstance(response, HttpResponseNotAllowed):
            # django-ninja answers a method a path does not have with a plain-text page.
            allowed = [m.strip() for m in response["Allow"].split(",") if m.strip()]
            if "GET" in allowed and "HEAD" not in allowed:
                allowed.insert(allowed.index("GET") + 1, "HEAD")
            response = problem_response(request, 405, "method_not_allowed",
                                        _("%(method)s is not allowed here; allowed: %(allowed)s")
                                        % {"method": request.method, "allowed": ", ".join(allowed)},
                                        headers={"Allow": ", ".join(allowed)})
        return response

    def _respond(self, request: HttpRequest) -> HttpResponse:
        match = request.resolver_match = self._match(request)
        response = match.func(request, *match.args, **match.kwargs)
        if response is None:
            raise ValueError(f"the view {match.func!r} returned None")
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
        return response
