"""benchmarks/instances.py helpers: profile bodies, CPU seconds (the two-server run itself is a benchmark)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load():
    spec = importlib.util.spec_from_file_location("xfd_bench_instances", BENCH / "instances.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_demo_profiles_are_distinct_ids_without_members() -> None:
    inst = _load()
    body = inst.demo_profiles(80)
    assert len({p["id"] for p in body}) == 80 and not any("members" in p for p in body)


def test_cpu_seconds_grow_with_work() -> None:
    inst = _load()
    before = inst.cpu_seconds(os.getpid())
    t0 = time.process_time()
    while time.process_time() - t0 < 0.3:
        sum(range(1000))
    assert inst.cpu_seconds(os.getpid()) - before >= 0.2


def test_no_memo_shim_turns_the_engine_memo_off() -> None:
    inst = _load()
    probe = inst.NO_MEMO.replace("runpy.run_module('xfd.api.cli', run_name='__main__')",
                                 "print(e.MatchEngine(None, list).memo)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
