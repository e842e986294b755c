"""The playbooks app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from . import views

app_name = "playbooks"

urlpatterns: list = [
    path("portal/offers/<int:offer_id>/accept/", views.accept, name="accept_offer"),
    path("portal/offers/<int:offer_id>/decline/", views.decline, name="decline_offer"),
]
