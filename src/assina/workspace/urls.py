"""The workspace app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from . import views

app_name = "workspace"

urlpatterns = [
    path("workspace/customers/", views.customer_list, name="customers"),
    path("workspace/segments/", views.segment_save, name="segment_save"),
    path("workspace/segments/<int:segment_id>/delete/", views.segment_delete, name="segment_delete"),
    path("workspace/segments/<int:segment_id>/rename/", views.segment_rename, name="segment_rename"),
    path("workspace/customers/<int:customer_id>/", views.customer_page, name="customer"),
    path("workspace/customers/<int:customer_id>/suggestions/", views.customer_suggestions, name="customer_suggestions"),
    path("workspace/customers/<int:customer_id>/feedback.csv", views.feedback_csv, name="customer_feedback_csv"),
    path("workspace/customers/<int:customer_id>/<slug:action>/", views.act, name="act"),
    path("workspace/feedback.csv", views.feedback_csv, name="feedback_csv"),
]
