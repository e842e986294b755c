"""The feedback app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from . import views
from .views import dashboard

app_name = "feedback"

urlpatterns = [
    path("s/<str:token>/", views.survey, name="survey"),
    path("s/<str:token>/comment/", views.comment, name="comment"),
    path("s/<str:token>/opt-out/", views.opt_out, name="opt_out"),
    path("s/<str:token>/<int:score>/", views.score_link, name="score"),
    path("dashboard/feedback/", dashboard.feedback_page, name="dashboard"),
    path("dashboard/feedback/comments.csv", dashboard.comments_csv, name="comments_csv"),
]
