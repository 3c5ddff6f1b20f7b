"""Pages for people and access: sign-up, invitation links, and a person's own account
(password, sessions, tokens). The rules live in spaces.accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login, update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from spaces import accounts, selectors
from spaces.errors import NotFound, ServiceError
from spaces.forms import InviteForm, SignupForm, add_service_error
from spaces.models import Invitation
from spaces.views.common import domain_errors
from spaces.views.spaces import share_page

LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


class LoginView(auth_views.LoginView):
    """Django's sign-in, which also offers sign-up when it is open."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**kwargs) | {"signup_open": accounts.signup_open()}


def _open_invitation(raw: str) -> Invitation | None:
    if not raw:
        return None
    try:
        invitation = accounts.invitation_find(raw)
    except NotFound:
        return None
    return invitation if invitation.status == "open" else None


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Make an account: when an admin opened sign-up, or with an open invitation link."""
    if request.user.is_authenticated:
        return redirect("space-list")
    raw = request.POST.get("invite") or request.GET.get("invite", "")
    invitation = _open_invitation(raw)
    if invitation is None and not accounts.signup_open():
        return render(request, "registration/signup_closed.html", status=403)
    form = SignupForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            with transaction.atomic():  # no account without its invitation when sign-up is closed
                user = form.save()
                space = accounts.invitation_accept(raw=raw, user=user) if invitation else None
        except ServiceError as exc:  # the link was used or revoked meanwhile
            add_service_error(form, exc)
        else:
            login(request, user, backend=LOGIN_BACKEND)
            name = user.get_username()
            if space is not None:
                messages.success(request, f"Welcome, {name}: you joined “{space.title}”.")
                return redirect("space-detail", space_id=space.pk)
            messages.success(request, f"Welcome, {name}.")
            return redirect("space-list")
    context = {"form": form, "invite": raw if invitation else "", "invitation": invitation}
    return render(request, "registration/signup.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: what it offers, and Join (signed in), or sign in / sign up."""
    try:
        found = accounts.invitation_find(token)
    except NotFound as exc:
        missing = {"error": exc.message}
        return render(request, "spaces/accounts/invitation.html", missing, status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            space = accounts.invitation_accept(raw=token, user=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"You joined “{space.title}”.")
            return redirect("space-detail", space_id=space.pk)
    signed_in = request.user.is_authenticated
    context = {
        "invitation": found,
        "token": token,
        "role": found.space.role_of(request.user) if signed_in else None,
        "gives_more": signed_in and accounts.gives_more(found, request.user),
        "login_url": f"{reverse('login')}?next={request.path}",
        "signup_url": f"{reverse('signup')}?invite={token}",
    }
    return render(request, "spaces/accounts/invitation.html", context)


@login_required
@domain_errors
@never_cache
@require_POST
def invitation_create(request: HttpRequest, space_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, manage=True)
    form = InviteForm(request.POST)
    link = ""
    if form.is_valid():
        try:
            _, raw = accounts.invitation_create(
                space=space, actor=request.user, role=form.cleaned_data["role"]
            )
        except ServiceError as exc:
            add_service_error(form, exc, "role")
        else:
            # Rendered, not redirected: the link exists only in this one response.
            link = request.build_absolute_uri(reverse("invitation", args=[raw]))
    return share_page(request, space, invite_form=form, invite_link=link)


@login_required
@domain_errors
@require_POST
def invitation_revoke(request: HttpRequest, space_id: str, invitation_id: str) -> HttpResponse:
    space = selectors.space_get(user=request.user, space_id=space_id, manage=True)
    accounts.invitation_revoke(space=space, invitation_id=invitation_id)
    messages.success(request, "The invitation link no longer works.")
    return redirect("space-share", space_id=space.pk)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def account(request: HttpRequest) -> HttpResponse:
    """A person's own account: password, where they are signed in, their API tokens."""
    user = request.user
    key = request.session.session_key
    action = request.POST.get("action") if request.method == "POST" else None
    password_form = PasswordChangeForm(user, request.POST if action == "password" else None)  # type: ignore[arg-type]
    if action == "password" and password_form.is_valid():
        password_form.save()
        update_session_auth_hash(request, password_form.user)  # this session stays signed in
        messages.success(request, "Password changed. Other sessions are signed out.")
        return redirect("account")
    if action == "sessions":
        count = accounts.sign_out_elsewhere(user, key)
        messages.success(
            request, f"Signed out of {count} other session{'s' if count != 1 else ''}."
        )
        return redirect("account")
    context = {
        "password_form": password_form,
        "other_sessions": accounts.other_sessions(user, key),
        "tokens": user.api_tokens.filter(revoked_at__isnull=True),  # type: ignore[union-attr]
    }
    return render(request, "spaces/accounts/account.html", context)
