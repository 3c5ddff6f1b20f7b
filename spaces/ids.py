"""Application-generated primary keys: several replicas insert at once, so no autoincrement."""

from ulid import ULID


def new_id() -> str:
    """A new ULID as 26 characters of Crockford base32, sortable by creation time."""
    return str(ULID())
