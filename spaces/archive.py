"""Export a space as a lossless archive and import one: the archive format, reading it (with
the file and line of every error) and applying it through the services.

The archive is JSON Lines (docs/archive.md): a header line, then one record a line, each an
object with a ``type``: ``space``, ``thought`` (parents before their children), ``link``,
``history`` and ``conflict``. Export streams it from the database in chunks, so memory does
not grow with the space. An import reads a whole archive before it writes anything: a bad
line stops it with its number and nothing changed. What it read waits in a ``Plan``, on disk
(a private temporary SQLite database), and is written a chunk at a time, so an import's
memory does not grow with the archive either. Markdown folders (``spaces.vault``) are read
into the same ``Plan`` and applied the same way.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from django.db import connection, transaction

from spaces import services
from spaces.errors import InvalidInput
from spaces.models import Conflict, Space, Thought

FORMAT = "thoughtspace-space"
SCHEMA = 1
CHUNK = 500  # rows read from the database at a time
UNRESOLVED = "unresolved link: "  # how a plan lists a link to a note that is not there
Progress = Callable[[int], None]


class ArchiveError(InvalidInput):
    """What is wrong with an archive, where: ``file`` and ``line`` (1-based) when known."""

    def __init__(self, message: str, *, file: str = "", line: int | None = None) -> None:
        where = ", ".join(part for part in (file, f"line {line}" if line else "") if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.file, self.line = file, line


@dataclass(slots=True)
class ThoughtRecord:
    key: str
    title: str
    body: str = ""
    kind: str = "note"
    metadata: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    position: int = 0
    id: str | None = None
    file: str = ""
    line: int | None = None

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in services.THOUGHT_FIELDS}


@dataclass
class LinkRecord:
    source: str
    target: str
    label: str = ""
    file: str = ""
    line: int | None = None


class Plan:
    """What an archive holds, read and checked, before anything is written. Its thoughts and
    links wait on disk, in a private temporary SQLite database (SQLite deletes it when the
    plan is closed or collected), so that memory does not grow with the archive."""

    def __init__(self, title: str, description: str = "") -> None:
        self.title, self.description = title, description
        self.attachments: list[str] = []  # files kept out (listed, not lost)
        self.history = 0  # history entries in the archive (kept there; not imported)
        self.conflicts = 0
        self.db = sqlite3.connect("")  # "": a temporary file, private to this connection
        self.db.executescript(
            """
            CREATE TABLE thought (
                n INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, parent TEXT,
                record TEXT NOT NULL, depth INTEGER, cut INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX thought_parent ON thought (parent);
            CREATE INDEX thought_depth ON thought (depth, n);
            CREATE TABLE link (
                n INTEGER PRIMARY KEY, source TEXT NOT NULL, target TEXT NOT NULL,
                label TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (source, target, label)
            );
            """
        )

    def close(self) -> None:
        self.db.close()

    def add_thought(self, record: ThoughtRecord) -> None:
        """Keep ``record``; its key must be new (an ``ArchiveError`` names its line if not)."""
        try:
            self.db.execute(
                "INSERT INTO thought (key, parent, record) VALUES (?, ?, ?)",
                (record.key, record.parent, json.dumps(asdict(record))),
            )
        except sqlite3.IntegrityError:
            raise ArchiveError(
                f"thought key {record.key!r} appears twice", file=record.file, line=record.line
            ) from None

    def add_link(self, record: LinkRecord) -> None:
        """Keep ``record``, unless the plan has the same link (the first one stays)."""
        self.db.execute(
            "INSERT OR IGNORE INTO link (source, target, label, record) VALUES (?, ?, ?, ?)",
            (record.source, record.target, record.label, json.dumps(asdict(record))),
        )

    @property
    def thoughts(self) -> Iterator[ThoughtRecord]:
        """The thoughts in the order they were read."""
        for (record,) in self.db.execute("SELECT record FROM thought ORDER BY n"):
            yield ThoughtRecord(**json.loads(record))

    @property
    def links(self) -> Iterator[LinkRecord]:
        for (record,) in self.db.execute("SELECT record FROM link ORDER BY n"):
            yield LinkRecord(**json.loads(record))

    def thought_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM thought").fetchone()[0])

    def link_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM link").fetchone()[0])

    def parents_first(self, known: Callable[[list[str]], set[str]], *, cut: bool) -> list[str]:
        """Order the thoughts so that every parent comes before its children (``ordered``);
        a parent must be one of them or one of the space's (``known(keys)`` says which of
        ``keys`` the space has). A cycle of parents (concurrent moves on two replicas can make
        one) is cut, with ``cut``, at the thought where it is found: it comes in at the top
        level, and its key is returned. Without ``cut``, a cycle is an error."""
        db = self.db
        outside = (
            "parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM thought p WHERE p.key = c.parent)"
        )
        parents = db.execute(f"SELECT DISTINCT parent FROM thought c WHERE {outside}")
        while chunk := [parent for (parent,) in parents.fetchmany(CHUNK)]:
            found = known(chunk)
            for parent in chunk:
                if parent not in found:
                    record = self._first("WHERE parent = ?", parent)
                    raise ArchiveError(
                        f"thought {record.key!r} names parent {parent!r}, which is not in the "
                        "archive or the space",
                        file=record.file,
                        line=record.line,
                    )
        # The roots here: thoughts without a parent, or whose parent the space has.
        db.execute(f"UPDATE thought AS c SET depth = 0 WHERE parent IS NULL OR {outside}")
        cuts: list[str] = []
        while True:
            self._deepen()
            row = db.execute("SELECT key FROM thought WHERE depth IS NULL ORDER BY n").fetchone()
            if row is None:
                return cuts
            # From that thought up its parents (none of them has a depth) to where they repeat.
            on_path, seen, key = [], set(), row[0]
            while key not in seen:
                on_path.append(key)
                seen.add(key)
                key = db.execute("SELECT parent FROM thought WHERE key = ?", (key,)).fetchone()[0]
            if not cut:
                record = self._first("WHERE key = ?", key)
                raise ArchiveError(
                    f"thought {key!r} is its own ancestor (a cycle of parents)",
                    file=record.file,
                    line=record.line,
                )
            # The last one on the path: its parent closed the cycle.
            db.execute("UPDATE thought SET depth = 0, cut = 1 WHERE key = ?", (on_path[-1],))
            cuts.append(on_path[-1])

    def _deepen(self) -> None:
        """Give the thoughts below those with a depth theirs, level by level."""
        level = 0
        while self.db.execute("SELECT 1 FROM thought WHERE depth = ?", (level,)).fetchone():
            self.db.execute(
                "UPDATE thought SET depth = ? WHERE depth IS NULL AND parent IN "
                "(SELECT key FROM thought WHERE depth = ?)",
                (level + 1, level),
            )
            level += 1

    def _first(self, where: str, *args: Any) -> ThoughtRecord:
        (record,) = self.db.execute(
            f"SELECT record FROM thought {where} ORDER BY n", args
        ).fetchone()
        return ThoughtRecord(**json.loads(record))

    def ordered(self) -> Iterator[ThoughtRecord]:
        """The thoughts parents first (after ``parents_first``); a cut one without its parent."""
        rows = self.db.execute("SELECT record, cut FROM thought ORDER BY depth, n")
        for record, was_cut in rows:
            thought = ThoughtRecord(**json.loads(record))
            if was_cut:
                thought.parent = None
            yield thought


@dataclass
class Report:
    space_id: str = ""
    created: int = 0
    unchanged: int = 0
    links: int = 0
    links_unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # differences kept as the space had them
    attachments: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        verb = "would create" if self.dry_run else "created"
        out = [
            f"{verb} {self.created} thoughts and {self.links} links; "
            f"{self.unchanged} thoughts and {self.links_unchanged} links were there already"
        ]
        out += [f"conflict: {c}" for c in self.conflicts]
        unresolved = [a for a in self.attachments if a.startswith(UNRESOLVED)]
        files = [a for a in self.attachments if not a.startswith(UNRESOLVED)]
        if files:
            out.append(
                f"{len(files)} attachments not imported (named in the metadata of the thoughts "
                "that embed them, under 'attachments'): " + ", ".join(files)
            )
        out += unresolved
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- export --------------------------------------------------------------------------------


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str).encode() + b"\n"


def _tree_order(space: Space) -> Iterator[Thought]:
    """The space's thoughts, parents before children (level by level), a chunk at a time;
    then any that no root leads to (a cycle of parents, which concurrent moves on two
    replicas can make), so that an export never leaves a thought out."""
    level: list[str | None] = [None]
    seen = 0
    while level:
        following: list[str | None] = []
        for start in range(0, len(level), CHUNK):
            parents = level[start : start + CHUNK]
            query = space.thoughts.select_related("parent").order_by("position", "key")
            if parents == [None]:
                query = query.filter(parent__isnull=True)
            else:
                query = query.filter(parent_id__in=parents)
            for thought in query.iterator(chunk_size=CHUNK):
                seen += 1
                following.append(thought.pk)
                yield thought
        level = following
    if seen < space.thoughts.count():
        yield from _unreachable(space)


def _unreachable(space: Space) -> Iterator[Thought]:
    table = Thought._meta.db_table
    reachable = f"""
        WITH RECURSIVE reach(id) AS (
            SELECT id FROM {table} WHERE space_id = %s AND parent_id IS NULL
            UNION SELECT t.id FROM {table} t JOIN reach r ON t.parent_id = r.id
        )
        SELECT id FROM {table} WHERE space_id = %s AND id NOT IN (SELECT id FROM reach)
    """
    with connection.cursor() as cursor:
        cursor.execute(reachable, [space.pk, space.pk])
        ids = [row[0] for row in cursor.fetchall()]  # few: only thoughts caught in a cycle
    yield from space.thoughts.select_related("parent").filter(pk__in=ids).order_by("key")


def export_jsonl(space: Space, progress: Progress | None = None) -> Iterator[bytes]:
    """The lossless archive of ``space``, a line at a time."""
    count = space.thoughts.count()
    yield _line({"type": "header", "format": FORMAT, "schema": SCHEMA, "thoughts": count})
    yield _line(
        {
            "type": "space",
            "id": space.pk,
            "title": space.title,
            "description": space.description,
            "owner": space.owner.get_username(),
            "version": space.version,
            "created_at": space.created_at.isoformat(),
        }
    )
    done = 0
    for thought in _tree_order(space):
        record = thought.snapshot()
        record.update(
            type="thought",
            created_at=thought.created_at.isoformat(),
            updated_at=thought.updated_at.isoformat(),
        )
        yield _line(record)
        done += 1
        if progress and done % CHUNK == 0:
            progress(done)
    links = space.links.select_related("source", "target").order_by("created_at", "id")
    for link in links.iterator(chunk_size=CHUNK):
        yield _line(dict(link.snapshot(), type="link", created_at=link.created_at.isoformat()))
    for entry in space.history.order_by("id").iterator(chunk_size=CHUNK):
        yield _line(
            {
                "type": "history",
                "id": entry.pk,
                "action": entry.action,
                "thought_key": entry.thought_key,
                "actor": entry.actor_name,
                "base_version": entry.base_version,
                "before": entry.before,
                "after": entry.after,
                "created_at": entry.created_at.isoformat(),
            }
        )
    open_conflicts = Conflict.objects.filter(space=space, resolution__isnull=True).order_by("id")
    for conflict in open_conflicts.iterator(chunk_size=CHUNK):
        yield _line(
            {
                "type": "conflict",
                "id": conflict.pk,
                "kind": conflict.kind,
                "action": conflict.action,
                "thought_key": conflict.thought_key,
                "lost": conflict.lost,
                "kept": conflict.kept,
                "detail": conflict.detail,
                "actor": conflict.actor_name,
            }
        )
    if progress:
        progress(done)


# --- reading -------------------------------------------------------------------------------


def _field(record: dict[str, Any], name: str, kind: Any, default: Any, where: dict) -> Any:
    value = record.get(name, default)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ArchiveError(f"{record.get('type')} field {name!r} has the wrong type", **where)
    return value


def _thought(record: dict[str, Any], where: dict[str, Any]) -> ThoughtRecord:
    key, title = record.get("key"), record.get("title")
    if not isinstance(key, str) or not isinstance(title, str):
        raise ArchiveError("a thought needs a key and a title (strings)", **where)
    optional = (str, type(None))
    return ThoughtRecord(
        key=key,
        title=title,
        body=_field(record, "body", str, "", where),
        kind=_field(record, "kind", str, "note", where),
        metadata=_field(record, "metadata", dict, {}, where),
        parent=_field(record, "parent", optional, None, where),
        position=_field(record, "position", int, 0, where),
        id=_field(record, "id", optional, None, where),
        **where,
    )


def _record(raw: bytes, where: dict[str, Any]) -> dict[str, Any] | None:
    try:
        text = raw.decode().strip()
    except UnicodeDecodeError:
        raise ArchiveError("not UTF-8 text", **where) from None
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ArchiveError(f"not JSON ({exc})", **where) from None
    if not isinstance(record, dict):
        raise ArchiveError("each line must be a JSON object", **where)
    return record


def read_jsonl(stream: BinaryIO, *, file: str = "archive") -> Plan:
    """Read and check an archive from a binary file into a plan; ``ArchiveError`` names the
    first bad line (and the plan is closed)."""
    plan: Plan | None = None
    try:
        for number, raw in enumerate(stream, start=1):
            where: dict[str, Any] = {"file": file, "line": number}
            record = _record(raw, where)
            if record is None:
                continue
            kind = record.get("type")
            if plan is None:
                _check_header(record, where)
                plan = Plan(title="")
            elif kind == "space":
                plan.title = _field(record, "title", str, "", where)
                plan.description = _field(record, "description", str, "", where)
            elif kind == "thought":
                plan.add_thought(_thought(record, where))
            elif kind == "link":
                source, target = record.get("source"), record.get("target")
                if not isinstance(source, str) or not isinstance(target, str):
                    raise ArchiveError("a link needs a source and a target key", **where)
                label = _field(record, "label", str, "", where)
                plan.add_link(LinkRecord(source, target, label, **where))
            elif kind == "history":
                plan.history += 1
            elif kind == "conflict":
                plan.conflicts += 1
            else:
                raise ArchiveError(f"unknown record type {kind!r}", **where)
        if plan is None:
            raise ArchiveError("the archive is empty", file=file)
        if not plan.title.strip():
            raise ArchiveError("the archive has no space record with a title", file=file)
    except BaseException:
        if plan is not None:
            plan.close()
        raise
    return plan


def _check_header(record: dict[str, Any], where: dict[str, Any]) -> None:
    if record.get("type") != "header" or record.get("format") != FORMAT:
        raise ArchiveError(
            f"not a ThoughtSpace archive (the first line must be its {FORMAT!r} header)", **where
        )
    if record.get("schema") != SCHEMA:
        raise ArchiveError(
            f"archive schema {record.get('schema')!r} is not supported (this version reads "
            f"schema {SCHEMA})",
            **where,
        )


# --- applying ------------------------------------------------------------------------------


class _DryRun(Exception):
    pass


def apply(
    plan: Plan,
    *,
    actor: Any,
    into: Space | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Write ``plan`` as one transaction: into a new space owned by ``actor``, or merged into
    ``into`` (a key the space has already is left as the space has it; a difference is
    reported as a conflict, never overwritten). ``dry_run`` rolls it all back. The thoughts
    are read from the plan, compared and written a chunk at a time; the plan is closed."""
    report = Report(dry_run=dry_run, attachments=list(plan.attachments))
    try:
        with transaction.atomic():
            space = into or services.space_create(
                owner=actor, title=plan.title[:200], description=plan.description
            )
            report.space_id = space.pk

            def known(keys: list[str]) -> set[str]:
                return set(space.thoughts.filter(key__in=keys).values_list("key", flat=True))

            cut = plan.parents_first(known, cut=True)
            try:
                report.links = services.space_import(
                    space=space,
                    actor=actor,
                    thoughts=_new_ones(space, plan.ordered(), report),
                    links=plan.links,
                    progress=progress,
                )
            except services.RecordError as exc:
                raise ArchiveError(
                    str(exc.error), file=exc.record.file, line=exc.record.line
                ) from None
            report.conflicts += [
                f"{key!r} was its own ancestor (a cycle of parents): it is at the top level"
                for key in sorted(cut)
            ]
            report.links_unchanged = plan.link_count() - report.links
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        plan.close()
    return report


def _new_ones(
    space: Space, records: Iterable[ThoughtRecord], report: Report
) -> Iterator[ThoughtRecord]:
    """The records whose key the space does not have, a chunk at a time; those it has are
    counted in ``report`` as unchanged, or as conflicts where they differ (the space's kept)."""
    records = iter(records)
    while chunk := list(islice(records, CHUNK)):
        existing = {
            thought.key: thought
            for thought in space.thoughts.select_related("parent").filter(
                key__in=[record.key for record in chunk]
            )
        }
        for record in chunk:
            current = existing.get(record.key)
            if current is None:
                report.created += 1
                yield record
                continue
            snapshot = current.snapshot()
            theirs = {name: snapshot[name] for name in record.fields()}
            if theirs == record.fields():
                report.unchanged += 1
            else:
                changed = sorted(n for n, v in record.fields().items() if theirs[n] != v)
                report.conflicts.append(
                    f"{record.key!r} differs from the space's in {', '.join(changed)}; "
                    "the space's is kept"
                )
