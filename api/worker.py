"""Run worker processes: ``xfd worker`` and the workers ``xfd serve`` starts beside the HTTP server.

A worker process executes queued assignment runs (``xfd.api.runs.RunWorker``) with its
own index, built the way the service builds its one (``xfd.api.sync.synced_engine``: the
same model, the profiles and the active calibration of the database, refit when the
shared version moves; vectors from the shared embedding cache when configured), so the
HTTP processes keep their cores for recommendations:

- it runs at a lower CPU priority (``os.nice(settings.worker_nice)``, default +10);
- BLAS / OpenMP / torch use one thread (``THREAD_VARIABLES`` = 1 in its environment and
  ``threadpoolctl`` for libraries already loaded) and HiGHS one thread;
- SIGTERM / SIGINT stop it: an idle worker exits at once, a busy one at the next phase
  boundary (the run is failed with ``SHUTDOWN``; a run whose worker was killed outright is
  failed by the lease).
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from xfd.api.runs import Planner, RunWorker, default_planner
from xfd.api.settings import child_environment

if TYPE_CHECKING:
    from xfd.api.settings import Settings

log = logging.getLogger("xfd.worker")

#: thread-count variables set to 1 for a worker (``XFD_THREADS``: ``xfd.models.loader``'s torch threads)
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "XFD_THREADS")


def worker_environment(base: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """The environment of a worker subprocess: ``base`` with the thread variables at 1 and
    ``XFD_DATABASE_URL`` / ``XFD_MODEL`` from ``settings`` (so it serves the same database and model)."""
    env = dict(base)
    env.update({name: "1" for name in THREAD_VARIABLES})
    env.update(child_environment(settings))
    return env


def make_quiet(nice: int) -> int:
    """Lower this process's CPU priority by ``nice`` (0..19) and limit it to one compute thread
    (BLAS/OpenMP through ``threadpoolctl``, torch, HiGHS); returns the new niceness."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from xfd.matching.assign import highs  # noqa: PLC0415

    for name in THREAD_VARIABLES:
        os.environ[name] = "1"  # libraries loaded later (torch reads XFD_THREADS when the model loads)
    threadpool_limits(1)
    highs.set_threads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    return os.nice(nice)


class WorkerProcess:
    """One worker's life in this process: ``prepare`` (database, model, index) then ``serve``.

    ``isolate``: each plan is solved in a forked child that a cancel kills (``RunWorker(isolate=)``)."""

    def __init__(self, settings: Settings, planner: Planner = default_planner, isolate: bool = True) -> None:
        from xfd.api.engine import default_scorer_factory  # noqa: PLC0415
        from xfd.api.storage.db import make_engine, make_session_factory  # noqa: PLC0415
        from xfd.api.sync import embedding_store, synced_engine  # noqa: PLC0415

        self.settings = settings
        self.db = make_engine(settings.database_url)
        sessions = make_session_factory(self.db)
        factory = default_scorer_factory(settings.model, lambda: embedding_store(settings, self.db))
        self.engine = synced_engine(settings, self.db, factory).engine  # versions read per batch run
        self.worker = RunWorker(sessions, self.engine, planner, lease=settings.run_lease,
                                heartbeat=settings.run_heartbeat, poll=settings.run_poll,
                                score_batch=settings.run_score_batch, isolate=isolate)
        self.stop = self.worker.stopping  # set by stop_on_signals: stops at the next phase boundary

    def prepare(self) -> None:
        """Load the model and fit the index in the background (so the first run does not wait for both)."""
        self.engine.start()

    def serve(self, once: bool = False) -> int:
        """Execute runs until stopped (``once``: until the queue is empty); returns how many ran."""
        if once:
            while not self.stop.is_set() and self.worker.run_once() is not None:
                pass
        else:
            self.worker.serve()
        return len(self.worker.executed)

    def close(self) -> None:
        self.engine.close()
        self.db.dispose()


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (the main thread only)."""

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


class WorkerPool:
    """The worker subprocesses of one ``xfd serve``: ``python -m xfd.api.cli worker``, started with
    ``worker_environment``; one that exits while the pool runs is started again (after 2 s)."""

    def __init__(self, settings: Settings, count: int, grace: float = 10.0) -> None:
        self.settings, self.count, self.grace = settings, count, grace
        self.procs: list[subprocess.Popen] = []
        self._closing = threading.Event()
        self._watch: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "xfd.api.cli", "worker", "--parent", str(os.getpid())]
        return subprocess.Popen(cmd, env=worker_environment(os.environ, self.settings))

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]
        if self.count:
            self._watch = threading.Thread(target=self._keep_alive, name="xfd-worker-pool", daemon=True)
            self._watch.start()

    def _keep_alive(self) -> None:
        while not self._closing.wait(2.0):
            for i, proc in enumerate(self.procs):
                if proc.poll() is not None and not self._closing.is_set():
                    log.warning("run worker %d exited (code %s); starting it again", proc.pid, proc.returncode)
                    self.procs[i] = self._spawn()

    def close(self) -> None:
        """SIGTERM every worker, wait ``grace`` seconds, then SIGKILL the ones still running."""
        self._closing.set()
        if self._watch is not None:
            self._watch.join(timeout=5)
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
