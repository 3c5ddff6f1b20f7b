"""HTML pages for agents' work: pending proposals to approve or reject, agent sessions, and
the agent guide. Approval and rejection go through spaces.proposals, like the API's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from spaces import proposals, selectors
from spaces.errors import Conflict, InvalidInput
from spaces.models import Proposal
from spaces.presentation import field_changes
from spaces.views.common import domain_errors

RECENT_DECISIONS = 20


def _rows(items: Any, user: Any) -> list[dict[str, Any]]:
    """Each proposal with its diff and whether ``user`` may decide it."""
    roles: dict[str | None, str | None] = {}
    rows = []
    for proposal in items:
        if proposal.space_id not in roles:
            roles[proposal.space_id] = proposal.space.role_of(user) if proposal.space else None
        role = roles[proposal.space_id]
        op = proposals.OPERATIONS.get(proposal.operation)
        if proposal.space_id is None:
            can_decide = proposal.proposed_by_id == user.pk
        elif op is not None and op.access == "manage":
            can_decide = role == "owner"
        else:
            can_decide = role in ("owner", "editor")
        diff = field_changes(proposal.before, proposal.after)
        rows.append({"proposal": proposal, "diff": diff, "can_decide": can_decide})
    return rows


@login_required
def proposal_list(request: HttpRequest) -> HttpResponse:
    """Every pending proposal you can see, grouped by space."""
    pending = selectors.proposal_list(user=request.user, status=Proposal.Status.PENDING)
    groups: dict[str, dict[str, Any]] = {}
    for row in _rows(pending.order_by("space__title", "id"), request.user):
        space = row["proposal"].space
        group = groups.setdefault(space.pk if space else "", {"space": space, "rows": []})
        group["rows"].append(row)
    context = {"groups": list(groups.values()), "pending_count": pending.count()}
    return render(request, "spaces/agents/proposal_list.html", context)


@login_required
@domain_errors
def space_proposals(request: HttpRequest, space_id: str) -> HttpResponse:
    """A space's pending proposals with their diffs, recent decisions and agent sessions."""
    space = selectors.space_get(user=request.user, space_id=space_id)
    visible = selectors.proposal_list(user=request.user, space_id=space.pk)
    pending = visible.filter(status=Proposal.Status.PENDING).order_by("id")
    decided = visible.exclude(status=Proposal.Status.PENDING)[:RECENT_DECISIONS]
    context = {
        "space": space,
        "pending": _rows(pending, request.user),
        "pending_count": len(pending),
        "decided": decided,
        "sessions": selectors.agent_session_list(space=space).prefetch_related(
            "proposals", "history"
        ),
    }
    return render(request, "spaces/agents/space_proposals.html", context)


def _back(request: HttpRequest, proposal: Proposal) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    if proposal.space_id:
        return redirect("space-proposals", space_id=proposal.space_id)
    return redirect("proposal-list")


@login_required
@domain_errors
@require_POST
def proposal_approve(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = selectors.proposal_get(user=request.user, proposal_id=proposal_id)
    try:
        proposals.proposal_approve(proposal=proposal, approver=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Approved and applied: {proposal.summary}.")
    return _back(request, proposal)


@login_required
@domain_errors
@require_POST
def proposal_reject(request: HttpRequest, proposal_id: str) -> HttpResponse:
    proposal = selectors.proposal_get(user=request.user, proposal_id=proposal_id)
    try:
        proposals.proposal_reject(
            proposal=proposal, decider=request.user, reason=request.POST.get("reason", "")
        )
    except (Conflict, InvalidInput) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Rejected: {proposal.summary}.")
    return _back(request, proposal)


def agent_guide(request: HttpRequest) -> HttpResponse:
    """How an agent works on a space through the API (public: agents read it too)."""
    context = {"base_url": request.build_absolute_uri("/").rstrip("/")}
    return render(request, "spaces/agents/agent_guide.html", context)
