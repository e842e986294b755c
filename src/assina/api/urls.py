from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from django.utils.translation import gettext as _

from .errors import problem_response
from .main import api
from .openapi import doc_asset


@csrf_exempt
def unknown_route(request, rest: str = ""):
    return problem_response(request, 404, "route_not_found", _("there is no API endpoint at %(path)s") % {"path": request.path})


urlpatterns = [
    path("docs/assets/<str:name>", doc_asset, name="api-doc-asset"),
    path("", api.urls),
    re_path(r"^(?P<rest>.*)$", unknown_route),
]
