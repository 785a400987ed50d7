"""Office: recalibrate from the stored verdicts (``/office/calibration``, 重新校准).

A CSRF form fits a new version from every stored accepted/rejected verdict
(``xfd.api.crud.calibration.recalibrate``, the same fit as ``POST
/v1/calibrations``); the page shows the held-out figures before/after of each
version, the list of versions, and a switch to activate any version or the
default (``activate``, as ``POST /v1/calibrations/{id}/activate``).  The role
check is the data layer's (office or admin), behind the page's own.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from xfd.api.crud.calibration import activate, list_calibrations, recalibrate
from xfd.api.deps import EngineDep, SessionDep
from xfd.api.web.auth import Viewer, csrf_for, require
from xfd.api.web.render import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Office = Annotated[Viewer, Depends(require("office"))]
OfficeForm = Annotated[Viewer, Depends(csrf_for("office"))]
SOURCE_LABELS = {"memory": "反馈记忆 verdict memory", "refit": "重新拟合权重 refitted weights",
                 "default": "默认（未采用） default (not adopted)"}
#: figures shown per version: (key, label)
MEASURES = (("pairwise", "成对排序 pairwise"), ("auc", "AUC"), ("ndcg", "nDCG@10"))


def version_view(row: Any) -> dict[str, Any]:
    """One version for the page: id, when, active, source label, reason, counts, held-out figures."""
    doc = row.document or {}
    figs = (doc.get("figures") or {}).get("held_out") or (doc.get("figures") or {}).get("all") or {}
    rows = []
    for key, label in MEASURES:
        before, after = (figs.get("before") or {}).get(key), (figs.get("after") or {}).get(key)
        if before is not None or after is not None:
            rows.append({"label": label, "before": before, "after": after})
    mem = doc.get("memory") or {}
    return {"id": row.id, "created_at": row.created_at, "active": row.active, "source": doc.get("source", ""),
            "source_label": SOURCE_LABELS.get(doc.get("source", ""), doc.get("source", "")),
            "reason": doc.get("reason", ""), "verdicts": doc.get("verdicts", 0), "accepted": doc.get("accepted", 0),
            "demands": doc.get("demands", 0), "memory_items": len(mem.get("items", [])), "figures": rows}


@router.get("/office/calibration", response_class=HTMLResponse)
def calibration_page(request: Request, viewer: Office, session: SessionDep, new: int = 0) -> HTMLResponse:
    versions = [version_view(r) for r in list_calibrations(session, viewer.principal)]
    latest = next((v for v in versions if v["id"] == new), None)
    return page(request, "calibration.html", viewer, versions=versions, latest=latest,
                any_active=any(v["active"] for v in versions))


@router.post("/office/calibration", response_class=HTMLResponse)
def recalibrate_form(viewer: OfficeForm, session: SessionDep, engine: EngineDep) -> Response:
    """Fit a new version (409 page naming the counts when there are too few verdicts)."""
    row = recalibrate(session, engine, viewer.principal)
    return RedirectResponse(f"/office/calibration?new={row.id}", status_code=303)


@router.post("/office/calibration/activate", response_class=HTMLResponse)
def activate_form(viewer: OfficeForm, session: SessionDep, engine: EngineDep,
                  calibration_id: Annotated[int, Form(ge=0, le=2**31 - 1)]) -> Response:
    """Activate version ``calibration_id`` (0: the default scoring)."""
    activate(session, engine, viewer.principal, calibration_id)
    return RedirectResponse("/office/calibration", status_code=303)
