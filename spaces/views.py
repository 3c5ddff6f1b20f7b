"""HTML pages. Each view parses input with a form, checks access through the selectors, calls
one service and renders. Without JavaScript every form posts and redirects; with htmx the
space page swaps only the part that changed."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget
from django_htmx.middleware import HtmxDetails

from spaces import selectors, services, timeline
from spaces.errors import Conflict, Forbidden, NotFound, PreconditionFailed, ServiceError
from spaces.forms import (
    InviteForm,
    LinkForm,
    ShareForm,
    SpaceForm,
    ThoughtForm,
    TokenForm,
    add_service_error,
    thought_initial,
)
from spaces.models import TITLE_MAX, Space, Thought
from spaces.outline import OutlineState, outline, recent, subtree
from spaces.presentation import history_rows

HISTORY_PAGE_SIZE = 50
PICKER_PARAMS = ("q", "parent", "source", "target")  # a picker sends its own field
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


def _form_data(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _confirm(request: HttpRequest, *, title: str, message: str, cancel_url: str) -> HttpResponse:
    """The page a delete link leads to without JavaScript: one button that POSTs."""
    context = {"title": title, "message": message, "cancel_url": cancel_url}
    return render(request, "spaces/confirm_delete.html", context)


# --- spaces ------------------------------------------------------------------------------


@login_required
def space_list(request: HttpRequest) -> HttpResponse:
    spaces = selectors.space_list(user=request.user)
    return render(request, "spaces/space_list.html", {"spaces": spaces})


@login_required
@require_http_methods(["GET", "POST"])
def space_create(request: HttpRequest) -> HttpResponse:
    form = SpaceForm(_form_data(request))
    if form.is_valid():
        try:
            space = services.space_create(owner=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Space created.")
            return redirect("space-detail", space_id=space.pk)
    return render(request, "spaces/space_form.html", {"form": form, "space": None})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def space_edit(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    initial = {"title": space.title, "description": space.description}
    form = SpaceForm(_form_data(request), initial=initial)
    if form.is_valid():
        try:
            services.space_update(space=space, actor=request.user, changes=form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Space saved.")
            return redirect("space-detail", space_id=space.pk)
    return render(request, "spaces/space_form.html", {"form": form, "space": space})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def space_delete(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, manage=True)
    if request.method == "POST":
        services.space_delete(space=space, actor=request.user)
        messages.success(request, f"Deleted the space “{space.title}”.")
        return redirect("space-list")
    return _confirm(
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
    form = ShareForm(_form_data(request))
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
    return render(request, "spaces/space_share.html", context)


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
    return render(request, "spaces/history.html", context)


# --- the space page and its thoughts -----------------------------------------------------


LINKS_SHOWN = 10  # the links panel lists the newest; each thought lists its own


def _options_url(space: Space) -> str:
    return reverse("thought-options", args=[space.pk])


def _space_context(space: Space, state: OutlineState | None = None, **extra: Any) -> dict[str, Any]:
    """What the space page and its partials show: the part of the thought tree ``state``
    opens (spaces.outline), the newest links, the recent thoughts and blank forms."""
    tree = outline(space, state)
    links = list(selectors.link_list(space=space).order_by("-created_at", "-id")[:LINKS_SHOWN])
    # selectors.space_get sets user_role on the space it returns.
    role = space.user_role  # type: ignore[attr-defined]
    options_url = _options_url(space)
    context = {
        "space": space,
        "can_edit": role in ("owner", "editor"),
        "is_owner": role == "owner",
        "outline": tree,
        "tree": tree.roots,
        "links": links,
        "recent": recent(space),
        "can_link": role in ("owner", "editor") and tree.thoughts >= 2,
        "create_form": ThoughtForm(options_url=options_url),
        "link_form": LinkForm(options_url=options_url),
        "open_conflicts": selectors.open_conflict_count(space=space),
    }
    context.update(extra)
    return context


def _outline_state(request: HttpRequest) -> OutlineState:
    """What the page asking has open (static/js/live.js sends it with every request)."""
    return OutlineState.from_params(request.POST if request.method == "POST" else request.GET)


def _space_changed(
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
        space, _outline_state(request), oob=True, reset_create_form=reset_create_form, toast=toast
    )
    response = render(request, "spaces/_space_changed.html", context)
    return reswap(retarget(response, "#thoughts"), "innerHTML")


def _thought_form_page(
    request: HtmxHttpRequest, space: Space, form: ThoughtForm, thought: Thought | None = None
) -> HttpResponse:
    """The thought form: in place on the space page for htmx, or as a page of its own."""
    context = {"space": space, "form": form, "thought": thought, "inline": request.htmx}
    if request.htmx:
        return render(request, "spaces/_thought_form.html", context)
    return render(request, "spaces/thought_form.html", context)


@login_required
@domain_errors
def space_detail(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id)
    context = _space_context(space, _outline_state(request))
    if request.htmx:
        return render(request, "spaces/_thoughts.html", context)
    context["pending_proposals"] = selectors.pending_proposal_count(space=space)
    return render(request, "spaces/space_detail.html", context)


@login_required
@domain_errors
@never_cache
def space_live(request: HttpRequest, space_id: str) -> HttpResponse:
    """The thought tree as the page has it open, the links panel and the recent thoughts,
    fetched by static/js/live.js after a live event."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    context = _space_context(space, _outline_state(request), oob=True)
    return render(request, "spaces/_space_changed.html", context)


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
        "node": subtree(space, thought, _outline_state(request)),
        "can_edit": role in ("owner", "editor"),
    }
    return render(request, "spaces/_subtree.html", context)


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
    return render(request, "spaces/_thought_options.html", {"thoughts": thoughts})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def thought_create(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    form = ThoughtForm(_form_data(request), options_url=_options_url(space))
    if form.is_valid():
        try:
            thought = services.thought_create(space=space, actor=request.user, **form.cleaned_data)
        except Conflict as exc:
            add_service_error(form, exc, "key")
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return _space_changed(request, space, anchor=thought.key, reset_create_form=True)
    return _thought_form_page(request, space, form)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def thought_edit(request: HtmxHttpRequest, space_id: str, key: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    thought = selectors.thought_get(space=space, key=key)
    form = ThoughtForm(
        _form_data(request),
        initial=thought_initial(thought),
        options_url=_options_url(space),
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
            return _space_changed(request, space, anchor=key)
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
        toast = {"message": f"Deleted “{thought.title}”.", "undo": _undo_url(space, entry.pk)}
        return _space_changed(request, space, toast=toast)
    return _confirm(
        request,
        title=f"Delete the thought “{thought.title}” ({thought.key})?",
        message="Its links are deleted too; its children move up to its parent.",
        cancel_url=reverse("space-detail", args=[space.pk]) + f"#thought-{thought.key}",
    )


# --- links -------------------------------------------------------------------------------


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def link_create(request: HtmxHttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    form = LinkForm(_form_data(request), options_url=_options_url(space))
    if form.is_valid():
        try:
            link = services.link_create(space=space, actor=request.user, **form.cleaned_data)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            return _space_changed(request, space, anchor=link.source.key)
    context = {"space": space, "link_form": form, "inline": request.htmx}
    if request.htmx:
        return render(request, "spaces/_link_form.html", context)
    return render(request, "spaces/link_form.html", context)


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def link_delete(request: HtmxHttpRequest, space_id: str, link_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    if request.method == "POST":
        entry = services.link_delete(space=space, actor=request.user, link_id=link_id)
        ends = entry.before or {}
        message = f"Deleted the link {ends.get('source')} → {ends.get('target')}."
        return _space_changed(
            request, space, toast={"message": message, "undo": _undo_url(space, entry.pk)}
        )
    link = selectors.link_list(space=space).filter(pk=link_id).first()
    if link is None:
        raise Http404("Link not found in this space.")
    return _confirm(
        request,
        title=f"Delete the link {link.source.key} → {link.target.key}?",
        message="The two thoughts stay; only the link between them goes.",
        cancel_url=reverse("space-detail", args=[space.pk]),
    )


def _undo_url(space: Space, entry_id: str) -> str:
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
        raise
    except ServiceError as exc:
        if not request.htmx:
            messages.error(request, exc.message)
        return _space_changed(request, space, toast={"message": exc.message})
    message = f"“{thought.title}” is back." if thought else "The link is back."
    if not request.htmx:
        messages.success(request, message)
    return _space_changed(
        request, space, anchor=thought.key if thought else "", toast={"message": message}
    )


# --- API tokens --------------------------------------------------------------------------


def _token_page(
    request: HttpRequest, form: TokenForm, new_token: str = "", new_token_id: str = ""
) -> HttpResponse:
    tokens = request.user.api_tokens.all()  # type: ignore[union-attr]
    context = {"form": form, "tokens": tokens, "new_token": new_token, "new_token_id": new_token_id}
    return render(request, "spaces/tokens.html", context)


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
            return render(request, "spaces/_token_table.html", context)
        messages.success(request, f"Revoked the token {token.prefix}….")
        return redirect("token-list")
    return _confirm(
        request,
        title=f"Revoke the token {token.prefix}… ({token.name or 'unnamed'})?",
        message="Clients using it are refused from now on. This cannot be undone.",
        cancel_url=reverse("token-list"),
    )
