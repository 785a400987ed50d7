"""Time ``xfd score --top-k 0`` (the full matrix) on a generated 1,000-demand instance.

    python benchmarks/score_matrix.py [--demands 1000] [--model lexical] [--reps 1]

The instance is the solver benchmark's (``_bench_util.write_assign_instance``
with ``texts="keywords"``: about three profiles per demand, 12 disciplines,
keyword texts), so 1,000 demands × 3,000 profiles.  Each repetition runs the
real command in a new process, as a user does, with the default ``--evidence``
(the first 10 matches of each demand explained, the rest ``"evidence": []``).
With a neural model, one unmeasured run first warms the embedding cache
(the normal cache dir), so the figure is the warm one.  Prints wall and CPU
seconds of each run, the load average, and the limit it is compared with
(issue 13: lexical ≤ 60 s, e5 warm ≤ 120 s).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._bench_util import loadavg, write_assign_instance

LIMIT_S = {"lexical": 60.0}
NEURAL_LIMIT_S = 120.0


def run_once(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run; exits on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"xfd score failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demands", type=int, default=1000)
    ap.add_argument("--model", default="lexical")
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args(argv)
    limit = LIMIT_S.get(args.model, NEURAL_LIMIT_S)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pp, dp = write_assign_instance(args.demands, work, texts="keywords")
        n_prof = sum(1 for _ in open(pp, encoding="utf-8"))
        out = work / "scores.jsonl"
        cmd = [sys.executable, "-m", "xfd.api.cli", "score", "--profiles", str(pp), "--demands", str(dp),
               "--out", str(out), "--top-k", "0", "--model", args.model]
        if args.model != "lexical":
            wall, cpu = run_once(cmd)
            print(f"warm-up (fills the embedding cache): {wall:.1f} s wall, {cpu:.1f} s CPU", flush=True)
        for r in range(args.reps):
            load = loadavg()[0]
            wall, cpu = run_once(cmd)
            size = os.path.getsize(out) / 2**20
            ok = "ok" if wall <= limit else "OVER"
            print(f"xfd score --top-k 0 --model {args.model}, {args.demands} demands × {n_prof} profiles "
                  f"({args.demands * n_prof / 1e6:.1f} M pairs, {size:.0f} MiB): {wall:.1f} s wall, {cpu:.1f} s CPU "
                  f"[limit {limit:.0f} s: {ok}] (load before {load:.1f}, rep {r + 1})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
