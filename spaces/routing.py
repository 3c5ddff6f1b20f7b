"""WebSocket routes, served by daphne next to the HTTP app (see thoughtspace.asgi)."""

from django.urls import path

from spaces.consumers import SpaceConsumer

websocket_urlpatterns = [
    path("ws/spaces/<str:space_id>/", SpaceConsumer.as_asgi()),
]
