"""HTML pages: sign-in, spaces and their thoughts, the graph, search, history, API tokens,
proposals and the agent guide."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from spaces.views import (
    accounts,
    agents,
    archive,
    conflicts,
    explore,
    links,
    spaces,
    thoughts,
    tokens,
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="space-list"), name="home"),
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", accounts.signup, name="signup"),
    path("account/", accounts.account, name="account"),
    path("invitations/<str:token>/", accounts.invitation, name="invitation"),
    path(
        "spaces/<str:space_id>/invitations/new/",
        accounts.invitation_create,
        name="invitation-create",
    ),
    path(
        "spaces/<str:space_id>/invitations/<str:invitation_id>/revoke/",
        accounts.invitation_revoke,
        name="invitation-revoke",
    ),
    path("spaces/", spaces.space_list, name="space-list"),
    path("spaces/new/", spaces.space_create, name="space-create"),
    path("spaces/import/", archive.space_import, name="space-import"),
    path("spaces/<str:space_id>/", thoughts.space_detail, name="space-detail"),
    path("spaces/<str:space_id>/edit/", spaces.space_edit, name="space-edit"),
    path("spaces/<str:space_id>/delete/", spaces.space_delete, name="space-delete"),
    path("spaces/<str:space_id>/share/", spaces.space_share, name="space-share"),
    path("spaces/<str:space_id>/history/", spaces.space_history, name="space-history"),
    path("spaces/<str:space_id>/live/", thoughts.space_live, name="space-live"),
    path("spaces/<str:space_id>/export/", archive.space_export, name="space-export"),
    path("spaces/<str:space_id>/at/", archive.space_at, name="space-at"),
    path("spaces/<str:space_id>/restore/", archive.space_restore, name="space-restore"),
    path(
        "spaces/<str:space_id>/history/<str:entry_id>/restore/",
        archive.version_restore,
        name="version-restore",
    ),
    path(
        "spaces/<str:space_id>/history/<str:entry_id>/undo/",
        thoughts.delete_undo,
        name="delete-undo",
    ),
    path(
        "spaces/<str:space_id>/conflicts/",
        conflicts.space_conflicts,
        name="space-conflicts",
    ),
    path(
        "spaces/<str:space_id>/conflicts/<str:conflict_id>/restore/",
        conflicts.conflict_restore,
        name="conflict-restore",
    ),
    path(
        "spaces/<str:space_id>/conflicts/<str:conflict_id>/dismiss/",
        conflicts.conflict_dismiss,
        name="conflict-dismiss",
    ),
    path("spaces/<str:space_id>/graph.json", explore.space_graph, name="space-graph"),
    path("spaces/<str:space_id>/search/", explore.space_search, name="space-search"),
    path("spaces/<str:space_id>/thoughts/new/", thoughts.thought_create, name="thought-create"),
    path(
        "spaces/<str:space_id>/thought-options/", thoughts.thought_options, name="thought-options"
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/children/",
        thoughts.thought_children,
        name="thought-children",
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/",
        explore.thought_detail,
        name="thought-detail",
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/edit/",
        thoughts.thought_edit,
        name="thought-edit",
    ),
    path(
        "spaces/<str:space_id>/thoughts/<str:key>/delete/",
        thoughts.thought_delete,
        name="thought-delete",
    ),
    path("spaces/<str:space_id>/links/new/", links.link_create, name="link-create"),
    path(
        "spaces/<str:space_id>/links/<str:link_id>/delete/",
        links.link_delete,
        name="link-delete",
    ),
    path(
        "spaces/<str:space_id>/proposals/",
        agents.space_proposals,
        name="space-proposals",
    ),
    path("proposals/", agents.proposal_list, name="proposal-list"),
    path(
        "proposals/<str:proposal_id>/approve/",
        agents.proposal_approve,
        name="proposal-approve",
    ),
    path(
        "proposals/<str:proposal_id>/reject/",
        agents.proposal_reject,
        name="proposal-reject",
    ),
    path("agents/", agents.agent_guide, name="agent-guide"),
    path("tokens/", tokens.token_list, name="token-list"),
    path("tokens/new/", tokens.token_create, name="token-create"),
    path("tokens/<str:token_id>/revoke/", tokens.token_revoke, name="token-revoke"),
]
