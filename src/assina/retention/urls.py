"""The retention app's pages; mounted at the site's root by assina.urls, so each path carries its full prefix."""

from django.urls import path

from .views import cancel, report

app_name = "retention"

urlpatterns: list = [
    # The portal's cancel flow (a portal session; see docs/portal.md "Cancel flow").
    path("portal/cancel/<int:sub_id>/", cancel.start, name="cancel"),
    path("portal/cancel/<int:sub_id>/reactivate", cancel.reactivate, name="cancel_reactivate"),
    path("portal/cancel/<int:sub_id>/<int:session_id>/", cancel.step, name="cancel_step"),
    path("portal/cancel/<int:sub_id>/<int:session_id>/accept", cancel.accept, name="cancel_accept"),
    path("portal/cancel/<int:sub_id>/<int:session_id>/decline", cancel.decline, name="cancel_decline"),
    path("portal/cancel/<int:sub_id>/<int:session_id>/confirm", cancel.confirm, name="cancel_confirm"),
    path("portal/cancel/<int:sub_id>/<int:session_id>/keep", cancel.keep, name="cancel_keep"),
    path("dashboard/retention/", report.report, name="report"),  # beside the revenue dashboard (staff)
]
