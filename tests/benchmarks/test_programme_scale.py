"""Smoke test of benchmarks/programme_scale.py on a tiny programme: the database it
builds through ``xfd.api.crud`` has what the figures read (structure only, no timing)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from sqlalchemy import func, select

from xfd.api.crud import service as crud_service
from xfd.api.storage.db import make_engine, make_session_factory
from xfd.api.storage.models import DemandRow

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load():
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("xfd_bench_programme_scale", BENCH / "programme_scale.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_tiny_programme_has_two_semesters_of_service_records(tmp_path: Path) -> None:
    bench = _load()
    url = f"sqlite:///{tmp_path / 'p.db'}"
    built = bench.build(url, people=30, enterprises=6, teams=4, audit=3)
    assert built["counts"]["teams"] == 8 and built["counts"]["demands"] == 12
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        statuses = dict(s.execute(select(DemandRow.status, func.count()).group_by(DemandRow.status)).all())
        spring = crud_service.performance_rows(s, bench.SPRING, "county")
        autumn = crud_service.performance_rows(s, bench.AUTUMN, "team")
    engine.dispose()
    assert statuses.get("submitted", 0) > 0 and statuses.get("in_service", 0) > 0 and statuses.get("solved", 0) > 0
    assert sum(r["demands"] for r in spring) == 4 and len(autumn) == 4
    assert built["office_key"] and built["admin_key"]
