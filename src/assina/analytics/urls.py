from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export/<slug:table>.csv", views.export, name="export"),
    path(f"plotly-{__import__('plotly').__version__}.min.js", views.plotly_js, name="plotly"),
]
