"""The retention app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from .views import report

app_name = "retention"

urlpatterns: list = [
    path("dashboard/retention/", report.report, name="report"),  # beside the revenue dashboard (staff)
]
