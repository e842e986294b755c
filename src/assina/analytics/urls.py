from importlib.metadata import version

from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("export/<slug:table>.csv", views.export, name="export"),
    # The version in the name: browsers may cache it for a day and still get a new one after an upgrade.
    path(f"plotly-{version('plotly')}.min.js", views.plotly_js, name="plotly"),
]
