"""Web pages answer 503 while the process's ASSINA_MODE is not the database's mode.

``assina.wsgi`` already refuses to start on such a database; this catches a database switched to
live (``assina mode set live``) under a running sandbox web process. One small indexed read per
page; /api/v1/ requests skip it, since their key lookup reads the database's mode in the same
statement (``assina.api.keys.authenticate``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from .installation import mismatch_message, recorded_mode


class ModeAgreementMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        message = mismatch_message(recorded_mode())
        if message is not None:
            return HttpResponse(message + "\n", status=503, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
