"""HTML pages: sign-in, spaces and their thoughts, the graph, search, history, API tokens,
proposals and the agent guide."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from spaces import (
    views,
    views_accounts,
    views_agents,
    views_archive,
    views_conflicts,
    views_explore,
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="space-list"), name="home"),
    path("login/", views_accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views_accounts.signup, name="signup"),
    path("account/", views_accounts.account, name="account"),
    path("invitations/<str:token>/", views_accounts.invitation, name="invitation"),
    path(
        "spaces/<str:space_id>/invitations/new/",
        views_accounts.invitation_create,
        name="invitation-create",
    ),
    path(
        "spaces/<str:space_id>/invitations/<str:invitation_id>/revoke/",
        views_accounts.invitation_revoke,
        name="invitation-revoke",
    ),
    path("spaces/", views.space_list, name="space-list"),
    path("spaces/new/", views.space_create, name="space-create"),
    path("spaces/import/", views_archive.space_import, name="space-import"),
    path("spaces/<str:space_id>/", views.space_detail, name="space-detail"),
    path("spaces/<str:space_id>/edit/", views.space_edit, name="space-edit"),
    path("spaces/<str:space_id>/delete/", views.space_delete, name="space-delete"),
    path("spaces/<str:space_id>/share/", views.space_share, name="space-share"),
    path("spaces/<str:space_id>/history/", views.space_history, name="space-history"),
    path("spaces/<str:space_id>/live/", views.space_live, name="space-live"),
    path("spaces/<str:space_id>/export/", views_archive.space_export, name="space-export"),
    path("spaces/<str:space_id>/at/", views_archive.space_at, name="space-at"),
    path("spaces/<str:space_id>/restore/", views_archive.space_restore, name="space-restore"),
    path(
        "spaces/<str:space_id>/history/<str:entry_id>/restore/",
        views_archive.version_restore,
        name="version-restore",
    ),
    path(
        "spaces/<str:space_id>/history/<str:entry_id>/undo/",
        views.delete_undo,
        name="delete-undo",
    ),
    path(
        "spaces/<str:space_id>/conflicts/",
        views_conflicts.space_conflicts,
        name="space-conflicts",
    ),
    path(
        "spaces/<str:space_id>/conflicts/<str:conflict_id>/restore/",
        views_conflicts.conflict_restore,
        name="conflict-restore",
    ),
    path(
        "spaces/<str:space_id>/conflicts/<str:conflict_id>/dismiss/",
        views_conflicts.conflict_dismiss,
        name="conflict-dismiss",
    ),
    path("spaces/<str:space_id>/graph.json", views_explore.space_graph, name="space-graph"),
    path("spaces/<str:space_id>/search/", views_explore.space_search, name="space-search"),
    path("spaces/<str:space_id>/thoughts/new/", views.thought_create, name="thought-create"),
    path("spaces/<str:space_id>/thought-options/", views.thought_options, name="thought-options"),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/children/",
        views.thought_children,
        name="thought-children",
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/",
        views_explore.thought_detail,
        name="thought-detail",
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/edit/",
        views.thought_edit,
        name="thought-edit",
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/delete/",
        views.thought_delete,
        name="thought-delete",
    ),
    path("spaces/<str:space_id>/links/new/", views.link_create, name="link-create"),
    path(
        "spaces/<str:space_id>/links/<str:link_id>/delete/",
        views.link_delete,
        name="link-delete",
    ),
    path(
        "spaces/<str:space_id>/proposals/",
        views_agents.space_proposals,
        name="space-proposals",
    ),
    path("proposals/", views_agents.proposal_list, name="proposal-list"),
    path(
        "proposals/<str:proposal_id>/approve/",
        views_agents.proposal_approve,
        name="proposal-approve",
    ),
    path(
        "proposals/<str:proposal_id>/reject/",
        views_agents.proposal_reject,
        name="proposal-reject",
    ),
    path("agents/", views_agents.agent_guide, name="agent-guide"),
    path("tokens/", views.token_list, name="token-list"),
    path("tokens/new/", views.token_create, name="token-create"),
    path("tokens/<str:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
