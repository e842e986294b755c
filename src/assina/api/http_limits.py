"""How long a URL the API reads, and one answer for a longer one, whichever server notices it.

A client that builds a URL past ``URL_LIMIT`` bytes (path and query string, as sent) gets a
``414`` problem with the code ``uri_too_long``, in the language of its ``Accept-Language``, the
same under ``assina serve`` (waitress, which has no request-line limit of its own) and gunicorn.

gunicorn reads request lines up to 8,190 bytes (``limit_request_line`` in gunicorn_conf, its
maximum; its default of 4,094 answered shorter URLs with its own HTML page, which no API client
can parse): more than ``URL_LIMIT`` plus the method and protocol, so the API's check sees them.
A line longer than that never reaches Django; ``install_in_gunicorn`` makes the worker answer it
with the same problem, in the server's language (no header has been read at that point).
"""

from __future__ import annotations

import functools

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from .errors import PROBLEM_CONTENT_TYPE, problem_body, problem_response

URL_LIMIT = 8000
CODE = "uri_too_long"


def _detail() -> str:
    return _("the URL is longer than %(limit)d bytes; send fewer or shorter query parameters") % {"limit": URL_LIMIT}


def url_too_long(request: HttpRequest) -> bool:
    meta = request.META
    # The URL as the client sent it (gunicorn: RAW_URI, waitress: REQUEST_URI); else its parts.
    raw = meta.get("RAW_URI") or meta.get("REQUEST_URI")
    if raw is not None:
        return len(raw) > URL_LIMIT
    return len(request.path_info) + len(meta.get("QUERY_STRING", "")) + 1 > URL_LIMIT


def uri_too_long_response() -> HttpResponse:
    # No ``instance``: echoing the over-long URL back would only make the answer as long.
    return problem_response(None, 414, CODE, _detail())


def uri_too_long_bytes() -> bytes:
    """The whole HTTP response gunicorn's worker writes for a request line over its limit."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        body = problem_body(414, CODE, _detail())
    head = ("HTTP/1.1 414 URI Too Long\r\nConnection: close\r\n"
            f"Content-Type: {PROBLEM_CONTENT_TYPE}; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def install_in_gunicorn(worker) -> None:
    """Answer a too long request line with the API's 414 problem instead of gunicorn's HTML page."""
    from gunicorn import util
    from gunicorn.http.errors import LimitRequestLine

    answer = uri_too_long_bytes()
    original = worker.handle_error

    @functools.wraps(original)
    def handle_error(req, client, addr, exc):
        if not isinstance(exc, LimitRequestLine):
            return original(req, client, addr, exc)
        worker.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, answer)
        except Exception:  # noqa: BLE001 - the client may be gone; gunicorn closes the socket
            worker.log.debug("Failed to send error message.")
        return None

    worker.handle_error = handle_error
