"""Admin for every model; history and proposals are read-only, and edits go through the
services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from spaces import conflicts, proposals, services
from spaces.errors import ServiceError
from spaces.models import (
    AgentSession,
    ApiToken,
    Conflict,
    HistoryEntry,
    Invitation,
    Link,
    Membership,
    Proposal,
    SignupSetting,
    Space,
    Thought,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Space)
class SpaceAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "created_at", "updated_at"]
    list_filter = ["created_at"]
    search_fields = ["title", "description", "owner__username"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline]


@admin.register(Thought)
class ThoughtAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "space", "kind", "version", "updated_at"]
    list_filter = ["kind", "space"]
    search_fields = ["key", "title", "body"]
    readonly_fields = ["id", "version", "created_at", "updated_at"]
    list_select_related = ["space"]

    def save_model(self, request: HttpRequest, obj: Thought, form: Any, change: bool) -> None:
        if not change:
            services.thought_create(
                space=obj.space,
                actor=request.user,
                key=obj.key,
                title=obj.title,
                body=obj.body,
                kind=obj.kind,
                metadata=obj.metadata,
                parent=obj.parent.key if obj.parent else None,
                position=obj.position,
            )
            return
        fields = [name for name in form.changed_data if name in services.THOUGHT_FIELDS]
        changes = {name: getattr(obj, name) for name in fields}
        if "parent" in changes:
            changes["parent"] = obj.parent.key if obj.parent else None
        current = Thought.objects.get(pk=obj.pk)
        services.thought_update(thought=current, actor=request.user, changes=changes)

    def delete_model(self, request: HttpRequest, obj: Thought) -> None:
        services.thought_delete(thought=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for thought in queryset:
            services.thought_delete(thought=thought, actor=request.user)


@admin.register(Link)
class LinkAdmin(admin.ModelAdmin):
    list_display = ["source", "label", "target", "space", "created_at"]
    list_filter = ["space"]
    search_fields = ["label", "source__key", "target__key"]
    list_select_related = ["source", "target", "space"]
    readonly_fields = ["id", "created_at"]

    def delete_model(self, request: HttpRequest, obj: Link) -> None:
        services.link_delete(space=obj.space, actor=request.user, link_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for link in queryset:
            services.link_delete(space=link.space, actor=request.user, link_id=link.pk)


@admin.register(HistoryEntry)
class HistoryEntryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "action",
        "thought_key",
        "actor_name",
        "agent_session",
        "proposal",
        "space",
        "base_version",
    ]
    list_filter = ["action", "space"]
    search_fields = ["thought_key", "actor_name"]
    list_select_related = ["space"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "mode", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["mode", "revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["id", "prefix", "created_at", "last_used_at"]
    exclude = ["token_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are created where their raw value can be shown once

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        for token in queryset:
            services.token_revoke(token=token)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SessionProposalInline(ReadOnlyInline):
    model = Proposal
    fields = ("created_at", "space", "summary", "status", "decided_by")
    readonly_fields = fields


class SessionHistoryInline(ReadOnlyInline):
    model = HistoryEntry
    fields = ("created_at", "space", "action", "thought_key", "actor_name")
    readonly_fields = fields


class AgentSessionSpaceFilter(admin.SimpleListFilter):
    """Sessions that proposed or changed something in one space."""

    title = "space"
    parameter_name = "space"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(space.pk, space.title) for space in Space.objects.order_by("title")[:100]]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if not self.value():
            return queryset
        in_space = Q(history__space_id=self.value()) | Q(proposals__space_id=self.value())
        return queryset.filter(in_space).distinct()


@admin.register(AgentSession)
class AgentSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "label", "user", "token", "status", "created_at", "last_seen_at"]
    list_filter = [AgentSessionSpaceFilter, "ended_at"]
    search_fields = ["id", "label", "user__username", "token__name"]
    readonly_fields = ["id", "user", "token", "label", "created_at", "last_seen_at", "ended_at"]
    inlines = [SessionProposalInline, SessionHistoryInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # agents start sessions through the API


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["created_at", "summary", "space", "status", "proposed_by", "agent_session"]
    list_filter = ["status", "operation", "space"]
    search_fields = ["summary", "target", "proposed_by__username"]
    list_select_related = ["space", "proposed_by", "agent_session"]
    actions = ["approve", "reject"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve selected proposals (as you)")
    def approve(self, request: HttpRequest, queryset: Any) -> None:
        for proposal in queryset:
            try:
                proposals.proposal_approve(proposal=proposal, approver=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{proposal}: {exc.message}", level="error")

    @admin.action(description="Reject selected proposals")
    def reject(self, request: HttpRequest, queryset: Any) -> None:
        for proposal in queryset:
            try:
                proposals.proposal_reject(proposal=proposal, decider=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{proposal}: {exc.message}", level="error")


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "space", "thought_key", "actor_name", "status"]
    list_filter = ["kind", "space"]
    search_fields = ["thought_key", "detail", "actor_name"]
    list_select_related = ["space", "resolution"]
    actions = ["restore", "dismiss"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Restore the lost version of selected conflicts (as you)")
    def restore(self, request: HttpRequest, queryset: Any) -> None:
        self._each(request, queryset, conflicts.conflict_restore)

    @admin.action(description="Dismiss selected conflicts")
    def dismiss(self, request: HttpRequest, queryset: Any) -> None:
        self._each(request, queryset, conflicts.conflict_dismiss)

    def _each(self, request: HttpRequest, queryset: Any, resolve: Any) -> None:
        for conflict in queryset.select_related("space"):
            try:
                resolve(conflict=conflict, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{conflict}: {exc.message}", level="error")


admin.site.register(Membership)


@admin.register(SignupSetting)
class SignupSettingAdmin(admin.ModelAdmin):
    """Open or close sign-up: add a setting; the newest decides, the older ones are its log."""

    list_display = ("open", "changed_by", "created_at")
    fields = ("open",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a change is a new row (the log stays whole)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("space", "role", "created_by", "created_at", "expires_at", "accepted_by")
    list_filter = ("role",)
    readonly_fields = [f.name for f in Invitation._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made on a space's share page, where the link is shown once

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} invitation(s).")
