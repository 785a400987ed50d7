"""Time ``xfd score`` cold and warm on 400 demands × 500 profiles of 3 abstracts.

    python benchmarks/score_speed.py [--demands 400] [--profiles 500] [--model e5-small]

Builds the files from the CSL abstracts in ../shared/data (profiles of 3
abstracts, other abstracts as demands) into a temp dir, then runs the real
command twice with a fresh embedding cache (the built model is reused, linked
from the normal cache dir): once cold, once warm.  Prints wall times.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.datasets import SHARED_DATA


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demands", type=int, default=400)
    ap.add_argument("--profiles", type=int, default=500)
    ap.add_argument("--model", default="e5-small")
    args = ap.parse_args(argv)
    src = SHARED_DATA / "csl_benchmark_devtest_joined.csv"
    if not src.is_file():
        print(f"skipped: no data at {SHARED_DATA}")
        return 0
    rows = list(csv.DictReader(open(src, encoding="utf-8")))
    random.Random(0).shuffle(rows)
    need = args.profiles * 3 + args.demands
    if len(rows) < need:
        print(f"only {len(rows)} abstracts, need {need}")
        return 1
    from xfd.models.loader import default_cache_dir

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        with open(t / "p.jsonl", "w", encoding="utf-8") as fh:
            for i in range(args.profiles):
                docs = [{"kind": "paper", "title": r["title"], "text": r["abstract"]} for r in rows[3 * i : 3 * i + 3]]
                fh.write(json.dumps({"id": f"P{i:04d}", "documents": docs}, ensure_ascii=False) + "\n")
        with open(t / "d.jsonl", "w", encoding="utf-8") as fh:
            for r in rows[args.profiles * 3 : need]:
                fh.write(json.dumps({"id": r["id"], "title": r["title"], "description": r["abstract"]}, ensure_ascii=False) + "\n")
        cache = t / "cache"
        cache.mkdir()
        (cache / "models").symlink_to(default_cache_dir() / "models")
        env = {**os.environ, "XFD_CACHE_DIR": str(cache)}
        cmd = [sys.executable, "-m", "xfd.api.cli", "score", "--profiles", str(t / "p.jsonl"), "--demands",
               str(t / "d.jsonl"), "--out", str(t / "s.jsonl"), "--model", args.model]
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            r = subprocess.run(cmd, env=env, cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True)
            wall = time.perf_counter() - t0
            if r.returncode:
                print(r.stderr[-2000:])
                return 1
            print(f"{label}: {args.demands} demands × {args.profiles} profiles (3 abstracts each), "
                  f"model {args.model}: {wall:.1f} s", flush=True)
        os.system("uptime")
    return 0


if __name__ == "__main__":
    sys.exit(main())
