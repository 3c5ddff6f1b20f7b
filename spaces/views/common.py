"""What the HTML views share: htmx requests, answering the selectors' refusals with
404 and 403, and the confirmation page a delete link leads to without JavaScript."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from spaces.errors import Forbidden, NotFound

View = Callable[..., HttpResponse]


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def domain_errors(view: View) -> View:
    """Answer the selectors' NotFound with 404 and Forbidden with 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None

    return wrapper


def form_data(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def confirm(request: HttpRequest, *, title: str, message: str, cancel_url: str) -> HttpResponse:
    """The page a delete link leads to without JavaScript: one button that POSTs."""
    context = {"title": title, "message": message, "cancel_url": cancel_url}
    return render(request, "spaces/confirm_delete.html", context)
