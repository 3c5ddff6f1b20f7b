"""Auto-increment keys get ids no other replica assigns (syncops.ids), in every table."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission, User

from syncops.ids import RANDOM_BITS, new_integer_id


def test_ids_increase_within_a_process_and_differ_in_their_random_bits() -> None:
    ids = [new_integer_id() for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len({value & (2**RANDOM_BITS - 1) for value in ids}) > 1900


def test_a_user_gets_an_id_no_replica_assigns_by_counting(db: Any) -> None:
    first = User.objects.create_user("erin", password="pw-erin-123")
    second = User.objects.create_user("frank", password="pw-frank-123")
    assert first.pk > 2**40 and second.pk > first.pk
    assert User.objects.get(username="frank").pk == second.pk


def test_bulk_created_and_many_to_many_rows_get_them_too(db: Any) -> None:
    groups = Group.objects.bulk_create([Group(name="a"), Group(name="b")])
    assert all(group.pk > 2**40 for group in groups)
    user = User.objects.create_user("gina")
    user.groups.add(*groups)
    user.user_permissions.add(Permission.objects.first())
    through = User.groups.through.objects.filter(user=user)
    assert [row.pk > 2**40 for row in through] == [True, True]
    assert User.user_permissions.through.objects.get(user=user).pk > 2**40


def test_an_explicit_id_is_kept(db: Any) -> None:
    assert User.objects.create(id=7, username="seven").pk == 7
    assert User.objects.get(username="seven").pk == 7
