"""A space exported as Markdown notes reads back the same; an Obsidian vault reads as the
graph its folders and [[links]] draw; bad files are refused with their name and line."""

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spaces import archive, services, vault
from spaces.archive import ArchiveError

TRICKY_BODIES = {
    "empty": "",
    "plain": "Just text.",
    "trailing": "Ends with newlines.\n\n\n",
    "leading": "\n\n  starts blank",
    "front": "---\nkey: fake\ntitle: Not me\n---\nbody after fake front matter\n",
    "marker": f"x\n\n{vault.LINKS_MARKER}\n- [[plain]] not a link\n",
    "marker-end": f"x\n\n{vault.LINKS_MARKER}",
    "marker-unlinked": f"{vault.LINKS_SECTION}- [[plain]]\n",
    "wikilinks": "See [[plain]] and [[nowhere]]: text only in an export.",
    "crlf": "windows\r\nlines\r\n",
}


def build(space, owner):
    """A three-level tree of thoughts with tricky bodies, metadata and labelled links."""
    create = services.thought_create
    create(space=space, actor=owner, key="root", title="Root", body="", position=2)
    create(space=space, actor=owner, key="Other.Root", title="Other: root", kind="topic")
    create(space=space, actor=owner, key="child", title="'yes'", parent="root", position=-1)
    create(
        space=space,
        actor=owner,
        key="grand-child",
        title="Grand child " * 10,
        parent="child",
        metadata={"tags": ["a", "b"], "when": "2024-01-01", "n": 1.5, "none": None},
    )
    for position, (key, body) in enumerate(TRICKY_BODIES.items()):
        create(
            space=space,
            actor=owner,
            key=key,
            title=key,
            body=body,
            parent="root",
            position=position,
        )
    link = services.link_create
    link(space=space, actor=owner, source="root", target="child")
    link(space=space, actor=owner, source="root", target="child", label="leads to")
    link(space=space, actor=owner, source="child", target="grand-child", label=" padded ")
    link(space=space, actor=owner, source="marker", target="plain", label='"quoted"')
    link(space=space, actor=owner, source="empty", target="Other.Root", label="two\nlines")
    link(space=space, actor=owner, source="grand-child", target="root", label="<!-- x -->")


def graph(space):
    thoughts = {
        t.key: (t.title, t.body, t.kind, t.metadata, t.parent.key if t.parent else None, t.position)
        for t in space.thoughts.select_related("parent")
    }
    links = set(space.links.values_list("source__key", "target__key", "label"))
    return thoughts, links


def export_to(space, path):
    with path.open("wb") as out:
        return vault.export_markdown(space, out)


def import_as_new_space(plan, owner):
    report = archive.apply(plan, actor=owner)
    return owner.owned_spaces.get(pk=report.space_id)


def test_export_then_import_gives_the_same_space(space, owner, tmp_path):
    build(space, owner)
    assert export_to(space, tmp_path / "ideas.zip") == 4 + len(TRICKY_BODIES)

    plan = vault.read_markdown(tmp_path / "ideas.zip")
    copy = import_as_new_space(plan, owner)

    assert (copy.title, copy.description) == ("Ideas", "A test space")
    assert graph(copy) == graph(space)
    assert plan.attachments == []


def test_an_unpacked_export_reads_like_the_zip(space, owner, tmp_path):
    build(space, owner)
    export_to(space, tmp_path / "ideas.zip")
    with zipfile.ZipFile(tmp_path / "ideas.zip") as zf:
        zf.extractall(tmp_path / "unpacked")

    copy = import_as_new_space(vault.read_markdown(tmp_path / "unpacked"), owner)

    assert graph(copy) == graph(space)


def test_export_lays_the_tree_out_as_folders(space, owner):
    build(space, owner)
    out = io.BytesIO()
    vault.export_markdown(space, out)

    names = zipfile.ZipFile(out).namelist()
    assert names[0] == ".thoughtspace.yaml"
    assert {"root.md", "Other.Root.md", "root/child.md", "root/child/grand-child.md"} <= set(names)
    assert "root/empty.md" in names and not any(n.lower() == "readme.md" for n in names)


def test_a_note_is_front_matter_body_and_links(space, owner):
    services.thought_create(space=space, actor=owner, key="a", title="A", body="Hello\n")
    services.thought_create(space=space, actor=owner, key="b", title="B")
    services.link_create(space=space, actor=owner, source="a", target="b", label="see also")
    services.link_create(space=space, actor=owner, source="a", target="b")
    out = io.BytesIO()
    vault.export_markdown(space, out)

    note = zipfile.ZipFile(out).read("a.md").decode()
    thought_id = space.thoughts.get(key="a").pk
    assert note == (
        f"---\nid: {thought_id}\nkey: a\ntitle: A\nkind: note\nposition: 0\n---\nHello\n"
        "\n\n<!-- thoughtspace:links -->\n- [[b]] see also\n- [[b]]\n"
    )


def test_export_in_small_chunks_gives_the_same_space(space, owner, tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "CHUNK", 2)
    build(space, owner)
    seen = []

    with (tmp_path / "ideas.zip").open("wb") as out:
        vault.export_markdown(space, out, progress=seen.append)

    copy = import_as_new_space(vault.read_markdown(tmp_path / "ideas.zip"), owner)
    assert graph(copy) == graph(space)
    assert seen == [2, 4, 6, 8, 10, 12, 14, 14]  # and once when done


class Unseekable(io.RawIOBase):
    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def write(self, chunk):
        self.data += chunk
        return len(chunk)


def test_export_writes_to_a_stream_that_cannot_seek(space, owner, tmp_path):
    build(space, owner)
    out = Unseekable()
    seen = []

    assert vault.export_markdown(space, out, progress=seen.append) == 4 + len(TRICKY_BODIES)

    (tmp_path / "streamed.zip").write_bytes(bytes(out.data))
    assert seen[-1] == 4 + len(TRICKY_BODIES)
    copy = import_as_new_space(vault.read_markdown(tmp_path / "streamed.zip"), owner)
    assert graph(copy) == graph(space)


BODY_PIECES = st.sampled_from(
    [
        "---\n",
        "\n",
        "\r\n",
        "\n\n",
        vault.LINKS_MARKER,
        vault.LINKS_SECTION,
        "- [[a]]",
        "- [[b]] x",
        "[[b]]",
        "# h",
    ]
)
BODIES = st.lists(
    st.one_of(
        BODY_PIECES, st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0"))
    ),
    max_size=8,
).map("".join)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES, linked=st.booleans())
def test_any_body_comes_back_byte_for_byte(owner, tmp_path, body, linked):
    space = services.space_create(owner=owner, title="Bodies")
    services.thought_create(space=space, actor=owner, key="a", title="A", body=body)
    services.thought_create(space=space, actor=owner, key="b", title="B")
    if linked:
        services.link_create(space=space, actor=owner, source="a", target="b", label="l")
    export_to(space, tmp_path / "bodies.zip")

    plan = vault.read_markdown(tmp_path / "bodies.zip")

    assert [t.body for t in plan.thoughts if t.key == "a"] == [body]
    assert [(k.source, k.target, k.label) for k in plan.links] == (
        [("a", "b", "l")] if linked else []
    )


def write(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


OBSIDIAN_VAULT = {
    ".obsidian/app.json": "{}",
    ".trash/Old.md": "thrown away",
    "Home.md": (
        "---\ntags: [start]\naliases: [Start page]\n---\n# Welcome\n"
        "See [[Projects/Alpha|the alpha]], [[Some Title]] and [[Missing note]].\n"
        "![[diagram.png]]\n```\ncode [[Alpha]] is not a link\n```\n"
    ),
    "Projects/Alpha.md": "Alpha, back to [[home#Intro]] and [[Alpha]] itself.\n",
    "Projects/Beta.md": "---\ntitle: Some Title\n---\nBeta.\n",
    "Projects/Archive/Old.md": "Links [[alpha]] twice: [[Alpha]].\n",
    "Areas/Areas.md": "# Areas\nThe folder note.\n",
    "Areas/Health.md": "Back to the [[start page]], ![img](../assets/diagram.png).\n",
    "assets/diagram.png": b"\x89PNG\r\n",
}


def test_an_obsidian_vault_reads_as_its_graph(tmp_path):
    plan = vault.read_markdown(write(tmp_path / "My Vault", OBSIDIAN_VAULT))

    thoughts = {t.key: t for t in plan.thoughts}
    assert plan.title == "My Vault"
    assert {key: (t.title, t.kind, t.parent) for key, t in thoughts.items()} == {
        "home": ("Welcome", "note", None),
        "projects": ("Projects", "folder", None),
        "alpha": ("Alpha", "note", "projects"),
        "beta": ("Some Title", "note", "projects"),
        "archive": ("Archive", "folder", "projects"),
        "old": ("Old", "note", "archive"),
        "areas": ("Areas", "note", None),
        "health": ("Health", "note", "areas"),
    }
    assert thoughts["home"].body == OBSIDIAN_VAULT["Home.md"].split("---\n", 2)[2]
    assert thoughts["home"].metadata == {
        "tags": ["start"],
        "aliases": ["Start page"],
        "attachments": ["assets/diagram.png"],
    }
    assert thoughts["health"].metadata == {"attachments": ["assets/diagram.png"]}
    assert sorted((k.source, k.target, k.label) for k in plan.links) == [
        ("alpha", "home", ""),
        ("health", "home", ""),
        ("home", "alpha", ""),
        ("home", "beta", ""),
        ("old", "alpha", ""),
    ]
    assert plan.attachments == [
        "assets/diagram.png",
        "unresolved link: Home.md:6: [[Missing note]]",
    ]


def test_an_obsidian_vault_applies_as_a_new_space(owner, tmp_path):
    plan = vault.read_markdown(write(tmp_path / "vault", OBSIDIAN_VAULT))

    space = import_as_new_space(plan, owner)

    thoughts, links = graph(space)
    assert thoughts["old"][4] == "archive" and ("home", "beta", "") in links
    assert len(thoughts) == 8 and len(links) == 5


def test_a_note_beside_its_folder_is_the_folders_thought(tmp_path):
    files = {
        "Topic.md": "About.",
        "Topic/Sub.md": "Detail.",
        "Topic/Topic.md": "Not a folder note.",
    }
    plan = vault.read_markdown(write(tmp_path / "v", files))

    assert {t.key: t.parent for t in plan.thoughts} == {
        "topic": None,
        "sub": "topic",
        "topic-2": "topic",
    }


def test_keys_are_made_from_file_names_and_kept_unique(tmp_path):
    files = {
        "Idea.md": "",
        "Notes/Idea.md": "",
        "Notes/Café notes!.md": "",
        "Notes/日本.md": "",
        "named.md": "---\nkey: idea-2\n---\n",
        "bad key.md": "---\nkey: not valid!\n---\nLinks to [[idea]].",
        "block key.md": "---\nkey: |\n  ok\n---\n",  # "ok\n": not a key
    }
    plan = vault.read_markdown(write(tmp_path / "v", files))

    assert {t.file: t.key for t in plan.thoughts if t.file.endswith(".md")} == {
        "Idea.md": "idea",
        "Notes/Idea.md": "idea-3",
        "Notes/Café notes!.md": "cafe-notes",
        "Notes/日本.md": "note",
        "named.md": "idea-2",
        "bad key.md": "bad-key",
        "block key.md": "block-key",
    }
    assert [(k.source, k.target) for k in plan.links] == [("bad-key", "idea")]


def test_duplicate_links_appear_once(tmp_path):
    files = {
        "a.md": "[[b]] [[B]] [[b|again]]\n\n<!-- thoughtspace:links -->\n- [[b]]\n",
        "b.md": "",
    }
    plan = vault.read_markdown(write(tmp_path / "v", files))

    assert [(k.source, k.target, k.label) for k in plan.links] == [("a", "b", "")]
    assert next(plan.thoughts).body == "[[b]] [[B]] [[b|again]]"


def test_front_matter_dates_become_text(tmp_path):
    plan = vault.read_markdown(write(tmp_path / "v", {"a.md": "---\ncreated: 2024-05-01\n---\n"}))

    assert next(plan.thoughts).metadata == {"created": "2024-05-01"}


def test_another_tools_id_is_kept_in_metadata(tmp_path):
    files = {
        "a.md": "---\nid: 202405011200\n---\n",
        "b.md": "---\nid: 01HXRMPQ0000000000000000ZZ\n---\n",
    }
    plan = vault.read_markdown(write(tmp_path / "v", files))

    a, b = plan.thoughts
    assert (a.id, a.metadata) == (None, {"id": 202405011200})
    assert (b.id, b.metadata) == ("01HXRMPQ0000000000000000ZZ", {})


def test_the_title_argument_names_a_space_the_files_do_not(tmp_path):
    path = make_zip(tmp_path / "tmp1234.zip", {"a.md": ""})

    assert vault.read_markdown(path, title="My notes").title == "My notes"


def test_bad_yaml_names_the_file_and_line(tmp_path):
    files = {"ok.md": "", "sub/bad.md": "---\ntitle: fine\n  nested: wrong\n---\nbody\n"}

    with pytest.raises(ArchiveError) as error:
        vault.read_markdown(write(tmp_path / "v", files))

    assert (error.value.file, error.value.line) == ("sub/bad.md", 3)
    assert "sub/bad.md" in str(error.value) and "not valid YAML" in str(error.value)


def test_a_wrong_type_names_the_file_and_line(tmp_path):
    files = {"a.md": "---\ntitle: A\nposition: first\n---\n"}

    with pytest.raises(ArchiveError, match="'position' must be a whole number") as error:
        vault.read_markdown(write(tmp_path / "v", files))

    assert (error.value.file, error.value.line) == ("a.md", 3)


def test_yaml_aliases_are_refused(tmp_path):
    files = {"a.md": "---\nx: &x [1, 2]\ny: [*x, *x]\n---\n"}

    with pytest.raises(ArchiveError, match="aliases"):
        vault.read_markdown(write(tmp_path / "v", files))


def make_zip(path, files):
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return path


@pytest.mark.parametrize(
    "name", ["../evil.md", "/etc/evil.md", "notes/../../evil.md", "..\\evil.md"]
)
def test_a_zip_leading_out_of_its_folder_is_refused(tmp_path, name):
    path = make_zip(tmp_path / "evil.zip", {"fine.md": "", name: "gotcha"})

    with pytest.raises(ArchiveError, match="leads out of the archive"):
        vault.read_markdown(path)


def test_a_zip_member_too_large_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(vault, "MAX_FILE_BYTES", 100)
    path = make_zip(tmp_path / "big.zip", {"small.md": "x", "big.md": "x" * 101})

    with pytest.raises(ArchiveError, match="larger than") as error:
        vault.read_markdown(path)

    assert error.value.file == "big.md"


def test_a_zip_with_too_many_files_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(vault, "MAX_FILES", 2)
    path = make_zip(tmp_path / "many.zip", {"a.md": "", "b.md": "", "c.png": ""})

    with pytest.raises(ArchiveError, match="more than 2 files"):
        vault.read_markdown(path)


def test_a_zipped_vault_is_read_from_inside_its_folder(tmp_path):
    files = {"Vault/a.md": "[[b]]", "Vault/sub/b.md": "", "Vault/.obsidian/x.json": "{}"}
    plan = vault.read_markdown(make_zip(tmp_path / "notes.zip", files))

    assert plan.title == "notes"
    assert {t.key: (t.parent, t.file) for t in plan.thoughts} == {
        "a": (None, "Vault/a.md"),
        "sub": (None, "sub/"),
        "b": ("sub", "Vault/sub/b.md"),
    }
    assert [(k.source, k.target) for k in plan.links] == [("a", "b")]


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(ArchiveError, match="neither a folder nor a .zip"):
        vault.read_markdown(Path(tmp_path / "notes.txt"))
