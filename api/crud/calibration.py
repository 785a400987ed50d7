"""Calibrations of the service: refit the score fusion from the stored verdicts.

``recalibrate`` takes every stored ``accepted``/``rejected`` feedback (a later
verdict on the same pair replaces an earlier one; verdicts on demands or
profiles no longer indexed are left out and counted), builds the pair
features from the engine's fitted scorer for the demands with verdicts and
fits through ``xfd.matching.calibration.fit_calibration`` — the same fit as
``xfd calibrate``.  The result is stored as a new version; it becomes the
active one (and the engine refits with its fusion and verdict memory) only when the
fit kept a refit or a verdict memory (``source`` "refit" or "memory", not "default").  ``activate`` switches to a stored version, or
back to the model's default with id 0.  At most one version is active.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from xfd.api.engine import MatchEngine
from xfd.api.errors import Conflict, Forbidden, NotFound
from xfd.api.records import demand_from_row
from xfd.api.security import Principal
from xfd.api.storage.calibration import CalibrationRow
from xfd.api.storage.models import DemandRow, Feedback
from xfd.api.storage.shared_state import bump_version
from xfd.matching.calibration import (
    VERDICTS,
    MemoryInputs,
    ScorerCalibration,
    Verdict,
    calibration_from_json,
    calibration_to_json,
    fit_calibration,
    pair_features,
)
from xfd.matching.memory import memory_vectors
from xfd.matching.scoring import DEFAULT_FUSION, LEXICAL_ONLY_FUSION, Fusion

log = logging.getLogger("xfd.calibration")

#: demands whose features are computed at once
BATCH = 64


def _require_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("office")


def stored_verdicts(session: Session) -> list[Verdict]:
    """The accepted/rejected feedback, oldest first, the latest verdict per (demand, profile) pair."""
    rows = session.execute(select(Feedback.demand_id, Feedback.profile_id, Feedback.verdict)
                           .where(Feedback.verdict.in_(VERDICTS)).order_by(Feedback.id))
    out: dict[tuple[str, str], Verdict] = {}
    for demand_id, profile_id, verdict in rows:
        out.pop((demand_id, profile_id), None)
        out[(demand_id, profile_id)] = Verdict(demand_id, profile_id, verdict == "accepted")
    return list(out.values())


def default_fusion(engine: MatchEngine) -> Fusion:
    """The fusion the engine's model scores with uncalibrated (as ``MatchScorer.fit`` picks it)."""
    params = engine.base_params()
    if params.get("fusion") is not None:
        return params["fusion"]
    return DEFAULT_FUSION if params.get("encoder") is not None else LEXICAL_ONLY_FUSION


class _Pairs(NamedTuple):
    """Verdicts on stored demands and indexed profiles (``kept``), their (n, 3) pair features ``x``,
    the demands' ``texts`` by id, their default logits of every profile ``base`` (one row per
    demand with a kept verdict, first-seen order) and the indexed ``profile_ids`` (columns)."""

    kept: list[Verdict]
    x: np.ndarray
    texts: dict[str, str]
    base: np.ndarray
    profile_ids: list[str]


def _pair_matrix(session: Session, engine: MatchEngine, verdicts: list[Verdict], default: Fusion) -> _Pairs:
    """The verdicts' pair features and full rankings from the engine's fresh index."""
    ids = list(dict.fromkeys(v.demand_id for v in verdicts))
    rows = {r.id: r for r in session.scalars(select(DemandRow).where(DemandRow.id.in_(ids)))} if ids else {}
    used = [d for d in ids if d in rows]
    demands = [demand_from_row(rows[d]) for d in used]
    x_parts: list[np.ndarray] = []
    base_parts: dict[str, np.ndarray] = {}
    ids_p: list[str] = []
    kept: list[Verdict] = []
    row_of = {d: i for i, d in enumerate(used)}
    for s in range(0, len(demands), BATCH):
        profiles, feats = engine.features(demands[s : s + BATCH])
        col = {p.id: j for j, p in enumerate(profiles)}
        ids_p = [p.id for p in profiles]
        z = default.bias + default.terms(feats)
        base_parts.update({d.id: z[i] for i, d in enumerate(demands[s : s + BATCH])})
        part = [v for v in verdicts if s <= row_of.get(v.demand_id, -1) < s + BATCH and v.profile_id in col]
        if part:
            x_parts.append(pair_features(feats, [row_of[v.demand_id] - s for v in part], [col[v.profile_id] for v in part]))
            kept.extend(part)
    x = np.concatenate(x_parts) if x_parts else np.zeros((0, 3))
    order = list(dict.fromkeys(v.demand_id for v in kept))
    base = np.array([base_parts[d] for d in order]).reshape(len(order), len(ids_p))
    return _Pairs(kept, x, {d.id: d.text for d in demands}, base, ids_p)


def _memory_inputs(engine: MatchEngine, pairs: _Pairs) -> MemoryInputs:
    """The demands with verdicts, embedded as the engine's model embeds queries (verdict memory)."""
    params = engine.base_params()
    used = list(dict.fromkeys(v.demand_id for v in pairs.kept))
    docs = [pairs.texts[d] for d in used]
    encoder = params.get("encoder")
    vectors = memory_vectors(docs, encoder, None if encoder is not None else params["tokenizer"],
                             params.get("demand_role", "query"))
    return MemoryInputs(used, docs, vectors, [v.profile_id for v in pairs.kept], pairs.base, pairs.profile_ids)


def _check_enough(verdicts: Sequence[Verdict], skipped: int) -> None:
    accepted = sum(v.accepted for v in verdicts)
    demands = len({v.demand_id for v in verdicts})
    if accepted == 0 or accepted == len(verdicts) or demands < 2:
        raise Conflict(
            f"反馈太少，无法校准：需要至少两个需求且同时有接受和拒绝（现有 {len(verdicts)} 条，接受 {accepted} 条，"
            f"{demands} 个需求，{skipped} 条因需求或人员不在索引中而未用） too few verdicts to calibrate: need accepted "
            f"and rejected verdicts on at least two demands (have {len(verdicts)}, {accepted} accepted, on {demands} "
            f"demands; {skipped} left out because their demand or profile is not indexed)")


def recalibrate(session: Session, engine: MatchEngine, principal: Principal) -> CalibrationRow:
    """Fit from the stored verdicts, store a new version, activate it if it kept the refit; commits.

    ``Conflict`` when there are too few usable verdicts (nothing is stored then).
    """
    _require_staff(principal)
    verdicts = stored_verdicts(session)
    default = default_fusion(engine)
    pairs = _pair_matrix(session, engine, verdicts, default)
    kept = pairs.kept
    _check_enough(kept, len(verdicts) - len(kept))
    cal = fit_calibration(pairs.x, np.array([v.accepted for v in kept]), [v.demand_id for v in kept],
                          default, engine.model_name, _memory_inputs(engine, pairs))
    doc = calibration_to_json(cal)
    doc["skipped"] = len(verdicts) - len(kept)
    row = CalibrationRow(created_by=principal.key_id, model=engine.model_name, document=doc,
                         active=cal.source != "default")
    if row.active:
        session.execute(update(CalibrationRow).where(CalibrationRow.active.is_(True)).values(active=False))
        bump_version(session)  # every service process refits with it (xfd.api.sync)
    session.add(row)
    session.commit()
    if row.active:
        engine.set_fusion(ScorerCalibration(cal.fusion, cal.memory))
    return row


def calibrations_query(principal: Principal) -> Select:
    """``select(CalibrationRow)``, newest first (staff only)."""
    _require_staff(principal)
    return select(CalibrationRow).order_by(CalibrationRow.id.desc())


def list_calibrations(session: Session, principal: Principal) -> list[CalibrationRow]:
    """Every stored version, newest first."""
    return list(session.scalars(calibrations_query(principal)))


def activate(session: Session, engine: MatchEngine, principal: Principal, calibration_id: int) -> CalibrationRow | None:
    """Make version ``calibration_id`` the active one (0: none, back to the model's default) and
    refit the engine with it; commits.  ``NotFound`` for an unknown id, ``Conflict`` for a
    version fitted for another model than the engine's."""
    _require_staff(principal)
    row = None
    fusion: ScorerCalibration | None = None
    if calibration_id != 0:
        row = session.get(CalibrationRow, calibration_id)
        if row is None:
            raise NotFound("calibration", calibration_id)
        try:
            fusion = calibration_from_json(row.document, engine.model_name)
        except ValueError as exc:
            raise Conflict(f"无法启用校准 {calibration_id} cannot activate calibration {calibration_id}: {exc}") from None
    session.execute(update(CalibrationRow).where(CalibrationRow.active.is_(True)).values(active=False))
    if row is not None:
        row.active = True
    bump_version(session)  # every service process refits with it (xfd.api.sync)
    session.commit()
    engine.set_fusion(fusion)
    return row


def active_fusion(session: Session, model: str) -> ScorerCalibration | None:
    """The active version's fusion and verdict memory for ``model`` (None when none is active); an active version
    fitted for another model is not used (logged: the default applies until one is activated)."""
    row = session.scalars(select(CalibrationRow).where(CalibrationRow.active.is_(True))
                          .order_by(CalibrationRow.id.desc())).first()
    if row is None:
        return None
    try:
        return calibration_from_json(row.document, model)
    except ValueError as exc:
        log.warning("active calibration %d not used, scoring with the default fusion: %s", row.id, exc)
        return None


def calibration_view(row: CalibrationRow) -> dict[str, Any]:
    """A version as answered: id, who/when, model, active, source, reason, figures and the document."""
    doc = row.document
    return {"id": row.id, "created_at": row.created_at, "created_by": row.created_by, "model": row.model,
            "active": row.active, "source": doc.get("source"), "reason": doc.get("reason"),
            "fusion": doc.get("fusion"), "figures": doc.get("figures"), "calibration": doc}
