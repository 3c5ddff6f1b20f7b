"""The API tokens page: make, list and revoke a person's tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from spaces import services
from spaces.errors import ServiceError
from spaces.forms import (
    TokenForm,
    add_service_error,
)
from spaces.views.common import HtmxHttpRequest, confirm

# --- API tokens --------------------------------------------------------------------------


def _token_page(
    request: HttpRequest, form: TokenForm, new_token: str = "", new_token_id: str = ""
) -> HttpResponse:
    tokens = request.user.api_tokens.all()  # type: ignore[union-attr]
    context = {"form": form, "tokens": tokens, "new_token": new_token, "new_token_id": new_token_id}
    return render(request, "spaces/tokens/tokens.html", context)


@login_required
@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    return _token_page(request, TokenForm())


@login_required
@never_cache
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = services.token_create(user=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            # Rendered, not redirected: the raw token exists only in this one response.
            return _token_page(request, TokenForm(), new_token=raw, new_token_id=str(token.pk))
    return _token_page(request, form)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HtmxHttpRequest, token_id: str) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, pk=token_id)  # type: ignore[union-attr]
    if request.method == "POST":
        services.token_revoke(token=token)
        if request.htmx:
            tokens = request.user.api_tokens.all()  # type: ignore[union-attr]
            context = {"tokens": tokens, "revoked": token}  # its secret leaves the page too
            return render(request, "spaces/tokens/_token_table.html", context)
        messages.success(request, f"Revoked the token {token.prefix}….")
        return redirect("token-list")
    return confirm(
        request,
        title=f"Revoke the token {token.prefix}… ({token.name or 'unnamed'})?",
        message="Clients using it are refused from now on. This cannot be undone.",
        cancel_url=reverse("token-list"),
    )
