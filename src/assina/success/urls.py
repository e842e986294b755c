"""The success app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from .views import health

app_name = "success"

urlpatterns: list = [
    path("dashboard/health/", health.health, name="health"),  # beside the revenue dashboard (staff)
]
