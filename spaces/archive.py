"""Export a space as a lossless archive and import one: the archive format, reading it (with
the file and line of every error) and applying it through the services.

The archive is JSON Lines (docs/archive.md): a header line, then one record a line, each an
object with a ``type``: ``space``, ``thought`` (parents before their children), ``link``,
``history`` and ``conflict``. Export streams it from the database in chunks, so memory does
not grow with the space. An import reads a whole archive before it writes anything: a bad
line stops it with its number and nothing changed. Markdown folders (``spaces.vault``) are
read into the same ``Plan`` and applied the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
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
    # Set on a record read without its text (key, parent and id only): reads it whole.
    loader: Callable[[], ThoughtRecord] | None = field(default=None, repr=False, compare=False)

    def loaded(self) -> ThoughtRecord:
        return self.loader() if self.loader is not None else self

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in services.THOUGHT_FIELDS}


@dataclass
class LinkRecord:
    source: str
    target: str
    label: str = ""
    file: str = ""
    line: int | None = None


@dataclass
class Plan:
    """What an archive holds, read and checked, before anything is written."""

    title: str
    description: str = ""
    thoughts: list[ThoughtRecord] = field(default_factory=list)
    links: list[LinkRecord] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # files kept out (listed, not lost)
    history: int = 0  # history entries in the archive (kept there; not imported)
    conflicts: int = 0


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
    """Read and check an archive from a seekable binary file; ``ArchiveError`` names the
    first bad line. Thoughts are kept as their key, parent and place in the file (their text
    is read again as they are written, while ``stream`` is still open), so a large archive
    is not held in memory."""
    plan: Plan | None = None
    keys: set[str] = set()
    offset = stream.tell()
    for number, raw in enumerate(stream, start=1):
        where: dict[str, Any] = {"file": file, "line": number}
        at, offset = offset, offset + len(raw)
        record = _record(raw, where)
        if record is None:
            continue
        kind = record.get("type")
        if plan is None:
            if kind != "header" or record.get("format") != FORMAT:
                raise ArchiveError(
                    f"not a ThoughtSpace archive (the first line must be its {FORMAT!r} header)",
                    **where,
                )
            if record.get("schema") != SCHEMA:
                raise ArchiveError(
                    f"archive schema {record.get('schema')!r} is not supported (this version "
                    f"reads schema {SCHEMA})",
                    **where,
                )
            plan = Plan(title="")
        elif kind == "space":
            plan.title = _field(record, "title", str, "", where)
            plan.description = _field(record, "description", str, "", where)
        elif kind == "thought":
            thought = _thought(record, where)  # checked now; its text is read again later
            if thought.key in keys:
                raise ArchiveError(f"thought key {thought.key!r} appears twice", **where)
            keys.add(thought.key)
            plan.thoughts.append(
                ThoughtRecord(
                    key=thought.key,
                    title="",
                    parent=thought.parent,
                    id=thought.id,
                    loader=partial(_read_thought, stream, at, file, number),
                    **where,
                )
            )
        elif kind == "link":
            source, target = record.get("source"), record.get("target")
            if not isinstance(source, str) or not isinstance(target, str):
                raise ArchiveError("a link needs a source and a target key", **where)
            label = _field(record, "label", str, "", where)
            plan.links.append(LinkRecord(source, target, label, **where))
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
    return plan


def _read_thought(stream: BinaryIO, at: int, file: str, line: int) -> ThoughtRecord:
    where: dict[str, Any] = {"file": file, "line": line}
    stream.seek(at)
    record = _record(stream.readline(), where)
    assert record is not None  # it was read once already
    return _thought(record, where)


# --- applying ------------------------------------------------------------------------------


def _cut(record: ThoughtRecord, cut: set[str]) -> ThoughtRecord:
    if record.key in cut:
        record.parent = None
    return record


class _DryRun(Exception):
    pass


def parents_first(
    records: list[ThoughtRecord], known: set[str], cut: set[str] | None = None
) -> list[ThoughtRecord]:
    """``records`` ordered so that every parent comes before its children; a parent must be
    one of them or one of ``known`` (the space's keys). A cycle of parents (concurrent moves
    on two replicas can make one) is cut at the thought where it is found, whose key goes
    into ``cut``: it comes in at the top level. Without ``cut``, a cycle is an error."""
    by_key = {r.key: r for r in records}
    ordered: list[ThoughtRecord] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: placed
    for record in records:
        path: list[ThoughtRecord] = []
        current: ThoughtRecord | None = record
        while current is not None and state.get(current.key) != 2:
            if state.get(current.key) == 1:
                if cut is None:
                    raise ArchiveError(
                        f"thought {current.key!r} is its own ancestor (a cycle of parents)",
                        file=current.file,
                        line=current.line,
                    )
                cut.add(path[-1].key)  # the last one on the path: its parent closed the cycle
                break
            state[current.key] = 1
            path.append(current)
            parent = current.parent
            if parent is not None and parent not in by_key and parent not in known:
                raise ArchiveError(
                    f"thought {current.key!r} names parent {parent!r}, which is not in the "
                    "archive or the space",
                    file=current.file,
                    line=current.line,
                )
            current = by_key.get(parent) if parent is not None else None
        for placed in reversed(path):
            state[placed.key] = 2
            ordered.append(placed)
    return ordered


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
    reported as a conflict, never overwritten). ``dry_run`` rolls it all back."""
    report = Report(dry_run=dry_run, attachments=list(plan.attachments))
    try:
        with transaction.atomic():
            space = into or services.space_create(
                owner=actor, title=plan.title[:200], description=plan.description
            )
            report.space_id = space.pk
            existing = {t.key: t for t in space.thoughts.select_related("parent").iterator(CHUNK)}
            new: list[ThoughtRecord] = []
            cut: set[str] = set()
            for record in parents_first(plan.thoughts, set(existing), cut):
                current = existing.get(record.key)
                if current is None:
                    new.append(record)
                    continue
                record = record.loaded()
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
            try:
                report.links = services.space_import(
                    space=space,
                    actor=actor,
                    thoughts=(_cut(record.loaded(), cut) for record in new),
                    links=plan.links,
                    progress=progress,
                )
            except services.RecordError as exc:
                bad: ThoughtRecord | LinkRecord = (plan.links if exc.link else new)[exc.index]
                raise ArchiveError(str(exc.error), file=bad.file, line=bad.line) from None
            report.created = len(new)
            report.conflicts += [
                f"{key!r} was its own ancestor (a cycle of parents): it is at the top level"
                for key in sorted(cut)
            ]
            report.links_unchanged = len(plan.links) - report.links
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report
