"""The admin's login page, throttled (``throttle``): a locked-out name or address gets the
login form again with a translated message saying when to retry, status 429 and
``Retry-After``."""

from __future__ import annotations

import math

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import ngettext

from . import throttle


def _locked_message(until) -> str:
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    at = formats.time_format(timezone.localtime(until), "H:i")
    return ngettext("Too many failed sign-ins. Try again in %(minutes)d minute (at %(time)s).",
                    "Too many failed sign-ins. Try again in %(minutes)d minutes (at %(time)s).",
                    minutes) % {"minutes": minutes, "time": at}


class ThrottledAuthenticationForm(AdminAuthenticationForm):
    def clean(self):
        names = throttle.keys(self.cleaned_data.get("username") or "", throttle.client_address(self.request))
        until = throttle.locked_until(names)
        if until is not None:  # refused before the password is even checked
            self.request.assina_retry_after = until
            raise ValidationError(_locked_message(until), code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            until = throttle.record_failure(names)
            if until is not None:
                self.request.assina_retry_after = until
                raise ValidationError(_locked_message(until), code="throttled") from None
            raise
        throttle.clear(names)
        return cleaned


admin.site.login_form = ThrottledAuthenticationForm


def throttled_login(request, **kwargs):
    response = admin.site.login(request, **kwargs)
    until = getattr(request, "assina_retry_after", None)
    if until is not None:
        response.status_code = 429
        response["Retry-After"] = str(max(1, math.ceil((until - timezone.now()).total_seconds())))
    return response
