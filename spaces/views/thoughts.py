"""The space page and its thoughts. Without JavaScript every form posts and redirects; with
htmx the page swaps only the part that changed, as far as the page has the tree open
(spaces.outline). A delete answers with a toast whose Undo takes it back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget

from spaces import selectors, services, timeline
from spaces.errors import Conflict, NotFound, PreconditionFailed, ServiceError
from spaces.forms import (
    LinkForm,
    ThoughtForm,
    add_service_error,
    thought_initial,
)
from spaces.models import TITLE_MAX, Space, Thought
from spaces.outline import OutlineState, outline, recent, subtree
from spaces.views.common import HtmxHttpRequest, confirm, domain_errors, form_data

PICKER_PARAMS = ("q", "parent", "source", "target")  # a picker sends its own field


# --- the space page and its thoughts -----------------------------------------------------


LINKS_SHOWN = 10  # the links panel lists the newest; each thought lists its own


def options_url(space: Space) -> str:
    return reverse("thought-options", args=[space.pk])


def _space_context(space: Space, state: OutlineState | None = None, **extra: Any) -> dict[str, Any]:
    """What the space page and its partials show: the part of the thought tree ``state``
    opens (spaces.outline), the newest links, the recent thoughts and blank forms."""
    tree = outline(space, state)
    links = list(selectors.link_list(space=space).order_by("-created_at", "-id")[:LINKS_SHOWN])
    # selectors.space_get sets user_role on the space it returns.
    role = space.user_role  # type: ignore[attr-defined]
    picker_url = options_url(space)
    context = {
        "space": space,
        "can_edit": role in ("owner", "editor"),
        "is_owner": role == "owner",
        "outline": tree,
        "tree": tree.roots,
        "links": links,
        "recent": recent(space),
        "can_link": role in ("owner", "editor") and tree.thoughts >= 2,
        "create_form": ThoughtForm(options_url=picker_url),
        "link_form": LinkForm(options_url=picker_url),
        "open_conflicts": selectors.open_conflict_count(space=space),
    }
    context.update(extra)
    return context


def outline_state(request: HttpRequest) -> OutlineState:
    """What the page asking has open (static/js/live.js sends it with every request)."""
    return OutlineState.from_params(request.POST if request.method == "POST" else request.GET)


def space_changed(
    request: HtmxHttpRequest,
    space: Space,
    *,
    anchor: str = "",
    reset_create_form: bool = False,
    toast: dict[str, str] | None = None,
) -> HttpResponse:
    """After a thought or link changed: htmx gets the new tree and links (and ``toast``, a
    ``message`` with an ``undo`` URL or none), others a redirect."""
    if not request.htmx:
        url = reverse("space-detail", args=[space.pk])
        return redirect(f"{url}#thought-{anchor}" if anchor else url)
    context = _space_context(
        space, outline_state(request), oob=True, reset_create_form=reset_create_form, toast=toast
    )
    response = render(request, "spaces/thoughts/_space_changed.html", context)
    return reswap(retarget(response, "#thoughts"), "innerHTML")


def _thought_form_page(
    request: HtmxHttpRequest, space: Space, form: ThoughtForm, thought: Thought | None = None
) -> HttpResponse:
    """The thought form: in place on the space page for htmx, or as a page of its own."""
    context = {"space": space, "form": form, "thought": thought, "inline": request.htmx}
    if request.htmx:
        return render(request, "spaces/thoughts/_thought_form.html", context)
    return render(request, "spaces/thoughts/thought_form.html", context)


@login_required
@domain_errors
def space_detail(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id)
    context = _space_context(space, outline_state(request))
    if request.htmx:
        return render(request, "spaces/thoughts/_thoughts.html", context)
    context["pending_proposals"] = selectors.pending_proposal_count(space=space)
    return render(request, "spaces/thoughts/space_detail.html", context)


@login_required
@domain_errors
@never_cache
def space_live(request: HttpRequest, space_id: str) -> HttpResponse:
    """The thought tree as the page has it open, the links panel and the recent thoughts,
    fetched by static/js/live.js after a live event."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    context = _space_context(space, outline_state(request), oob=True)
    return render(request, "spaces/thoughts/_space_changed.html", context)


@login_required
@domain_errors
def thought_children(request: HtmxHttpRequest, space_id: str, key: str) -> HttpResponse:
    """A folded subtree opened: the thought's first children, each folded in turn."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    thought = selectors.thought_get(space=space, key=key)
    if not request.htmx:
        return redirect("thought-detail", space_id=space.pk, key=thought.key)
    role = space.user_role  # type: ignore[attr-defined]
    context = {
        "space": space,
        "node": subtree(space, thought, outline_state(request)),
        "can_edit": role in ("owner", "editor"),
    }
    return render(request, "spaces/thoughts/_subtree.html", context)


OPTIONS_SHOWN = 20


@login_required
@domain_errors
def thought_options(request: HttpRequest, space_id: str) -> HttpResponse:
    """The ``<option>``s of a thought picker (spaces.forms.ThoughtPicker): the thoughts whose
    title or key holds what was typed, or the recently changed ones before anything is."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    typed = next((request.GET[name] for name in PICKER_PARAMS if request.GET.get(name)), "")
    typed = typed.strip()[:TITLE_MAX]
    if typed:
        found = selectors.thought_list(space=space, with_parents=False).filter(
            Q(title__icontains=typed) | Q(key__icontains=typed)
        )
        thoughts = list(found[:OPTIONS_SHOWN])
    else:
        thoughts = recent(space, OPTIONS_SHOWN)
    return render(request, "spaces/thoughts/_thought_options.html", {"thoughts": thoughts})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def thought_create(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    form = ThoughtForm(form_data(request), options_url=options_url(space))
    if form.is_valid():
        try:
            thought = services.thought_create(space=space, actor=request.user, **form.cleaned_data)
        except Conflict as exc:
            add_service_error(form, exc, "key")
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return space_changed(request, space, anchor=thought.key, reset_create_form=True)
    return _thought_form_page(request, space, form)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def thought_edit(request: HtmxHttpRequest, space_id: str, key: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    thought = selectors.thought_get(space=space, key=key)
    form = ThoughtForm(
        form_data(request),
        initial=thought_initial(thought),
        options_url=options_url(space),
        editing=True,
        auto_id=f"id_{thought.pk}_%s",  # several thoughts may be open for editing at once
    )
    if form.is_valid():
        try:
            services.thought_update(
                thought=thought,
                actor=request.user,
                changes=form.changes(),
                expected_version=form.cleaned_data["version"],
            )
        except PreconditionFailed:
            form.add_error(
                None,
                f"Someone changed this thought since you opened it (it is now at version "
                f"{thought.version}). Your edit was not saved: copy what you need, then "
                "reopen the editor to start from the current text.",
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return space_changed(request, space, anchor=key)
    return _thought_form_page(request, space, form, thought)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def thought_delete(request: HtmxHttpRequest, space_id: str, key: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    thought = selectors.thought_get(space=space, key=key)
    if request.method == "POST":
        entry = services.thought_delete(thought=thought, actor=request.user)
        if not request.htmx:
            messages.success(request, f"Deleted the thought “{thought.title}”.")
        toast = {"message": f"Deleted “{thought.title}”.", "undo": undo_url(space, entry.pk)}
        return space_changed(request, space, toast=toast)
    return confirm(
        request,
        title=f"Delete the thought “{thought.title}” ({thought.key})?",
        message="Its links are deleted too; its children move up to its parent.",
        cancel_url=reverse("space-detail", args=[space.pk]) + f"#thought-{thought.key}",
    )


def undo_url(space: Space, entry_id: str) -> str:
    return reverse("delete-undo", args=[space.pk, entry_id])


@login_required
@domain_errors
@require_POST
def delete_undo(request: HtmxHttpRequest, space_id: str, entry_id: str) -> HttpResponse:
    """Undo of a delete's toast: the thought (with its links and children) or link comes back
    as new changes (timeline.undo_delete)."""
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    try:
        thought = timeline.undo_delete(space, entry_id, actor=request.user)
    except NotFound:
        raise  # 404, through domain_errors
    except ServiceError as exc:  # cannot be undone: the toast says why
        if not request.htmx:
            messages.error(request, exc.message)
        return space_changed(request, space, toast={"message": exc.message})
    message = f"“{thought.title}” is back." if thought else "The link is back."
    if not request.htmx:
        messages.success(request, message)
    return space_changed(
        request, space, anchor=thought.key if thought else "", toast={"message": message}
    )
