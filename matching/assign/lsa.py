"""The LSA construction: a sparse linear-sum assignment of demand role slots
to profile capacity units, then a greedy repair (``lsa`` solver, and the
incumbent of the exact solver).

Rows are demand role slots (one lead slot for teachers, one slot per required
discipline, free slots up to ``size_max``), columns are profile capacity
units (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``); forbidden
pairs have no edge.  The repair pass restores the side constraints.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from xfd.matching.assign.common import (
    eligible_mask,
    individually_feasible,
    pair_weights,
    plan_value,
    staffed_count,
    team_feasible,
    topk_cols,
    topk_sub,
)
from xfd.matching.assign.greedy import greedy_fill, top_up
from xfd.matching.assign.options import Solution, SolveOptions, SolveStats, SolveStatus
from xfd.matching.assign.problem import TeamProblem


def lsa_construct(problem: TeamProblem, w: np.ndarray, active: np.ndarray,
                  width: int = 20, chunk: int = 400) -> list[np.ndarray]:
    """LSA over demand role slots x profile capacity units, then repair.

    Slots per active demand: 1 lead slot (teachers), 1 per required
    discipline (its coverers), ``size_max - 1 - n_required`` free slots.
    Each slot links to its ``width`` best eligible profiles' capacity units;
    every slot also has a private dummy column (slot left empty), costing a
    large penalty for the lead/coverage slots.  Returns members per demand.
    """
    act = np.nonzero(active)[0]
    es, ep, ec, chunk_of_slot, slot_demand = _slot_edges(problem, w, act, width, chunk)
    members = _match_chunks(problem, es, ep, ec, chunk_of_slot, slot_demand)
    return _repair(problem, w, act, members)


_BIG = 10.0


def _slot_edges(problem: TeamProblem, w: np.ndarray, act: np.ndarray, width: int,
                chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges (slot, profile, cost) of the slot graph, the matching chunk of each
    slot and the demand of each slot (see :func:`lsa_construct`)."""
    cap = problem.capacity.astype(np.int64)
    BIG = _BIG
    # slots: per demand a lead slot, one per required discipline, free slots
    nreq = problem.required[act].sum(axis=1)
    nfree = np.maximum(0, problem.size_max[act] - 1 - nreq)
    nslot = 1 + nreq + nfree
    first = np.concatenate([[0], np.cumsum(nslot)])
    n_slots = int(first[-1])
    slot_demand = np.repeat(act, nslot)
    # stage 0: lead, coverage and the free slots needed to reach size_min;
    # stage 1: optional free slots (filled only after every demand had its turn)
    # the first free slots take students only, as many as students_min asks
    nst = np.minimum(nfree, problem.students_min[act])
    nmust = np.maximum(np.maximum(0, problem.size_min[act] - 1 - nreq), nst)
    pos_in = np.arange(n_slots) - np.repeat(first[:-1], nslot)
    stage = (pos_in >= np.repeat(1 + nreq + nmust, nslot)).astype(np.int64)
    E_s, E_p, E_c = [], [], []   # slot, profile, cost

    def edges(slot_of_row: np.ndarray, top: np.ndarray, val: np.ndarray, bonus: float) -> None:
        ok = np.isfinite(val)
        r = np.broadcast_to(slot_of_row[:, None], top.shape)[ok]
        E_s.append(r)
        E_p.append(top[ok])
        E_c.append(3.0 * BIG - (val[ok] + bonus))

    teachers = np.nonzero(problem.is_teacher & (cap > 0))[0]
    students = np.nonzero(~problem.is_teacher & (cap > 0))[0]
    coverers = [np.nonzero(problem.covers[:, k] & (cap > 0))[0] for k in range(problem.n_disciplines)]
    block = 256
    for s in range(0, act.size, block):
        e = min(act.size, s + block)
        rows = act[s:e]
        W = np.where(eligible_mask(problem, rows), w[rows], -np.inf)
        sl = first[s:e]
        top, val = topk_sub(W, teachers, width)
        edges(sl, top, val, BIG)
        req = problem.required[rows]
        rank = np.cumsum(req, axis=1)  # k-th required discipline of the row -> slot offset
        for k in np.nonzero(req.any(axis=0))[0]:
            rr = np.nonzero(req[:, k])[0]
            if coverers[k].size:
                top, val = topk_sub(W[rr], coverers[k], width)
                edges(sl[rr] + rank[rr, k], top, val, BIG)
        sc = np.where(W > 0, W, -np.inf)
        top = topk_cols(sc, width)
        val = np.take_along_axis(sc, top, axis=1)
        top_s, val_s = topk_sub(W, students, width)
        nf, nm, ns = nfree[s:e], nmust[s:e], nst[s:e]
        for f in range(int(nf.max(initial=0))):
            rr = np.nonzero(nf > f)[0]
            st_slot = ns[rr] > f
            sel = rr[st_slot]
            if sel.size:
                edges(sl[sel] + 1 + nreq[s:e][sel] + f, top_s[sel], val_s[sel], BIG)
            rr = rr[~st_slot]
            must = nm[rr] > f
            for sel, bonus in ((rr[must], BIG), (rr[~must], 0.0)):
                if sel.size:
                    edges(sl[sel] + 1 + nreq[s:e][sel] + f, top[sel], val[sel], bonus)
    nch = (act.size + chunk - 1) // chunk
    chunk_of_slot = np.repeat(np.arange(act.size) // chunk, nslot) + stage * nch
    if not (n_slots and E_s):
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), chunk_of_slot, slot_demand
    return np.concatenate(E_s), np.concatenate(E_p), np.concatenate(E_c), chunk_of_slot, slot_demand


def _match_chunks(problem: TeamProblem, es: np.ndarray, ep: np.ndarray, ec: np.ndarray,
                  chunk_of_slot: np.ndarray, slot_demand: np.ndarray) -> list[list[int]]:
    """Chunks of demands matched in turn against the capacity still free (the
    sparse LSA grows superlinearly, chunks keep the whole near-linear)."""
    BIG = _BIG
    members: list[list[int]] = [[] for _ in range(problem.n_demands)]
    left = problem.capacity.astype(np.int64).copy()
    if es.size:
        order = np.argsort(chunk_of_slot[es], kind="stable")
        es, ep, ec = es[order], ep[order], ec[order]
        bounds = np.searchsorted(chunk_of_slot[es], np.arange(chunk_of_slot.max() + 2))
        for ci in range(bounds.size - 1):
            lo, hi = bounds[ci], bounds[ci + 1]
            if lo == hi:
                continue
            s_, p_, c_ = es[lo:hi], ep[lo:hi], ec[lo:hi]
            keep = left[p_] > 0
            s_, p_, c_ = s_[keep], p_[keep], c_[keep]
            slots = np.unique(s_)
            srow = np.searchsorted(slots, s_)
            prof = np.unique(p_)
            ucnt = np.minimum(left[prof], slots.size)
            ustart = np.concatenate([[0], np.cumsum(ucnt)])
            pidx = np.searchsorted(prof, p_)
            cnt = ucnt[pidx]
            rep = np.repeat(np.arange(p_.size), cnt)
            off = np.arange(rep.size) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            nu = int(ustart[-1])
            rows_a = np.concatenate([srow[rep], np.arange(slots.size)])
            cols_a = np.concatenate([ustart[pidx[rep]] + off, nu + np.arange(slots.size)])
            vals_a = np.concatenate([c_[rep], np.full(slots.size, 3.0 * BIG)])
            G = sp.csr_matrix((vals_a, (rows_a, cols_a)), shape=(slots.size, nu + slots.size))
            r, c = min_weight_full_bipartite_matching(G)
            owner = np.repeat(prof, ucnt)
            real = c < nu
            for sl_, j in zip(slots[r[real]].tolist(), owner[c[real]].tolist()):
                members[int(slot_demand[sl_])].append(j)
                left[j] -= 1
    return members


def _repair(problem: TeamProblem, w: np.ndarray, act: np.ndarray,
            members: list[list[int]]) -> list[np.ndarray]:
    """Make every matched team feasible (else complete or drop it greedily),
    then top up free seats with positive-weight free members."""
    cap = problem.capacity.astype(np.int64)
    # repair: drop duplicates, complete with greedy from free capacity, else drop
    left = cap.copy()
    out = [np.zeros(0, dtype=np.int64) for _ in range(problem.n_demands)]
    teams = {d: list(dict.fromkeys(members[d])) for d in act}
    for d in act:
        for j in teams[d]:
            left[j] -= 1
    for d in act:
        t = teams[d]
        if t and team_feasible(problem, d, np.array(sorted(t))):
            continue
        for j in t:  # release, then complete greedily (keeping what we had)
            left[j] += 1
        keep = t[: int(problem.size_max[d])]
        new = greedy_fill(problem, w, int(d), left, keep) if keep else None
        if new is None:
            new = greedy_fill(problem, w, int(d), left, [])
        teams[d] = new or []
        for j in teams[d]:
            left[j] -= 1
    # top up free seats with positive-weight free members
    for d in act:
        t = teams[d]
        if not t:
            continue
        for j in t:
            left[j] += 1
        t = top_up(problem, w, int(d), left, t)
        for j in t:
            left[j] -= 1
        out[d] = np.array(sorted(t), dtype=np.int64)
    return out


def solve_lsa(problem: TeamProblem, opts: SolveOptions) -> Solution:
    t0 = time.perf_counter()
    problem.validate()
    w = pair_weights(problem, opts)
    active = individually_feasible(problem)
    members = lsa_construct(problem, w, active)
    st = SolveStats(solver="lsa", active_demands=int(active.sum()), status=SolveStatus.HEURISTIC)
    st.staffed = staffed_count(members)
    st.seconds = time.perf_counter() - t0
    return Solution(members, plan_value(problem, w, members, 0.0), None, st)
