"""Markdown export and import of a space: a zip of notes that Obsidian or any editor opens,
and any folder or zip of Markdown notes (an Obsidian vault, an unpacked export) read back
into an ``archive.Plan`` that ``archive.apply`` writes.

An export holds ``.thoughtspace.yaml`` (the space's title and description) and one
``<key>.md`` per thought, its children in the folder ``<key>/`` beside it. A note is YAML
front matter, then the body exactly as stored, then, when the thought links to others, a
section the importer strips again::

    <!-- thoughtspace:links -->
    - [[target-key]] label
"""

from __future__ import annotations

import base64
import json
import os
import posixpath
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote

import yaml

from spaces import archive
from spaces.archive import ArchiveError, LinkRecord, ThoughtRecord
from spaces.models import BODY_MAX, KEY_RE, TITLE_MAX, Space, Thought, numbered_key

FORMAT = "thoughtspace-markdown"
SCHEMA = 1
SPACE_FILE = ".thoughtspace.yaml"
LINKS_MARKER = "<!-- thoughtspace:links -->"
LINKS_SECTION = f"\n\n{LINKS_MARKER}\n"  # between the body and the link lines
MAX_FILES = 20_000
MAX_FILE_BYTES = 10 * 1024 * 1024
OWN_FIELDS = ("id", "key", "title", "kind", "position", "metadata")

FRONT_MATTER = re.compile(r"---[ \t]*\r?\n(.*?)^---[ \t]*\r?(?:\n|\Z)", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"(?:[ \t]*\r?\n)*# +(.+)")
LINK_LINE = re.compile(r"- \[\[([^\[\]|#\n]+)\]\](?: (.*))?")
WIKILINK = re.compile(r"(!?)\[\[([^\[\]\n]+)\]\]")
MARKDOWN_LINK = re.compile(r"(!?)\[[^\]\n]*\]\(\s*(<[^>\n]+>|[^)\s]+)(?:\s+\"[^\"\n]*\")?\s*\)")
CODE = re.compile(r"^(`{3,}|~{3,}).*?^\1|`[^`\n]+`", re.DOTALL | re.MULTILINE)
URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
DRIVE = re.compile(r"[A-Za-z]:")
NOT_SLUG = re.compile(r"[^a-z0-9_.-]+")
NOT_LINE_BREAK = re.compile(r"[^\n]")

# libyaml's parser and emitter (PyYAML's own where it is built without libyaml): the same safe
# loading, and the same output where ``_c_writes_alike``, several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_BMP_LINE = re.compile("[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")


# --- export --------------------------------------------------------------------------------


def export_markdown(space: Space, out: IO[bytes], progress: archive.Progress | None = None) -> int:
    """Write ``space`` to ``out`` as a zip of Markdown notes, one note at a time (``out`` need
    not be seekable), and return the number of thoughts written."""
    done = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        about = {
            "title": space.title,
            "description": space.description,
            "format": FORMAT,
            "schema": SCHEMA,
        }
        _write(zf, SPACE_FILE, _yaml(about), space.updated_at)
        for path, thought, links in _notes(space):
            _write(zf, path, _note_text(thought, links), thought.updated_at)
            done += 1
            if progress and done % archive.CHUNK == 0:
                progress(done)
    if progress:
        progress(done)
    return done


def _notes(space: Space) -> Iterator[tuple[str, Thought, list[tuple[str, str]]]]:
    """Each thought with its path in the export and its outgoing links (target, label)."""
    # _tree_order goes level by level, so only two levels of folders need remembering.
    folders: dict[str, str] = {}  # thought id -> the folder of its children, this level
    above: dict[str, str] = {}  # the same for the level above, where the parents are
    batch: list[tuple[str, Thought]] = []
    for thought in archive._tree_order(space):
        if thought.parent_id is not None and thought.parent_id not in above:
            above, folders = folders, {}
        # A thought that no root leads to (a cycle of parents, exported last) is cut loose
        # at the top: the import makes it a root, as an archive's import does.
        parent_folder = above.get(thought.parent_id) if thought.parent_id else None
        folder = f"{parent_folder}/" if parent_folder is not None else ""
        folders[thought.pk] = folder + thought.key
        batch.append((f"{folder}{thought.key}.md", thought))
        if len(batch) == archive.CHUNK:
            yield from _with_links(space, batch)
            batch = []
    yield from _with_links(space, batch)


def _with_links(
    space: Space, batch: list[tuple[str, Thought]]
) -> Iterator[tuple[str, Thought, list[tuple[str, str]]]]:
    links: dict[str, list[tuple[str, str]]] = {}
    if batch:
        rows = (
            space.links.filter(source_id__in=[thought.pk for _, thought in batch])
            .order_by("created_at", "id")
            .values_list("source_id", "target__key", "label")
        )
        for source, target, label in rows:
            links.setdefault(source, []).append((target, label))
    for path, thought in batch:
        yield path, thought, links.get(thought.pk, [])


def _note_text(thought: Thought, links: list[tuple[str, str]]) -> str:
    front: dict[str, Any] = {
        "id": thought.pk,
        "key": thought.key,
        "title": thought.title,
        "kind": thought.kind,
        "position": thought.position,
    }
    if thought.metadata:
        front["metadata"] = thought.metadata
    text = f"---\n{_yaml(front)}---\n{thought.body}"
    # Also written, empty, for a body that holds the marker: the importer strips the last
    # section, this one, and the body keeps its own.
    if links or LINKS_MARKER in thought.body:
        text += LINKS_SECTION + "".join(_link_line(target, label) for target, label in links)
    return text


def _link_line(target: str, label: str) -> str:
    if label and (not label.isprintable() or label != label.strip() or label.startswith('"')):
        label = json.dumps(label)  # one plain line; the importer decodes a quoted label
    return f"- [[{target}]] {label}\n" if label else f"- [[{target}]]\n"


def _yaml(data: dict[str, Any]) -> str:
    dumper = _DUMPER if _c_writes_alike(data) else yaml.SafeDumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)


def _c_writes_alike(value: Any) -> bool:
    """True when libyaml writes ``value`` exactly as PyYAML's own emitter does, as for nearly
    every note. They differ on text beyond U+FFFF (libyaml escapes an emoji), control
    characters and line breaks, U+0085 and U+FEFF, and on keys empty or long (written as
    ``? key``): those are left to PyYAML's emitter, so an export reads as it always did."""
    if isinstance(value, str):
        return _BMP_LINE.fullmatch(value) is not None
    if isinstance(value, dict):
        for name, item in value.items():
            if not (isinstance(name, str) and 0 < len(name.encode()) <= 100):
                return False
            if not (_BMP_LINE.fullmatch(name) and _c_writes_alike(item)):
                return False
        return True
    if isinstance(value, list):
        return all(map(_c_writes_alike, value))
    return value is None or isinstance(value, int | float)  # bool is an int


def _write(zf: zipfile.ZipFile, name: str, text: str, modified: datetime) -> None:
    info = zipfile.ZipInfo(name, date_time=modified.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # rw-r--r-- once unpacked
    zf.writestr(info, text.encode())


# --- reading files -------------------------------------------------------------------------


def read_markdown(path: Path, *, title: str | None = None) -> archive.Plan:
    """Read a folder or a .zip of Markdown notes into a plan; nothing is written. Errors are
    ``ArchiveError`` naming the file (as named in the folder or zip) and the line. ``title``
    names the space when ``.thoughtspace.yaml`` does not (default: the folder's or zip's
    name; an upload kept in a temporary file has a better one)."""
    path = Path(path)
    if path.is_dir():
        files = {name: name for name in _folder_files(path)}
        return _plan(
            files, lambda name: _read_file(path / name, name), title or path.resolve().name
        )
    if not zipfile.is_zipfile(path):
        raise ArchiveError("is neither a folder nor a .zip file", file=str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            members = _zip_members(zf)
            files = _inside_top_folder(list(members))
            return _plan(
                files, lambda name: _read_member(zf, members[name], name), title or path.stem
            )
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"is not a readable zip ({exc})", file=str(path)) from None


def _ignored(name: str) -> bool:
    """Obsidian's settings and trash, version control, dot-files and macOS zip leftovers."""
    parts = name.split("/")
    if parts[-1] == SPACE_FILE:
        parts.pop()
    return any(part.startswith(".") or part == "__MACOSX" for part in parts)


def _too_many() -> ArchiveError:
    return ArchiveError(f"more than {MAX_FILES} files: split it into smaller folders")


def _too_big(name: str) -> ArchiveError:
    return ArchiveError(f"is larger than {MAX_FILE_BYTES // 2**20} MiB; refused", file=name)


def _folder_files(root: Path) -> list[str]:
    names: list[str] = []
    for folder, subfolders, files in os.walk(root):  # symlinked folders are not followed
        subfolders[:] = [sub for sub in subfolders if not _ignored(sub)]
        for file in files:
            full = Path(folder, file)
            name = full.relative_to(root).as_posix()
            if full.is_symlink() or _ignored(name):
                continue
            names.append(name)
            if len(names) > MAX_FILES:
                raise _too_many()
    return names


def _read_file(full: Path, name: str) -> bytes:
    if full.stat().st_size > MAX_FILE_BYTES:
        raise _too_big(name)
    return full.read_bytes()


def _zip_members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        parts = name.split("/")
        if name.startswith("/") or DRIVE.match(name) or ".." in parts:
            raise ArchiveError(
                "this zip member's path leads out of the archive (absolute, or with '..'); "
                "the zip is refused",
                file=info.filename,
            )
        name = "/".join(part for part in parts if part not in ("", "."))
        if info.is_dir() or not name or _ignored(name):
            continue
        members[name] = info
        if len(members) > MAX_FILES:
            raise _too_many()
    return members


def _inside_top_folder(names: list[str]) -> dict[str, str]:
    """Paths in the vault, mapped to the zip's names: a zip whose files all sit in one
    folder (a zipped vault, usually) is read from inside that folder."""
    tops = {name.split("/", 1)[0] for name in names}
    prefix = f"{tops.pop()}/" if len(tops) == 1 and all("/" in n for n in names) else ""
    return {name[len(prefix) :]: name for name in names}


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    if info.file_size > MAX_FILE_BYTES:
        raise _too_big(name)
    try:
        with zf.open(info) as member:
            data = member.read(MAX_FILE_BYTES + 1)  # the header's size may lie
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, zlib.error) as exc:
        raise ArchiveError(f"cannot be read from the zip ({exc})", file=name) from None
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(name)
    return data


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArchiveError("is not UTF-8 text", file=file) from None


def _load_yaml(text: str, *, file: str, first_line: int) -> Any:
    try:
        if "*" in text:  # an alias is written *name: without a "*", the text has none
            _refuse_aliases(text)
        return yaml.load(text, Loader=_LOADER)  # a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + mark.line if mark else first_line
        raise ArchiveError(f"not valid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ArchiveError(f"not valid YAML: {exc}", file=file, line=first_line) from None
    except RecursionError:
        raise ArchiveError("YAML nested too deeply", file=file, line=first_line) from None


def _refuse_aliases(text: str) -> None:
    """Refuses YAML aliases (``*name``): front matter never needs them, and a few nested
    ones expand into gigabytes (the "billion laughs"). Checked on the parser's events, before
    anything is composed."""
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed",
                problem_mark=event.start_mark,  # type: ignore[arg-type]  # libyaml's Mark
            )


def _jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: YAML's dates become ISO text, sets lists, keys text."""
    if isinstance(value, dict):
        return {str(name): _jsonable(item) for name, item in value.items()}
    if isinstance(value, set):
        return [_jsonable(item) for item in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


# --- reading notes -------------------------------------------------------------------------


@dataclass
class _Thought:
    """A thought being read: a note, or the thought made for a folder without one."""

    path: str  # in the vault: "a/b.md", or "a" for a folder's own thought
    record: ThoughtRecord
    is_folder: bool = False
    wanted_key: str = ""  # the front matter's, when valid
    aliases: list[str] = field(default_factory=list)
    body_start: int = 0  # where the body starts in the file's text
    section: list[tuple[str, str, int]] = field(default_factory=list)  # target, label, line
    parent: _Thought | None = None


def _plan(files: dict[str, str], read: Callable[[str], bytes], title: str) -> archive.Plan:
    """``files`` maps each path in the vault to its name in the folder or zip. Notes are read
    twice: first for their names, front matter and place in the tree (kept, without their
    text), then again, once every name is known, for their bodies and links (written to the
    plan, on disk): memory holds each note's names and place, never the notes' text."""
    about = archive.Plan(title=title)
    try:
        ours = SPACE_FILE in files and _read_space_file(about, read(files[SPACE_FILE]))
        notes = [
            _note(path, files[path], read(files[path]))
            for path in sorted(files)
            if path.lower().endswith(".md")
        ]
        attachments = sorted(
            path
            for path in files
            if not path.lower().endswith(".md") and posixpath.basename(path) != SPACE_FILE
        )
        thoughts = _with_folders(notes)
        _choose_keys(thoughts)
        names = _Names(thoughts, attachments)
        unresolved: list[str] = []
        for thought in thoughts:
            record = thought.record
            record.parent = thought.parent.record.key if thought.parent else None
            links: list[LinkRecord] = []
            if not thought.is_folder:
                text = _decode(read(record.file), record.file)
                record.body = _split_section(text, thought.body_start, record.file)[0]
                links += _section_links(thought, names, unresolved)
                # An export's links are its sections; a body's [[...]] there is only text.
                if not ours:
                    links += _body_links(thought, text, names, unresolved)
            about.add_thought(record)
            record.body = ""  # on disk now
            for link in links:
                about.add_link(link)
        about.attachments = [files[path] for path in attachments] + list(dict.fromkeys(unresolved))
    except BaseException:
        about.close()
        raise
    return about


def _read_space_file(plan: archive.Plan, data: bytes) -> bool:
    """Read the space's title and description; True when the folder is our export."""
    about = _load_yaml(_decode(data, SPACE_FILE), file=SPACE_FILE, first_line=1) or {}
    if not isinstance(about, dict):
        raise ArchiveError("must be YAML lines of name: value", file=SPACE_FILE, line=1)
    if about.get("format", FORMAT) != FORMAT:
        raise ArchiveError(f"format must be {FORMAT!r}", file=SPACE_FILE)
    if about.get("schema", SCHEMA) != SCHEMA:
        raise ArchiveError(
            f"schema {about['schema']!r} is not supported (this version reads schema {SCHEMA})",
            file=SPACE_FILE,
        )
    title, description = about.get("title") or plan.title, about.get("description") or ""
    if not isinstance(title, str) or not isinstance(description, str):
        raise ArchiveError("title and description must be text", file=SPACE_FILE)
    plan.title, plan.description = title, description
    return about.get("format") == FORMAT


def _note(path: str, file: str, data: bytes) -> _Thought:
    text = _decode(data, file)
    match = FRONT_MATTER.match(text)
    front_text = match.group(1) if match else ""
    front = _load_yaml(front_text, file=file, first_line=2) if match else None
    if front is None:
        front = {}
    if not isinstance(front, dict):
        raise ArchiveError("front matter must be YAML lines of name: value", file=file, line=2)
    body_start = match.end() if match else 0
    body, section = _split_section(text, body_start, file)
    if len(body) > BODY_MAX:  # checked here too, so that a huge vault fails before filling memory
        raise ArchiveError(f"is {len(body)} characters long; the limit is {BODY_MAX}", file=file)

    def checked(name: str, kind: type, default: Any) -> Any:
        return _front_field(front, name, kind, default, file=file, front_text=front_text)

    key, stem = checked("key", str, ""), posixpath.basename(path)[:-3]
    title = checked("title", str, "")
    if not title.strip():
        title = (_heading(body) or stem.strip() or "Untitled")[:TITLE_MAX]
    metadata = _jsonable(checked("metadata", dict, {}))
    thought_id = front.get("id")
    if thought_id is not None and not (isinstance(thought_id, str) and ULID.fullmatch(thought_id)):
        thought_id = None  # another tool's id (a Zettelkasten number, say): kept in metadata
    for name, value in front.items():
        if name not in OWN_FIELDS or (name == "id" and thought_id is None):
            metadata.setdefault(str(name), _jsonable(value))
    aliases = front.get("aliases") or []
    aliases = [aliases] if isinstance(aliases, str) else aliases
    return _Thought(
        path=path,
        record=ThoughtRecord(
            key="",
            title=title,
            body="",  # read again with the links, once every note's name is known
            kind=checked("kind", str, "note"),
            metadata=metadata,
            position=checked("position", int, 0),
            id=thought_id,
            file=file,
        ),
        wanted_key=key if KEY_RE.match(key) else "",
        aliases=[str(alias) for alias in aliases] if isinstance(aliases, list) else [],
        body_start=body_start,
        section=section,
    )


def _front_field(
    front: dict, name: str, kind: type, default: Any, *, file: str, front_text: str
) -> Any:
    """One of our front matter fields, checked; the error names the line it is on."""
    value = front.get(name)
    if value is None:
        return default
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    lines = enumerate(front_text.split("\n"), start=2)
    where = [number for number, line in lines if line.startswith(f"{name}:")]
    wanted = {str: "text (quote it)", int: "a whole number", dict: "a mapping"}[kind]
    raise ArchiveError(
        f"front matter {name!r} must be {wanted}, not {type(value).__name__}",
        file=file,
        line=where[0] if where else 2,
    )


def _split_section(text: str, start: int, file: str) -> tuple[str, list[tuple[str, str, int]]]:
    """The body without its links section, and the section's links (target, label, line)."""
    body = text[start:]
    at = body.rfind(LINKS_SECTION)
    if at < 0:
        return body, []
    first = text.count("\n", 0, start + at) + 3  # the line after the marker
    found: list[tuple[str, str, int]] = []
    for number, line in enumerate(body[at + len(LINKS_SECTION) :].split("\n"), start=first):
        match = LINK_LINE.fullmatch(line)
        if match is None and line.strip():
            return body, []  # not a links section: the text is the body's own
        if match is not None:
            found.append((match.group(1), match.group(2) or "", number))
    return body[:at], [(target, _label(label, file, line), line) for target, label, line in found]


def _label(written: str, file: str, line: int) -> str:
    """A label as ``_link_line`` wrote it: as is, or quoted as JSON."""
    if not written.startswith('"'):
        return written
    try:
        label = json.loads(written)
    except ValueError:
        label = None
    if not isinstance(label, str):
        raise ArchiveError("a quoted link label must be a JSON string", file=file, line=line)
    return label


def _heading(body: str) -> str:
    match = HEADING.match(body)
    return match.group(1).strip().rstrip("#").strip() if match else ""


def _slug(name: str) -> str:
    """A key made from a file or folder name: "Café notes" becomes "cafe-notes"."""
    text = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    text = NOT_SLUG.sub("-", text.lower()).lstrip("-._")[:80].rstrip("-")
    return text or "note"


def _with_folders(notes: list[_Thought]) -> list[_Thought]:
    """``notes`` with their parents set, and a thought for each folder that has no note of
    its own (``x.md`` beside the folder ``x``, or the folder note ``x/x.md``)."""
    by_path = {note.path: note for note in notes}
    of_folder: dict[str, _Thought | None] = {"": None}
    made: list[_Thought] = []

    def folder_thought(folder: str) -> _Thought | None:
        if folder not in of_folder:
            name = posixpath.basename(folder)
            thought = by_path.get(f"{folder}.md") or by_path.get(f"{folder}/{name}.md")
            if thought is None:
                record = ThoughtRecord(
                    key="", title=name[:TITLE_MAX], kind="folder", file=f"{folder}/"
                )
                thought = _Thought(path=folder, record=record, is_folder=True)
                thought.parent = folder_thought(posixpath.dirname(folder))
                made.append(thought)
            of_folder[folder] = thought
        return of_folder[folder]

    for note in notes:
        folder = posixpath.dirname(note.path)
        parent = folder_thought(folder)
        if parent is note:  # the folder note sits where its folder does
            parent = folder_thought(posixpath.dirname(folder))
        note.parent = parent
    return sorted(notes + made, key=lambda thought: thought.path)


def _choose_keys(thoughts: list[_Thought]) -> None:
    """Front matter keys first, then keys made from file names, unique by ``-2``, ``-3``..."""
    taken: set[str] = set()
    for thought in thoughts:
        if thought.wanted_key and thought.wanted_key not in taken:
            thought.record.key = thought.wanted_key
            taken.add(thought.wanted_key)
    for thought in thoughts:
        if thought.record.key:
            continue
        name = posixpath.basename(thought.path)
        base = thought.wanted_key or _slug(name if thought.is_folder else name[:-3])
        key = numbered_key(base, taken)
        thought.record.key = key
        taken.add(key)


# --- reading links -------------------------------------------------------------------------


def _ends_with(path: str, target: str) -> bool:
    return path == target or path.endswith(f"/{target}")


def _nearest(paths: list[Any], path_of: Callable[[Any], str]) -> Any:
    """Obsidian's rule when a name is ambiguous: the shortest path wins."""
    return min(paths, key=lambda p: (path_of(p).count("/"), len(path_of(p)), path_of(p)))


class _Names:
    """What a link's target names, case-insensitive as in Obsidian: a note by its path or
    file name, else a thought by key, title or alias; an attachment by its path or name."""

    def __init__(self, thoughts: list[_Thought], attachments: list[str]) -> None:
        self.keys = {thought.record.key: thought for thought in thoughts}
        self.paths = {thought.path: thought for thought in thoughts if not thought.is_folder}
        self.attachments = set(attachments)
        self.tiers: list[dict[str, list[_Thought]]] = [{}, {}, {}, {}]
        for thought in thoughts:
            names = [thought.record.key, thought.record.title]
            if not thought.is_folder:
                self.tiers[0].setdefault(posixpath.basename(thought.path)[:-3].lower(), []).append(
                    thought
                )
            for tier, name in enumerate(names, start=1):
                self.tiers[tier].setdefault(name.lower(), []).append(thought)
            for alias in thought.aliases:
                self.tiers[3].setdefault(alias.lower(), []).append(thought)
        self.files: dict[str, list[str]] = {}
        for path in attachments:
            self.files.setdefault(posixpath.basename(path).lower(), []).append(path)

    def thought(self, target: str) -> _Thought | None:
        target = target.strip().strip("/").lower().removesuffix(".md")
        name = target.rsplit("/", 1)[-1]
        for tier, names in enumerate(self.tiers):
            found = names.get(name if tier == 0 else target, [])
            if tier == 0:
                found = [t for t in found if _ends_with(t.path[:-3].lower(), target)]
            if found:
                return _nearest(found, lambda thought: thought.path)
        return None

    def attachment(self, target: str) -> str | None:
        target = target.strip().strip("/").lower()
        found = self.files.get(target.rsplit("/", 1)[-1], [])
        found = [path for path in found if _ends_with(path.lower(), target)]
        return _nearest(found, lambda path: path) if found else None


def _section_links(note: _Thought, names: _Names, unresolved: list[str]) -> list[LinkRecord]:
    links = []
    for target, label, line in note.section:
        found = names.keys.get(target) or names.thought(target)
        if found is None:
            unresolved.append(f"{archive.UNRESOLVED}{note.record.file}:{line}: [[{target}]]")
        elif found is not note:
            links.append(
                LinkRecord(note.record.key, found.record.key, label, note.record.file, line)
            )
    return links


def _body_links(
    note: _Thought, text: str, names: _Names, unresolved: list[str]
) -> list[LinkRecord]:
    """Links for the body's ``[[wikilinks]]`` and ``[text](note.md)`` links, outside code;
    the attachments it embeds or links go to ``metadata["attachments"]``. ``text`` is the
    note's file."""
    body, file = note.record.body, note.record.file
    visible = CODE.sub(lambda code: NOT_LINE_BREAK.sub(" ", code.group()), body)
    references = []  # (where, embed, target, the path it names exactly, as written)
    for m in WIKILINK.finditer(visible):
        target = m.group(2).split("|")[0].split("#")[0].rstrip("\\")
        references.append((m.start(), m.group(1) == "!", target, "", m.group()))
    for m in MARKDOWN_LINK.finditer(visible):
        target = unquote(m.group(2).strip("<>")).split("#")[0]
        if target and not URL_SCHEME.match(target):
            exact = posixpath.normpath(posixpath.join(posixpath.dirname(note.path), target))
            references.append((m.start(), m.group(1) == "!", target, exact, m.group()))
    links, attachments = [], []
    for start, embed, target, exact, written in sorted(references):
        line = text.count("\n", 0, note.body_start + start) + 1
        if not target.strip():
            continue  # [[#heading]]: a place in this note
        attachment = exact if exact in names.attachments else names.attachment(target)
        found = names.paths.get(exact) or names.thought(target)
        if attachment is not None:
            attachments.append(attachment)
        elif found is not None and found is not note and not embed:
            links.append(LinkRecord(note.record.key, found.record.key, "", file, line))
        elif found is None:
            unresolved.append(f"{archive.UNRESOLVED}{file}:{line}: {written}")
    metadata = note.record.metadata
    if attachments and isinstance(metadata.setdefault("attachments", []), list):
        for attachment in attachments:
            if attachment not in metadata["attachments"]:
                metadata["attachments"].append(attachment)
    return links
