"""API key management (admin): create, list, revoke."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from xfd.api import crud
from xfd.api.crud.keys import keys_query
from xfd.api.deps import AdminDep, SessionDep, field_error
from xfd.api.pagination import PAGE_HEADERS_DOC, PageDep, paginate, set_page_headers
from xfd.api.schemas import KeyCreate, KeyCreated, KeyPublic
from xfd.api.security import KeyError_
from xfd.api.storage.models import ApiKey

router = APIRouter(prefix="/v1/keys", tags=["keys"])


def _public(k: ApiKey) -> dict[str, Any]:
    return {"id": k.id, "prefix": k.prefix, "role": k.role, "enterprise": k.enterprise_id, "profile": k.profile_id,
            "note": k.note, "revoked": k.revoked, "created_at": k.created_at}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated, summary="新建密钥 create a key (shown once)")
def post_key(body: KeyCreate, _who: AdminDep, session: SessionDep) -> dict[str, Any]:
    try:
        row, plaintext = crud.create_key(session, body.role, body.enterprise, body.note, body.profile)
    except KeyError_ as exc:
        raise field_error(["body", "profile" if str(exc).startswith("profile") else "enterprise"], str(exc)) from None
    return {**_public(row), "key": plaintext}


@router.get("", response_model=list[KeyPublic], summary="密钥列表 list keys (no secrets)",
            responses={200: {"headers": PAGE_HEADERS_DOC}})
def list_keys(_who: AdminDep, session: SessionDep, page: PageDep, request: Request, response: Response,
              ) -> list[dict[str, Any]]:
    result = paginate(session, keys_query(), page)
    set_page_headers(request, response, page, result.total)
    return [_public(k) for k in result.items]


@router.delete("/{key_id}", response_model=KeyPublic, summary="吊销密钥 revoke a key",
               responses={409: {"description": "the key in use, or the last active admin key"}})
def revoke_key(key_id: Annotated[int, Path(ge=1, le=2**62)], who: AdminDep, session: SessionDep) -> dict[str, Any]:
    return _public(crud.revoke_key(session, key_id, who))
