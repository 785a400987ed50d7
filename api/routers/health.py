"""``GET /healthz``: 200 when the database answers and the model is loaded."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from xfd.api import crud
from xfd.api.deps import EngineDep, SessionDep
from xfd.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="服务状态 liveness and readiness")
def healthz(session: SessionDep, engine: EngineDep) -> Health:
    if not engine.loaded:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "模型加载中 model is loading")
    return Health(status="ok", model=engine.model_name, profiles=crud.count_profiles(session), index_ready=engine.index_ready,
                  index_version=engine.fit_version, texts_encoded=engine.texts_encoded())
