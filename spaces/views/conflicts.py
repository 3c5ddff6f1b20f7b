"""Pages for conflicts: writes that lost to another replica, side by side with what was kept,
to restore or dismiss."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from spaces import conflicts, selectors
from spaces.errors import ServiceError
from spaces.presentation import conflict_cards
from spaces.views.common import domain_errors

RESOLVED_SHOWN = 20


@login_required
@domain_errors
def space_conflicts(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id)
    role = space.user_role  # type: ignore[attr-defined]
    resolved = selectors.conflict_list(space=space, status=None).filter(resolution__isnull=False)
    context = {
        "space": space,
        "can_edit": role in ("owner", "editor"),
        "open_cards": conflict_cards(selectors.conflict_list(space=space)),
        "resolved_cards": conflict_cards(resolved[:RESOLVED_SHOWN]),
    }
    return render(request, "spaces/conflicts/conflicts.html", context)


@login_required
@domain_errors
@require_POST
def conflict_restore(request: HttpRequest, space_id: str, conflict_id: str) -> HttpResponse:
    return _resolve(request, space_id, conflict_id, restore=True)


@login_required
@domain_errors
@require_POST
def conflict_dismiss(request: HttpRequest, space_id: str, conflict_id: str) -> HttpResponse:
    return _resolve(request, space_id, conflict_id, restore=False)


def _resolve(
    request: HttpRequest, space_id: str, conflict_id: str, *, restore: bool
) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    conflict = selectors.conflict_get(space=space, conflict_id=conflict_id)
    try:
        if restore:
            conflicts.conflict_restore(conflict=conflict, actor=request.user)
            messages.success(request, "The lost version is back, as a new change.")
        else:
            conflicts.conflict_dismiss(conflict=conflict, actor=request.user)
            messages.success(request, "Conflict dismissed; nothing was changed.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    back = request.POST.get("next", "")
    if back.startswith(f"/spaces/{space.pk}/"):  # only back to a page of this space
        return redirect(back)
    return redirect("space-conflicts", space_id=space.pk)
