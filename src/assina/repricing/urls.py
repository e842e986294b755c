"""The repricing app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from . import views

app_name = "repricing"

urlpatterns: list = [
    path("portal/price-change/", views.choice_page, name="choice"),
    path("portal/price-change/<int:member_id>/", views.choose, name="choose"),
]
