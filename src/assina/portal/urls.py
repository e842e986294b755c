from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("login", views.login, name="login"),
    path("enter/<str:token>/", views.enter, name="enter"),
    path("invoices/<int:invoice_id>/pdf", views.invoice_pdf, name="invoice_pdf"),
    path("logout/", views.logout, name="logout"),
]
