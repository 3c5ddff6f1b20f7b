"""People and access: sign-up (an admin opens or closes it), invitations by link, and a
person's own sessions. Sharing itself stays services.space_share: an accepted invitation is an
ordinary share, with its history entry, by the person who made the link."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from spaces import services
from spaces.errors import InvalidInput, NotFound
from spaces.models import INVITATION_DAYS, Invitation, Role, SignupSetting, Space

TOKEN_BYTES = 24


def signup_open() -> bool:
    """The newest sign-up setting decides; before any, THOUGHTSPACE_SIGNUP_OPEN."""
    newest = SignupSetting.objects.order_by("-created_at", "-id").first()
    return newest.open if newest is not None else settings.SIGNUP_OPEN_DEFAULT


def signup_set(*, open: bool, actor: Any) -> SignupSetting:
    return SignupSetting.objects.create(open=open, changed_by=actor)


def invitation_create(
    *, space: Space, actor: Any, role: str, days: int = INVITATION_DAYS
) -> tuple[Invitation, str]:
    """A link's secret and its row (only the hash is kept): shown once, like a token."""
    if role not in Role.values:
        raise InvalidInput(f"role must be one of: {', '.join(Role.values)}.", field="role")
    now = timezone.now()
    open_ones = space.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )
    if open_ones.count() >= settings.INVITATION_MAX_OPEN:
        raise InvalidInput(
            f"This space has {settings.INVITATION_MAX_OPEN} open invitations: revoke some first."
        )
    raw = "inv_" + secrets.token_urlsafe(TOKEN_BYTES)
    invitation = Invitation.objects.create(
        space=space,
        role=role,
        token_hash=services.secret_hash(raw),
        created_by=actor,
        expires_at=now + timedelta(days=days),
    )
    return invitation, raw


def invitation_find(raw: str) -> Invitation:
    """The invitation a link names, whatever its state (NotFound for none)."""
    invitation = (
        Invitation.objects.select_related("space", "created_by")
        .filter(token_hash=services.secret_hash(raw or ""))
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation link is not valid: ask for a new one.")
    return invitation


RANK = {None: 0, Role.VIEWER: 1, Role.EDITOR: 2, "owner": 3}


def gives_more(invitation: Invitation, user: Any) -> bool:
    """Whether the invitation gives ``user`` more than they have in its space."""
    return RANK.get(invitation.space.role_of(user), 0) < RANK[invitation.role]


def invitation_accept(*, raw: str, user: Any) -> Space:
    """Give ``user`` the invitation's role in its space (an ordinary share, by the person who
    made the link). The link is claimed with a conditional update, so two requests racing
    for it cannot both use it; someone who has that role already just arrives, and the link
    stays open for another."""
    with transaction.atomic():
        invitation = invitation_find(raw)
        space = invitation.space
        if invitation.status == "accepted" and invitation.accepted_by_id == user.pk:
            return space
        if invitation.status != "open":
            raise InvalidInput(
                f"This invitation is {invitation.status}: ask {_inviter(invitation)} for a new one."
            )
        if not gives_more(invitation, user):
            return space
        now = timezone.now()
        claimed = Invitation.objects.filter(
            pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(accepted_by=user, accepted_at=now)
        if not claimed:
            raise InvalidInput(
                f"This invitation was used a moment ago: ask {_inviter(invitation)} for a new one."
            )
        services.space_share(
            space=space,
            actor=invitation.created_by or user,
            username=user.get_username(),
            role=invitation.role,
        )
    return space


def _inviter(invitation: Invitation) -> str:
    return invitation.created_by.get_username() if invitation.created_by else "the space's owner"


def invitation_revoke(*, space: Space, invitation_id: str) -> None:
    updated = space.invitations.filter(pk=invitation_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated and not space.invitations.filter(pk=invitation_id).exists():
        raise NotFound("Invitation not found in this space.")


def other_sessions(user: Any, current_key: str | None) -> list[Session]:
    """The user's unexpired sessions other than ``current_key`` (Django keeps no index by
    user: each session is decoded; fine for the sessions of one deployment)."""
    found = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key == current_key:
            continue
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            found.append(session)
    return found


def sign_out_elsewhere(user: Any, current_key: str | None) -> int:
    sessions = other_sessions(user, current_key)
    Session.objects.filter(pk__in=[s.pk for s in sessions]).delete()
    return len(sessions)
