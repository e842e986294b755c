from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import include, path

from assina.accounts.views import throttled_login

admin.site.site_header = "Assina"
admin.site.site_title = "Assina"


def home(request):
    """The dashboard for whoever may see it; the admin's index (or its login) for everyone else,
    so a staff account without the dashboard permission does not land on a 403. Signing in
    from here comes back here."""
    user = request.user
    if not (user.is_authenticated and user.is_staff):
        return redirect_to_login("/", login_url="/admin/login/")
    return redirect("/dashboard/" if user.has_perm("analytics.view_dashboard") else "admin:index")


urlpatterns = [
    path("", home),
    # Before admin.site.urls: the admin's login, throttled per user name and per client address.
    path("admin/login/", throttled_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("assina.api.urls")),
    path("dashboard/", include("assina.analytics.urls")),
    path("c/", include("assina.notifications.urls")),  # pages customers reach from their emails
]
