"""The repricing app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path  # noqa: F401

app_name = "repricing"

urlpatterns: list = []
