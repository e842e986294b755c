"""The Content-Security-Policy of every HTML page (admin, dashboard, customer pages, API docs).

A page may load only what it names: scripts, styles, images, fonts and requests from this
server, inline ``<script>``/``<style>`` elements only with the request's nonce, nothing in a
frame of another site, no plugins, no ``<base>`` elsewhere, forms posting only here, and no
other site framing the page. A view that loads something else says so for its own response::

    from assina import csp

    @csp.allow(script_src=["https://js.stripe.com"], frame_src=["https://js.stripe.com"])
    def card_page(request, token): ...

    # or inside the view, for a source known only at run time:
    csp.add(request, "connect-src", settings.ASSINA_STRIPE_API_BASE)

and a template writes ``<script nonce="{{ request.csp_nonce }}">``. The nonce is made on first
use and appears in the header only then. Responses that are not HTML (the API's JSON, files)
get no policy: a browser applies one only to documents.

``CspMiddleware`` is first in ``MIDDLEWARE``, so /api/v1/ pages (the Swagger UI docs, served
through ``assina.api.guard.ApiMiddleware``'s own chain) get the policy too.
"""

from __future__ import annotations

import secrets
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
DIRECTIVES = ("default-src", "script-src", "style-src", "img-src", "font-src", "connect-src", "frame-src",
              "object-src", "base-uri", "form-action", "frame-ancestors",
              # Not in the base policy (style-src covers them); a view may loosen one alone, e.g.
              # style attributes drawn by a chart library without allowing <style> elements.
              "style-src-attr", "style-src-elem")
# The directives a nonce is added to when a template used it (those the policy has).
NONCE_DIRECTIVES = ("script-src", "style-src", "style-src-elem")


def base_policy() -> dict[str, list[str]]:
    """What every page may load. The business logo (``ASSINA_BUSINESS_LOGO_URL``) is shown on
    customer pages, so its origin is an image source."""
    images = ["'self'", "data:"]
    logo = _origin(getattr(settings, "ASSINA_BUSINESS_LOGO_URL", ""))
    if logo:
        images.append(logo)
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def _origin(url: str) -> str:
    """``https://cdn.example.com`` of a URL, or "" for anything but an absolute http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


class _Nonce:
    """The request's nonce, made when a template first writes it."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: str | None = None

    def __str__(self) -> str:
        if self.value is None:
            self.value = secrets.token_urlsafe(18)
        return self.value

    __html__ = __str__  # safe in templates: URL-safe base64 characters only


def add(request: HttpRequest, directive: str, *sources: str) -> None:
    """Let this request's page load ``sources`` for ``directive`` (e.g. "script-src")."""
    if directive not in DIRECTIVES:
        raise ValueError(f"unknown CSP directive {directive!r}")
    extra = request.__dict__.setdefault("_csp_extra", {})
    for source in sources:
        source = source.strip()
        if source and source not in extra.setdefault(directive, []):
            extra[directive].append(source)


def allow(**directives: list[str] | tuple[str, ...]):
    """View decorator: ``@allow(script_src=[...], frame_src=[...])`` (underscores for dashes)."""
    named = {name.replace("_", "-"): tuple(sources) for name, sources in directives.items()}
    for name in named:
        if name not in DIRECTIVES:
            raise ValueError(f"unknown CSP directive {name!r}")

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            for name, sources in named.items():
                add(request, name, *sources)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def policy(request: HttpRequest) -> str:
    """The header's value for this request's page."""
    directives = base_policy()
    for name, sources in request.__dict__.get("_csp_extra", {}).items():
        kept = [s for s in directives.get(name, []) if s != "'none'"]
        directives[name] = kept + [s for s in sources if s not in kept]
    nonce = request.__dict__.get("csp_nonce")
    if isinstance(nonce, _Nonce) and nonce.value is not None:
        for name in NONCE_DIRECTIVES:
            # A nonce turns 'unsafe-inline' off in browsers; a view that asked for it keeps it.
            if name in directives and "'unsafe-inline'" not in directives[name]:
                directives[name].append(f"'nonce-{nonce.value}'")
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class CspMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = _Nonce()
        response = self.get_response(request)
        if HEADER not in response and response.get("Content-Type", "").startswith("text/html"):
            response[HEADER] = policy(request)
        return response
