"""Export, import and restore in the JSON API: a space's archive (JSON Lines or a Markdown
zip), an import into a new or an existing space, and going back to any moment."""

# No ``from __future__ import annotations``: ninja reads these query types at runtime.
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils.text import slugify
from ninja import Field, Query, Router, Schema, Status

from spaces import archive, selectors, timeline, vault
from spaces.errors import Forbidden
from spaces.models import ApiToken
from spaces.schemas import Error, Input, Moment, ThoughtOut

router = Router(tags=["export and restore"])
ERRORS = {status: Error for status in (400, 401, 403, 404, 409, 412, 413, 422, 429, 503)}
READ_ERRORS = {status: Error for status in (401, 404, 422, 429, 503)}
Format = Literal["json", "markdown"]
JSONL = "application/x-ndjson"


def _direct(request: HttpRequest) -> None:
    """Imports and restores write many changes at once: not for a token that only reads or
    whose changes a person confirms one by one."""
    token: ApiToken | None = getattr(request, "api_token", None)
    if token is not None and token.mode != ApiToken.Mode.DIRECT:
        raise Forbidden(f"A token in {token.mode} mode cannot import or restore.")


def file_stem(title: str) -> str:
    return slugify(title)[:60] or "space"


def export_response(space: Any, fmt: str) -> Any:
    """The download of ``space`` in ``fmt`` (``json`` or ``markdown``)."""
    stem = file_stem(space.title)
    if fmt == "json":
        response = StreamingHttpResponse(archive.export_jsonl(space), content_type=JSONL)
        response["Content-Disposition"] = f'attachment; filename="{stem}.thoughtspace.jsonl"'
        return response
    # A zip's directory comes last: built in a file (spilled to disk when large), then sent.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115 - FileResponse closes it
    vault.export_markdown(space, out)
    out.seek(0)
    return FileResponse(
        out, as_attachment=True, filename=f"{stem}.zip", content_type="application/zip"
    )


class ExportQuery(Schema):
    format: Format = "json"


@router.get(
    "/spaces/{space_id}/export",
    response={200: None, **READ_ERRORS},
    description="The space as a lossless archive (`format=json`: JSON Lines, see "
    "docs/archive.md) or as a Markdown folder in a zip (`format=markdown`), streamed.",
)
def export_space(request: HttpRequest, space_id: str, query: Query[ExportQuery]) -> Any:
    space = selectors.space_get(user=request.user, space_id=space_id)
    return export_response(space, query.format)


class ImportQuery(Schema):
    format: Format = Field("json", description="json: a ThoughtSpace archive; markdown: a zip.")
    into: str | None = Field(None, description="An existing space to merge into (an editor's).")
    dry_run: bool = Field(False, description="Check and count, change nothing.")


class ImportOut(Schema):
    space_id: str
    created: int
    unchanged: int
    links: int
    links_unchanged: int
    conflicts: list[str] = Field(description="Keys the space had already, differently: kept.")
    attachments: list[str]
    dry_run: bool


def import_upload(
    request: HttpRequest, stream: Any, fmt: str, *, name: str, into: str | None, dry_run: bool
) -> archive.Report:
    """Import an uploaded archive (a file object). A zip is copied to a temporary file first
    (its directory is at its end)."""
    target = selectors.space_get(user=request.user, space_id=into, edit=True) if into else None
    if fmt == "json":
        plan = archive.read_jsonl(stream, file=name)
    else:
        with tempfile.NamedTemporaryFile(suffix=".zip") as zipped:
            shutil.copyfileobj(stream, zipped)
            zipped.flush()
            plan = vault.read_markdown(Path(zipped.name), title=Path(name).stem)
    return archive.apply(plan, actor=request.user, into=target, dry_run=dry_run)


ARCHIVE_BODY = {
    "requestBody": {
        "required": True,
        "description": "The archive's bytes, whatever the Content-Type: JSON Lines "
        "(format=json) or a zip (format=markdown).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "/imports",
    response={201: ImportOut, 200: ImportOut, **ERRORS},
    openapi_extra=ARCHIVE_BODY,
    description="Import an archive sent as the request body (JSON Lines, or a zip of "
    "Markdown with `format=markdown`): into a new space (201), or merged into `into`, where "
    "a thought the space has already is kept as it is and reported under `conflicts`. A bad "
    "archive answers 422 naming the line, and nothing is written. `dry_run` answers 200.",
)
def import_space(request: HttpRequest, query: Query[ImportQuery]) -> Any:
    _direct(request)
    report = import_upload(
        request, request, query.format, name="request body", into=query.into, dry_run=query.dry_run
    )
    return Status(200 if query.dry_run or query.into else 201, report.as_dict())


class RestoreIn(Input):
    at: Moment = Field(description="The moment to go back to (ISO 8601, with a time zone).")


class RestoreOut(Schema):
    changes: int = Field(description="How many changes the restore wrote.")


@router.post(
    "/spaces/{space_id}/restore",
    response={200: RestoreOut, **ERRORS},
    description="Make the space what it was at `at`, by ordinary changes (history, live "
    "updates, sync): thoughts, links, title and description; shares stay as they are. It "
    "can itself be undone by a restore to a moment before it.",
)
def restore_space(request: HttpRequest, space_id: str, payload: RestoreIn) -> Any:
    _direct(request)
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    return {"changes": timeline.restore_to(space, payload.at, actor=request.user)}


@router.post(
    "/spaces/{space_id}/history/{entry_id}/restore",
    response={200: ThoughtOut, **ERRORS},
    description="Bring one thought back to the version a history entry recorded (for a "
    "delete, the thought as it was deleted), as an ordinary change.",
)
def restore_version(request: HttpRequest, space_id: str, entry_id: str) -> Any:
    _direct(request)
    space = selectors.space_get(user=request.user, space_id=space_id, edit=True)
    return timeline.restore_version(space, entry_id, actor=request.user)
