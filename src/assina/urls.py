from pathlib import Path

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse
from django.shortcuts import redirect
from django.urls import include, path

from assina.accounts.views import throttled_login

# Every app's admin module, when Django's start did not import them (the command line's
# ``assina serve``: assina.admin_site.DISCOVER); a no-op otherwise.
admin.autodiscover()


def home(request):
    """The dashboard for whoever may see it; the admin's index (or its login) for everyone else,
    so a staff account without the dashboard permission does not land on a 403. Signing in
    from here comes back here."""
    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return redirect_to_login("/", login_url="/admin/login/")
    return redirect("/dashboard/" if user.has_perm("analytics.view_dashboard") else "admin:index")


FAVICON = Path(__file__).parent / "static" / "favicon.ico"


def favicon(request):
    """Browsers ask every site for /favicon.ico; the admin, dashboard and customer pages link it."""
    response = FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


urlpatterns = [
    path("", home),
    path("favicon.ico", favicon, name="favicon"),
    # Before admin.site.urls: the admin's login, throttled per user name and per client address.
    path("admin/login/", throttled_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("assina.api.urls")),
    path("dashboard/", include("assina.analytics.urls")),
    path("c/", include("assina.notifications.urls")),  # pages customers reach from their emails
    path("portal/", include("assina.portal.urls")),  # the customer portal (issue 16)
    # These apps' urls carry their full paths (portal flows under /portal/, pages beside the dashboard).
    path("", include("assina.retention.urls")),
    path("", include("assina.upgrades.urls")),
    path("", include("assina.feedback.urls")),
    path("", include("assina.selling.urls")),
    path("", include("assina.repricing.urls")),
    path("", include("assina.success.urls")),
    path("", include("assina.playbooks.urls")),
    path("", include("assina.workspace.urls")),
]
