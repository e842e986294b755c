from django.urls import path

from . import views
from .views import delivery, manage

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.login, name="login"),
    path("enter/<str:token>/", views.enter, name="enter"),
    path("invoices/<int:invoice_id>/pdf", views.invoice_pdf, name="invoice_pdf"),
    path("logout/", views.logout, name="logout"),
    # Self-service (issue 16): a GET shows or previews, a POST acts.
    path("subscriptions/<int:sub_id>/change/", manage.change, name="change"),
    path("subscriptions/<int:sub_id>/change/confirm/", manage.change_confirm, name="change_confirm"),
    path("subscriptions/<int:sub_id>/change/keep/", manage.keep_plan, name="keep_plan"),
    path("subscriptions/<int:sub_id>/pause/", manage.pause, name="pause"),
    path("subscriptions/<int:sub_id>/resume/", manage.resume, name="resume"),
    path("subscriptions/<int:sub_id>/addons/", manage.addons, name="addons"),
    path("subscriptions/<int:sub_id>/addons/<int:item_id>/remove/", manage.remove_addon, name="remove_addon"),
    path("delivery/", delivery.page, name="delivery"),  # issue 19: address, skip the next delivery
    path("cards/<int:method_id>/default/", manage.default_card, name="default_card"),
    path("cards/<int:method_id>/remove/", manage.remove_card, name="remove_card"),
]
