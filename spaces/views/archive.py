"""Pages to take a space out and bring one in, and to see and bring back a space as it was
at any moment (spaces.archive, spaces.vault, spaces.timeline)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from spaces import selectors, timeline
from spaces.api.archive import export_response, import_upload
from spaces.errors import ServiceError
from spaces.forms import ImportForm, MomentForm
from spaces.views.common import domain_errors


@login_required
@domain_errors
def space_export(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id)
    fmt = request.GET.get("format", "json")
    return export_response(space, fmt if fmt in ("json", "markdown") else "json")


@login_required
@domain_errors
def space_import(request: HttpRequest) -> HttpResponse:
    editable = [
        (s.pk, s.title)
        for s in selectors.space_list(user=request.user)
        if s.role_of(request.user) in ("owner", "editor")
    ]
    form = ImportForm(request.POST or None, request.FILES or None, spaces=editable)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["archive"]
        fmt = "markdown" if upload.name.lower().endswith(".zip") else "json"
        try:
            report = import_upload(
                request,
                upload,
                fmt,
                name=upload.name,
                into=form.cleaned_data["into"] or None,
                dry_run=form.cleaned_data["dry_run"],
            )
        except ServiceError as exc:
            form.add_error("archive", f"Nothing was imported. {exc.message}")
        else:
            if not report.dry_run:
                messages.success(request, " ".join(report.lines()[:1]).capitalize() + ".")
                return redirect("space-detail", space_id=report.space_id)
    return render(request, "spaces/archive/import.html", {"form": form, "report": report})


def _moment(request: HttpRequest) -> tuple[MomentForm, datetime | None]:
    form = MomentForm(request.GET or None)
    return form, form.cleaned_data["at"] if form.is_bound and form.is_valid() else None


@login_required
@domain_errors
def space_at(request: HttpRequest, space_id: str) -> HttpResponse:
    """The space as it was at a moment: read-only, with a button to go back to it."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    form, at = _moment(request)
    past = timeline.state_at(space, at) if at is not None else None
    context = {
        "space": space,
        "form": form,
        "at": at,
        "past": past,
        "thoughts": past.ordered() if past else [],
        "links": sorted(past.links) if past else [],
        "can_edit": space.user_role in ("owner", "editor"),  # type: ignore[attr-defined]
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "spaces/archive/space_at.html", context)


@login_required
@domain_errors
@require_POST
def space_restore(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    form = MomentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the moment to go back to.")
        return redirect("space-at", space_id=space.pk)
    try:
        changes = timeline.restore_to(space, form.cleaned_data["at"], actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("space-at", space_id=space.pk)
    if changes:
        messages.success(
            request,
            f"The space is as it was then: {changes} changes, each in the history (a restore "
            "to the moment before this one undoes it).",
        )
    else:
        messages.info(request, "The space was already as it was then: nothing changed.")
    return redirect("space-detail", space_id=space.pk)


@login_required
@domain_errors
@require_POST
def version_restore(request: HttpRequest, space_id: str, entry_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    try:
        thought = timeline.restore_version(space, entry_id, actor=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("space-history", space_id=space.pk)
    messages.success(request, f"{thought.key!r} is back at that version, as a new change.")
    return redirect("thought-detail", space_id=space.pk, key=thought.key)
