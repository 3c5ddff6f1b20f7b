"""Every replicated table declares how a lost write is reconciled; the check says when not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from syncops import policies
from syncops.checks import check_reconciliation_policies


@pytest.fixture
def without_policy() -> Iterator[str]:
    table = "spaces_proposal"
    saved = policies._POLICIES.pop(table)
    yield table
    policies._POLICIES[table] = saved


def test_every_replicated_table_has_a_policy() -> None:
    assert "auth_user" in policies.replicated_tables()
    assert "auth_user_groups" in policies.replicated_tables()  # auto-created tables too
    missing = [t for t in policies.replicated_tables() if policies.policy_for(t) is None]
    assert missing == []
    assert check_reconciliation_policies() == []


def test_a_table_without_a_policy_fails_the_check(without_policy: str) -> None:
    (error,) = check_reconciliation_policies()
    assert error.id == "syncops.E010" and without_policy in error.msg
    with pytest.raises(SystemCheckError, match="spaces_proposal has no reconciliation policy"):
        call_command("check")


def test_derived_tables_are_not_journaled() -> None:
    assert not policies.journaled("spaces_thoughtembedding")
    assert policies.journaled("spaces_thought") and policies.journaled("auth_user")
