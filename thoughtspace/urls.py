"""URL routes: the admin, the JSON API under /api/, and the HTML pages."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
]
