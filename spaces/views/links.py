"""Links between thoughts, made and deleted from the space page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from spaces import selectors, services
from spaces.errors import ServiceError
from spaces.forms import (
    LinkForm,
    add_service_error,
)
from spaces.views.common import HtmxHttpRequest, confirm, domain_errors, form_data
from spaces.views.thoughts import options_url, space_changed, undo_url

# --- links -------------------------------------------------------------------------------


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def link_create(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    form = LinkForm(form_data(request), options_url=options_url(space))
    if form.is_valid():
        try:
            link = services.link_create(space=space, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return space_changed(request, space, anchor=link.source.key)
    context = {"space": space, "link_form": form, "inline": request.htmx}
    if request.htmx:
        return render(request, "spaces/links/_link_form.html", context)
    return render(request, "spaces/links/link_form.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def link_delete(request: HtmxHttpRequest, space_id: str, link_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    if request.method == "POST":
        entry = services.link_delete(space=space, actor=request.user, link_id=link_id)
        ends = entry.before or {}
        message = f"Deleted the link {ends.get('source')} → {ends.get('target')}."
        return space_changed(
            request, space, toast={"message": message, "undo": undo_url(space, entry.pk)}
        )
    link = selectors.link_list(space=space).filter(pk=link_id).first()
    if link is None:
        raise Http404("Link not found in this space.")
    return confirm(
        request,
        title=f"Delete the link {link.source.key} → {link.target.key}?",
        message="The two thoughts stay; only the link between them goes.",
        cancel_url=reverse("space-detail", args=[space.pk]),
    )
