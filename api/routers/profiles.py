"""Profiles (office): upsert a JSON array, import a file, list, get one."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Request, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import AfterValidator

from xfd.api import crud
from xfd.api.crud.profiles import profiles_query
from xfd.api.deps import EngineDep, SessionDep, SettingsDep, StaffDep, field_error
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers
from xfd.api.records import profile_public, record_error_type
from xfd.api.schemas import ProfileCreate, ProfilePublic, ProfilesUpserted
from xfd.matching.records import duplicate_id_reason, first_duplicate_id, lookup_id
from xfd.matching.types import Profile

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])

FORMATS = ("jsonl", "json", "ndjson", "csv", "tsv", "xlsx")


@router.post("", response_model=ProfilesUpserted, summary="批量写入人员 upsert profiles by id")
def post_profiles(
    body: Annotated[list[ProfileCreate], Body(description="JSON array of profile records")],
    _who: StaffDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> ProfilesUpserted:
    if len(body) > settings.max_profiles_per_request:
        raise field_error(["body"], f"一次最多 {settings.max_profiles_per_request} 条 at most {settings.max_profiles_per_request} profiles per request")
    profiles: list[Profile] = [item.to_profile() for item in body]  # validated by the record schema
    dup = first_duplicate_id([p.id for p in profiles])
    if dup is not None:
        raise field_error(["body", dup[0], "id"], duplicate_id_reason(profiles[dup[0]].id, f"[{dup[1]}]"))
    result = crud.commit_profiles(session, profiles)
    engine.invalidate()
    return result


@router.post("/import", response_model=ProfilesUpserted, summary="上传文件导入人员 import profiles from JSONL/CSV/XLSX")
def import_profiles(
    file: Annotated[UploadFile, File(description="profiles file: .jsonl, .csv or .xlsx")],
    _who: StaffDep,
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    format: Annotated[str | None, Form(description="jsonl|csv|xlsx (default: from the file name)", max_length=10)] = None,
) -> ProfilesUpserted:
    name = (file.filename or "upload").rsplit("/", 1)[-1][:200]
    fmt = (format or Path(name).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise field_error(["body", "format" if format else "file"], f"不支持的格式 unsupported format {fmt!r}; use one of {', '.join(FORMATS)}")
    from xfd.matching.readers import read_profiles  # noqa: PLC0415

    record_error_cls = record_error_type()
    fd, tmp = tempfile.mkstemp(suffix=f".{fmt}", prefix="xfd-import-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        try:
            profiles = list(read_profiles(tmp))
        except record_error_cls as exc:
            line = getattr(exc, "line", None)
            field = getattr(exc, "field", None)
            reason = getattr(exc, "reason", None) or str(exc)
            where = f"{name}" + (f":{line}" if line else "")
            loc: list[Any] = ["body", "file"] + ([f"line {line}"] if line else []) + ([field] if field else [])
            named = f'字段 field "{field}": ' if field else ""
            raise field_error(loc, f"{where}: {named}{reason}") from None
        except (ValueError, UnicodeDecodeError, KeyError, OSError) as exc:
            raise field_error(["body", "file"], f"{name}: 无法读取 cannot read: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    if not profiles:
        raise field_error(["body", "file"], f"{name}: 文件中没有记录 no records in the file")
    if len(profiles) > settings.max_profiles_per_request:
        raise field_error(["body", "file"], f"一次最多 {settings.max_profiles_per_request} 条 at most {settings.max_profiles_per_request} profiles per file")
    result = crud.commit_profiles(session, profiles)
    engine.invalidate()
    return result


@router.get("", response_model=list[ProfilePublic], summary="人员列表 list profiles",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def list_profiles(_who: StaffDep, session: SessionDep, page: PageDep, request: Request, response: Response,
                  ) -> list[dict[str, Any]]:
    result = paginate(session, profiles_query(), page)
    set_page_headers(request, response, page, result.total)
    return [profile_public(r) for r in result.items]


@router.get("/{profile_id}", response_model=ProfilePublic, summary="单个人员 one profile")
def get_profile(profile_id: Annotated[str, PathParam(max_length=200, pattern=r"^[^\x00]+$"), AfterValidator(lookup_id)], _who: StaffDep, session: SessionDep) -> dict[str, Any]:
    return profile_public(crud.get_profile(session, profile_id))
