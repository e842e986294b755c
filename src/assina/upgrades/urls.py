"""The upgrades app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from . import views

app_name = "upgrades"

urlpatterns: list = [
    path("portal/annual/<int:subscription_id>/", views.annual, name="annual"),
    path("portal/upgrade/<int:subscription_id>/", views.upgrade, name="upgrade"),
]
