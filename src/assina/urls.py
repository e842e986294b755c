from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Assina"
admin.site.site_title = "Assina"

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("assina.api.urls")),
    path("dashboard/", include("assina.analytics.urls")),
    path("c/", include("assina.notifications.urls")),  # pages customers reach from their emails
]
