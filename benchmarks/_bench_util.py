"""Helpers for ``benchmarks/run.py``: figures, the table/JSON writer, machine
facts, text sources, cache pre-filling and synthetic assignment inputs.

Nothing here times anything by itself; ``run.py`` does the measuring.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from xfd.matching.types import Demand, Document, Profile

SHARED_DATA = Path(os.environ.get("XFD_SHARED_DATA", ROOT.parent / "shared" / "data"))
CSL_FILE = "csl_benchmark_devtest_joined.csv"


# --------------------------------------------------------------------------- figures


@dataclass
class Figure:
    """One measured figure beside the limit it is compared with.

    ``value`` (in ``unit``) is xfd's figure; ``limit`` (same unit) is the
    reference measured in the same run (a bare encode, a numpy matmul…) or a
    fixed budget; ``ratio`` is the comparison the target is stated on
    (``ratio_of`` says how it was formed); ``target`` is the issue's target as
    text and ``ok`` whether it is met (None when there is no target).
    """

    name: str
    value: float | None
    unit: str
    limit_name: str = ""
    limit: float | None = None
    ratio: float | None = None
    ratio_of: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, (int, np.integer)) or (abs(x) >= 100 and float(x).is_integer()):
        return f"{int(x)}"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 0.01 or ax == 0:
        return f"{x:.3f}"
    return f"{x:.2e}"


def format_table(figures: Sequence[Figure]) -> str:
    """A plain-text table: figure | xfd | unit | limit (what) | ratio | target | ok."""
    head = ("figure", "xfd", "unit", "limit", "limit is", "ratio", "target", "ok")
    rows = [head]
    for f in figures:
        ok = "-" if f.ok is None else ("yes" if f.ok else "NO")
        rows.append((f.name, _fmt(f.value), f.unit, _fmt(f.limit), f.limit_name,
                     "-" if f.ratio is None else f"{f.ratio:.3f}", f.target or "-", ok))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    lines = []
    for k, r in enumerate(rows):
        lines.append(" | ".join(str(c).ljust(w) if i in (0, 2, 4, 6) else str(c).rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths))))
        if k == 0:
            lines.append("-+-".join("-" * w for w in widths))
    notes = [f"  [{i}] {f.name}: {f.note}" for i, f in enumerate(figures, 1) if f.note]
    if notes:
        lines.append("")
        lines.append("notes:")
        lines.extend(notes)
    return "\n".join(lines)


def write_json(path: str | os.PathLike, figures: Sequence[Figure], **meta) -> dict:
    """Write ``{"meta": …, "figures": [...]}`` (UTF-8, indented); returns what was written
    (numpy values as plain numbers/lists)."""
    doc = {"meta": meta, "figures": [asdict(f) for f in figures]}
    text = json.dumps(doc, ensure_ascii=False, indent=2, default=_json_default)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return json.loads(text)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --------------------------------------------------------------------------- machine


def loadavg() -> tuple[float, float, float]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())  # type: ignore[return-value]
    except OSError:  # pragma: no cover
        return (float("nan"),) * 3


def machine_info() -> dict:
    """CPU model, cores usable by this process, RAM, Python/torch versions, load average."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 1
    ram_gb = None
    try:
        import psutil

        ram_gb = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # pragma: no cover
        pass
    info = {"cpu": cpu, "cores": cores, "ram_gb": ram_gb, "python": platform.python_version(),
            "numpy": np.__version__, "loadavg": loadavg(),
            "utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    return info


def percentile(xs: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100, linear interpolation) of ``xs``."""
    return float(np.percentile(np.asarray(xs, dtype=float), q))


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds of wall time, result) of one call."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def peak_rss_mb() -> float:
    """This process's own peak resident set size so far, MiB.

    Linux: ``VmHWM`` of ``/proc/self/status`` (the high-water mark of this process's
    memory).  Not ``getrusage``'s ``ru_maxrss``: a process started by another inherits
    the parent's peak there at ``exec`` (a child of a 1.5 GiB parent reports >= 1.5 GiB
    before it allocates anything).  Elsewhere ``ru_maxrss``.
    """
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm / 1024
    return inherited_peak_rss_mb()


def inherited_peak_rss_mb() -> float:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in MiB: on Linux the larger of this process's
    peak and the peak of the process that started it (inherited at ``exec``)."""
    import resource

    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of ``/proc/self/status`` (None where there is none)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_mb() -> float:
    """Current resident set size, MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


# --------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class Source:
    """Real texts to build profiles and demands from: (title, text, discipline)."""

    name: str
    docs: tuple[tuple[str, str, str], ...]
    queries: tuple[tuple[str, str], ...]


def load_source(data: Path = SHARED_DATA) -> Source:
    """CSL abstracts from ../shared/data when present, else the demo corpus.

    The first 1,500 CSL rows make profile documents, the rest are demands, so
    a demand text is never a profile document.
    """
    path = data / CSL_FILE
    if path.is_file():
        with open(path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        docs = tuple((r["title"], r["abstract"], r["discipline"]) for r in rows[:1500])
        queries = tuple((r["title"], r["abstract"]) for r in rows[1500:])
        return Source(f"CSL abstracts ({path})", docs, queries)
    from xfd.matching.readers import read_demands, read_profiles

    demo = ROOT / "corpora" / "demo"
    profs = read_profiles(demo / "profiles.jsonl")
    docs = tuple((d.title, d.text, p.disciplines[0] if p.disciplines else "")
                 for p in profs for d in p.documents if d.text)
    dems = read_demands(demo / "demands.jsonl")
    return Source("demo corpus (corpora/demo; ../shared/data absent)", docs,
                  tuple((d.title, d.description) for d in dems))


def make_profiles(source: Source, n: int, docs_per_profile: int = 3, offset: int = 0,
                  unique: bool = True) -> list[Profile]:
    """``n`` teacher profiles of ``docs_per_profile`` real documents each.

    Documents cycle through ``source.docs``; with ``unique`` each copy gets a
    short marker (``（样本 j.i）``) so every document text is distinct (a real
    platform has no duplicate papers).  Each profile declares the discipline
    of its first document.
    """
    out = []
    m = len(source.docs)
    for j in range(n):
        docs = []
        for i in range(docs_per_profile):
            title, text, _ = source.docs[(offset + j * docs_per_profile + i) % m]
            if unique:
                text = f"{text}（样本 {j}.{i}）"
            docs.append(Document(text=text, title=title, kind="paper", year=2020 + (j + i) % 6))
        disc = source.docs[(offset + j * docs_per_profile) % m][2]
        out.append(Profile(id=f"P{j:05d}", kind="teacher", documents=tuple(docs),
                           disciplines=(disc,) if disc else ()))
    return out


def make_demands(source: Source, n: int, offset: int = 0, tag: str = "") -> list[Demand]:
    """``n`` demands from ``source.queries`` (cycled; ``tag`` makes repeats distinct)."""
    m = len(source.queries)
    out = []
    for i in range(n):
        title, text = source.queries[(offset + i) % m]
        if tag or (offset + i) >= m:
            text = f"{text}（{tag}{offset + i}）"
        out.append(Demand(id=f"Q{offset + i:05d}", title=title, description=text))
    return out


# --------------------------------------------------------------------------- cache


def text_sha(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def synthetic_vectors(texts: Sequence[str], base: np.ndarray, noise: float = 0.15, seed: int = 0) -> np.ndarray:
    """Unit vectors near real ones: row i = normalise(base[h_i] + noise · N(0, 1/dim)),
    where h_i is the text's hash modulo ``len(base)`` (deterministic per text)."""
    base = np.asarray(base, dtype=np.float32)
    n, dim = len(texts), base.shape[1]
    rng = np.random.default_rng(seed)
    pick = np.array([int.from_bytes(text_sha(t)[:8], "little") % len(base) for t in texts], dtype=np.int64)
    v = base[pick] + noise * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def prefill_cache(db_path: str | os.PathLike, encoder_name: str, role: str, texts: Sequence[str],
                  vectors: np.ndarray) -> int:
    """Store ``vectors`` under the real encoder's cache keys for ``texts``; returns rows written."""
    from xfd.models.cache import CacheKey, EmbeddingCache

    with EmbeddingCache(db_path) as cache:
        return cache.put_many((CacheKey(encoder_name, role, text_sha(t)), v) for t, v in zip(texts, vectors))


def copy_cache(src: str | os.PathLike, dst: str | os.PathLike) -> int:
    """Copy every vector of the SQLite cache ``src`` into ``dst`` (created if needed)."""
    from xfd.models.cache import CacheKey, EmbeddingCache

    con = sqlite3.connect(str(src))
    try:
        rows = con.execute("SELECT encoder, role, text_sha, vec FROM embeddings").fetchall()
    finally:
        con.close()
    with EmbeddingCache(dst) as cache:
        return cache.put_many((CacheKey(e, r, bytes(s)), np.frombuffer(v, dtype="<f4")) for e, r, s, v in rows)


def cache_dir_with_models(tmp: Path, real_cache: Path) -> Path:
    """A fresh XFD cache dir at ``tmp`` whose ``models/`` links to the real one
    (so the built e5 folder is reused while the embedding cache starts empty)."""
    tmp.mkdir(parents=True, exist_ok=True)
    link = tmp / "models"
    if not link.exists() and (real_cache / "models").is_dir():
        link.symlink_to((real_cache / "models").resolve(), target_is_directory=True)
    return tmp


# --------------------------------------------------------------------------- assignment inputs


def _jsonl(path: Path, records: Iterable[dict]) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


ASSIGN_TEXTS = ("assign_bench", "keywords")


def write_assign_instance(n_demands: int, folder: Path, seed: int = 0, texts: str = "assign_bench"
                          ) -> tuple[Path, Path]:
    """Profiles and demands JSONL for ``xfd assign``: ``n_demands`` demands, about
    three profiles per demand, from the solver's own generator
    (``matching.assign.synth.make_batch``: 12 disciplines, teachers with
    capacity 2 and conflicts, students of grades 1–4, current teams).

    The generator's texts are placeholders.  ``texts="assign_bench"`` (default)
    writes the records exactly as ``benchmarks/assign_bench.py --cli`` does
    (its ``profile_json``/``demand_json``: discipline names as keywords and
    text), so both scripts time the same instances; ``texts="keywords"`` gives
    each record a sample of its disciplines' keywords from
    ``corpora/disciplines.tsv`` instead (more varied lexical scores).
    """
    from xfd.matching.assign.synth import make_batch

    if texts not in ASSIGN_TEXTS:
        raise ValueError(f"texts must be one of {ASSIGN_TEXTS}, got {texts!r}")
    batch = make_batch(n_demands, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    pp, dp = folder / f"profiles_{n_demands}.jsonl", folder / f"demands_{n_demands}.jsonl"
    if texts == "assign_bench":
        here = str(Path(__file__).resolve().parent)
        if here not in sys.path:
            sys.path.insert(0, here)
        from assign_bench import demand_json, profile_json

        _jsonl(pp, (profile_json(p) for p in batch.profiles))
        _jsonl(dp, (demand_json(d) for d in batch.demands))
        return pp, dp
    from xfd.corpora import read_disciplines

    kw = {r.name: list(r.keywords) or [r.name] for r in read_disciplines()}
    rng = np.random.default_rng(seed)

    def words(discs: Sequence[str], k: int) -> list[str]:
        pool = [w for d in discs for w in kw.get(d, [d])]
        if not pool:
            return list(discs)
        return [pool[int(i)] for i in rng.choice(len(pool), size=min(k, len(pool)), replace=False)]

    profs = []
    for p in batch.profiles:
        rec = {"id": p.id, "kind": p.kind, "capacity": p.capacity, "disciplines": list(p.disciplines),
               "keywords": words(p.disciplines, 4), "conflicts": list(p.conflicts)}
        if p.kind == "student":
            rec.update(grade=p.grade, major=p.major, skills=words(p.disciplines, 2))
        profs.append(rec)
    dems = []
    for d in batch.demands:
        w = words(d.disciplines, 5)
        dems.append({"id": d.id, "enterprise": d.enterprise, "title": f"{d.title}：{w[0]}",
                     "description": "需要" + "、".join(w) + "方面的技术支持。",
                     "disciplines": list(d.disciplines), "team_size": list(d.team_size),
                     "current_team": list(d.current_team)})
    _jsonl(pp, profs)
    _jsonl(dp, dems)
    return pp, dp
