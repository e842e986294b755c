"""Customer pages linked from messages (mounted at ``/c/``)."""

from django.urls import path

from . import card_page, views

app_name = "notifications"

urlpatterns = [
    path("card/<str:token>/", card_page.update_card, name="update_card"),
    path("reactivate/<str:token>/", views.reactivate, name="reactivate"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("invoice/<str:token>/pdf", views.invoice_pdf, name="invoice_pdf"),
]
