"""Pages of spaces: the list, create, edit, delete, share (by name and by invitation link)
and history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from spaces import selectors, services
from spaces.errors import ServiceError
from spaces.forms import (
    InviteForm,
    ShareForm,
    SpaceForm,
    add_service_error,
)
from spaces.models import Space
from spaces.presentation import history_rows
from spaces.views.common import confirm, domain_errors, form_data

HISTORY_PAGE_SIZE = 50


# --- spaces ------------------------------------------------------------------------------


@login_required
def space_list(request: HttpRequest) -> HttpResponse:
    spaces = selectors.space_list(user=request.user)
    return render(request, "spaces/spaces/space_list.html", {"spaces": spaces})


@login_required
@require_http_methods(["GET", "POST"])
def space_create(request: HttpRequest) -> HttpResponse:
    form = SpaceForm(form_data(request))
    if form.is_valid():
        try:
            space = services.space_create(owner=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Space created.")
            return redirect("space-detail", space_id=space.pk)
    return render(request, "spaces/spaces/space_form.html", {"form": form, "space": None})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def space_edit(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    initial = {"title": space.title, "description": space.description}
    form = SpaceForm(form_data(request), initial=initial)
    if form.is_valid():
        try:
            services.space_update(space=space, actor=request.user, changes=form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Space saved.")
            return redirect("space-detail", space_id=space.pk)
    return render(request, "spaces/spaces/space_form.html", {"form": form, "space": space})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def space_delete(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, manage=True)
    if request.method == "POST":
        services.space_delete(space=space, actor=request.user)
        messages.success(request, f"Deleted the space “{space.title}”.")
        return redirect("space-list")
    return confirm(
        request,
        title=f"Delete the space “{space.title}”?",
        message="All its thoughts, links and history are deleted too. This cannot be undone.",
        cancel_url=reverse("space-detail", args=[space.pk]),
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def space_share(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, manage=True)
    form = ShareForm(form_data(request))
    if form.is_valid():
        try:
            services.space_share(space=space, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc, "username")
        else:
            username, role = form.cleaned_data["username"], form.cleaned_data["role"]
            note = f"{username} is now {role}." if role else f"{username} no longer has access."
            messages.success(request, note)
            return redirect("space-share", space_id=space.pk)
    return share_page(request, space, form=form)


def share_page(
    request: HttpRequest,
    space: Space,
    *,
    form: ShareForm | None = None,
    invite_form: Any = None,
    invite_link: str = "",
) -> HttpResponse:
    """The share page: people with access, and invitation links (a new one shown once)."""
    members = space.memberships.select_related("user").order_by("user__username")
    context = {
        "space": space,
        "form": form or ShareForm(),
        "members": members,
        "invite_form": invite_form or InviteForm(),
        "invite_link": invite_link,
        "invitations": space.invitations.select_related("accepted_by")[:20],
    }
    return render(request, "spaces/spaces/space_share.html", context)


@login_required
@domain_errors
def space_history(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id)
    page = Paginator(selectors.history_list(space=space), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "space": space,
        "page": page,
        "rows": history_rows(page.object_list),
        "can_edit": space.user_role in ("owner", "editor"),  # type: ignore[attr-defined]
    }
    return render(request, "spaces/spaces/history.html", context)
