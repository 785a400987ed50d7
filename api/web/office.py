"""Office pages: the inbox of submitted demands, the searchable directory of
teachers, students and teams, and profile import by upload (every error shown
with its line and field; nothing stored when there is one)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, NamedTuple

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from xfd.api import crud
from xfd.api.deps import EngineDep, SessionDep
from xfd.api.web import workflow
from xfd.api.web.auth import Viewer, csrf_for, require
from xfd.api.web.render import PageRoute, page
from xfd.matching.readers import RecordError, Where, iter_raw_records, validate_profile
from xfd.matching.types import Profile

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Office = Annotated[Viewer, Depends(require("office"))]
OfficeForm = Annotated[Viewer, Depends(csrf_for("office"))]
PAGE_SIZE = 25
INBOX_PAGE = 10
#: statuses waiting for the office's review
INBOX = ("submitted",)
FORMATS = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".xlsx")
MAX_ERRORS = 200


@router.get("/office/inbox", response_class=HTMLResponse)
def inbox(request: Request, viewer: Office, session: SessionDep,
          page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1) -> HTMLResponse:
    """Submitted demands, oldest first (they have waited longest), ``INBOX_PAGE`` per page."""
    rows = [r for s in INBOX for r in crud.list_demands(session, viewer.principal, status=s)]
    rows.sort(key=lambda r: (r.created_at, r.id))
    pages = max(1, -(-len(rows) // INBOX_PAGE))
    page_no = min(page_no, pages)
    shown = rows[(page_no - 1) * INBOX_PAGE: page_no * INBOX_PAGE]
    actions = {r.id: workflow.actions_for(viewer.principal, r) for r in shown}
    return page(request, "inbox.html", viewer, rows=shown, actions=actions, total=len(rows), page_no=page_no, pages=pages)


def _matches(p: object, needle: str) -> bool:
    fields = [getattr(p, n, "") for n in ("id", "name", "college", "title", "major", "county")]
    lists = [*getattr(p, "disciplines", []), *getattr(p, "keywords", []), *getattr(p, "skills", [])]
    return needle in " ".join(str(x) for x in [*fields, *lists]).lower()


@router.get("/directory", response_class=HTMLResponse)
def directory(
    request: Request,
    viewer: Office,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "id",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    rows = crud.list_profiles(session)
    if kind:
        rows = [r for r in rows if r.kind == kind]
    if q.strip():
        needle = q.strip().lower()
        rows = [r for r in rows if _matches(r, needle)]
    keys = {"id": lambda r: r.id, "name": lambda r: (r.name, r.id), "college": lambda r: (r.college, r.id),
            "kind": lambda r: (r.kind, r.id)}
    rows.sort(key=keys.get(sort, keys["id"]))
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page_no = min(page_no, pages)
    return page(request, "directory.html", viewer, rows=rows[(page_no - 1) * PAGE_SIZE: page_no * PAGE_SIZE],
                total=len(rows), page_no=page_no, pages=pages, q=q, kind=kind, sort=sort if sort in keys else "id")


class ImportError_(NamedTuple):
    """One bad record of an upload: 1-based ``line`` (spreadsheet row), ``field`` and the reason."""

    line: int | None
    field: str
    reason: str


def check_profiles(path: str, label: str) -> tuple[list[Profile], list[ImportError_]]:
    """Validate every record of a profiles file; all errors (up to ``MAX_ERRORS``), not only the first."""
    profiles: list[Profile] = []
    errors: list[ImportError_] = []
    seen: dict[str, int] = {}
    bad_lines: list[RecordError] = []  # JSON Lines lines that are not JSON: listed, and reading goes on

    def take_bad_lines() -> None:
        errors.extend(ImportError_(e.line, e.field or "", e.reason) for e in bad_lines)
        bad_lines.clear()

    try:
        for line, obj in iter_raw_records(path, bad_lines):
            take_bad_lines()
            try:
                p = validate_profile(obj, Where(label, line))
            except RecordError as exc:
                errors.append(ImportError_(exc.line, exc.field or "", exc.reason))
            else:
                if p.id in seen:
                    errors.append(ImportError_(line, "id", f"id {p.id!r} 重复 duplicate, 首次出现于第 {seen[p.id]} 行 first on line {seen[p.id]}"))
                seen.setdefault(p.id, line)
                profiles.append(p)
            if len(errors) >= MAX_ERRORS:
                break
    except RecordError as exc:  # unreadable file or malformed syntax: reading stops there
        take_bad_lines()
        errors.append(ImportError_(exc.line, exc.field or "", exc.reason))
    take_bad_lines()
    return profiles, errors[:MAX_ERRORS]


@router.get("/profiles/import", response_class=HTMLResponse)
def import_form(request: Request, viewer: Office) -> HTMLResponse:
    return page(request, "import.html", viewer, errors=[], stored=None, formats=FORMATS)


@router.post("/profiles/import", response_class=HTMLResponse)
def import_profiles(request: Request, viewer: OfficeForm, session: SessionDep, engine: EngineDep,
                    file: Annotated[UploadFile, File()]) -> HTMLResponse:
    name = Path(file.filename or "upload").name[:200]
    suffix = Path(name).suffix.lower()
    if suffix not in FORMATS:
        errors = [ImportError_(None, "file", f"不支持的文件类型 unsupported file type {suffix or name!r}; 可选 valid: {', '.join(FORMATS)}")]
        return page(request, "import.html", viewer, status_code=422, errors=errors, stored=None, formats=FORMATS, filename=name)
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix="xfd-web-import-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        profiles, errors = check_profiles(tmp, name)
    finally:
        Path(tmp).unlink(missing_ok=True)
    if not errors and not profiles:
        errors = [ImportError_(None, "file", "文件中没有记录 no records in the file")]
    if errors:
        return page(request, "import.html", viewer, status_code=422, errors=errors, stored=None, formats=FORMATS, filename=name)
    result = crud.commit_profiles(session, profiles)
    engine.invalidate()
    return page(request, "import.html", viewer, errors=[], stored=result, formats=FORMATS, filename=name, count=len(profiles))
