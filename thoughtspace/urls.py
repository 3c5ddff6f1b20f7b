"""URL routes: health probes, the admin, the JSON API under /api/, and the HTML pages."""

from django.contrib import admin
from django.urls import include, path, re_path

from spaces.api import api, unknown_endpoint
from syncops import health
from syncops.api import router as sync_router
from thoughtspace import metrics

api.add_router("/sync", sync_router)

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    re_path(r"^api/", unknown_endpoint),  # JSON, not the HTML 404 page
    path("", include("spaces.urls")),
]
