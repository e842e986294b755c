"""The selling app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from . import views

app_name = "selling"

urlpatterns: list = [
    path("pricing/", views.pricing, name="pricing"),
    path("pricing/embed/", views.pricing_embed, name="pricing_embed"),
    path("pricing/embed.js", views.pricing_embed_js, name="pricing_embed_js"),
    path("checkout/s/<str:key>/", views.checkout_session, name="checkout_session"),
    path("checkout/<slug:plan_code>/", views.checkout, name="checkout"),
]
