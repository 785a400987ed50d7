"""``xfd worker``: a run worker process — executes queued assignment runs from the database.

``xfd serve`` starts ``XFD_RUN_WORKERS`` (default 1) of these itself; start more (on this
or another machine, same ``XFD_DATABASE_URL``) for more runs at once.  Each claims one run at
a time (exactly once across every instance), at a lower CPU priority and with one compute thread.
"""
from __future__ import annotations

import argparse
import logging
import os
import threading

from xfd.api.cli import server
from xfd.api.cli.common import CliError, Subparsers, add_database_argument, err, load_settings, migrated_engine


def _watch_parent(stop: threading.Event, parent: int) -> None:
    """Set ``stop`` once ``parent`` is no longer this process's parent (it exited; this one was
    re-parented) — also when that happened before this check started."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def run(args: argparse.Namespace) -> int:
    from xfd.api.worker import WorkerProcess, make_quiet, stop_on_signals  # noqa: PLC0415

    settings = load_settings(args.database_url, args.model)
    if args.nice is not None:
        if not 0 <= args.nice <= 19:
            raise CliError(f"--nice 应为 0–19 must be 0..19, got {args.nice}")
        settings = settings.model_copy(update={"worker_nice": args.nice})
    server.check_model_name(settings.model)
    migrated_engine(settings.database_url).dispose()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s xfd-worker[%(process)d] %(levelname)s %(message)s")
    niceness = make_quiet(settings.worker_nice)
    worker = WorkerProcess(settings)
    stop_on_signals(worker.stop)
    if args.parent is not None:
        threading.Thread(target=_watch_parent, args=(worker.stop, args.parent), daemon=True).start()
    err(f"批量任务进程 run worker {worker.worker.owner} (nice {niceness}, model {settings.model})")
    try:
        worker.prepare()
        n = worker.serve(once=args.once)
    finally:
        worker.close()
    err(f"批量任务进程结束 run worker stopped after {n} run(s)")
    return 0


def register(sub: Subparsers) -> None:
    p = sub.add_parser("worker", help="执行批量组队任务 run worker: execute queued assignment runs")
    add_database_argument(p)
    p.add_argument("--model", default=None, help="embedding model name or folder (default: $XFD_MODEL or e5-small)")
    p.add_argument("--nice", type=int, default=None,
                   help="CPU priority increment 0..19 (default: $XFD_WORKER_NICE or 10)")
    p.add_argument("--once", action="store_true", help="exit when the queue is empty instead of waiting for runs")
    p.add_argument("--parent", type=int, default=None, metavar="PID",
                   help="stop when process PID (the xfd serve that started this worker) exits")
    p.set_defaults(func=run)
