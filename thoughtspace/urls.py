"""URL routes: health probes, the admin, the JSON API under /api/, and the HTML pages."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path

from spaces.api import api, unknown_endpoint
from syncops import health
from syncops.api import router as sync_router
from thoughtspace import metrics

api.add_router("/sync", sync_router)


def favicon(request: HttpRequest) -> HttpResponse:
    """Where browsers look when a page names no icon (the admin's)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/", unknown_endpoint),  # JSON, not the HTML 404 page
    path("", include("spaces.urls")),
]
