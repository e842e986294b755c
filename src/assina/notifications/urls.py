"""Customer pages linked from messages (mounted at ``/c/``)."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("card/<str:token>/", views.update_card, name="update_card"),
    path("reactivate/<str:token>/", views.reactivate, name="reactivate"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
