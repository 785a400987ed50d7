"""The installed distribution claims one import name, ``xfd``: no top-level
``api``, ``models``, ``matching`` or ``corpora`` package, so it can sit beside
any other package using those common names.  Builds a real wheel from a copy
of the sources (~10-30 s; runs in CI with the other tests, not ``slow``)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "matching", "models", "api", "corpora")


def _build_wheel(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.db"))
        else:
            shutil.copy2(path, src / name)
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out), str(src)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("xfd-*.whl")
    return wheel


def test_wheel_installs_only_the_xfd_namespace(tmp_path):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith((".dist-info", ".data"))}
    assert top == {"xfd"}, sorted(top)
    # the packages pyproject.toml maps, their data files, and nothing of tests/ or benchmarks/
    for expected in ("xfd/matching/types.py", "xfd/api/app.py", "xfd/api/cli/__main__.py", "xfd/api/crud/__init__.py",
                     "xfd/models/pipeline.py", "xfd/corpora/disciplines.tsv", "xfd/corpora/e5_adapter.npz", "xfd/corpora/demo/demands.jsonl",
                     "xfd/corpora/demo/source/disciplines.json", "xfd/api/alembic.ini", "xfd/api/alembic/env.py"):
        assert expected in names, expected
    # every folder with Python code under the four sources is shipped (a sub-package missing
    # from [tool.setuptools] packages would be left out silently)
    shipped = {n.rsplit("/", 1)[0] for n in names if n.endswith(".py")}
    for folder in ("matching", "models", "api", "corpora"):
        for init in (ROOT / folder).rglob("*.py"):
            rel = init.parent.relative_to(ROOT).as_posix()
            if "__pycache__" in rel:
                continue
            assert f"xfd/{rel}" in shipped, f"{rel} is not in the wheel (add it to [tool.setuptools] packages)"
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    with zipfile.ZipFile(wheel) as zf:
        assert "xfd = xfd.api.cli:main" in zf.read(entry).decode()
