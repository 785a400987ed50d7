"""Running the HTTP service (and its run worker processes), shared by ``xfd serve`` and ``xfd demo``.

Heavy imports (uvicorn, the app, torch through the scorer) happen inside the
functions so ``xfd --help`` stays fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from xfd.api.cli.common import CliError, check_port, err, migrated_engine
from xfd.api.storage.db import is_in_memory

if TYPE_CHECKING:
    from collections.abc import Callable

    from xfd.api.engine import Scorer
    from xfd.api.settings import Settings


def load_scorer(model: str, embedding_cache: Callable[[], object | None] | None = None) -> Scorer:
    """The unfitted scorer of ``model`` (vectors cached in ``embedding_cache()``'s store when given, see
    ``xfd.api.sync.embedding_store``); an unknown or unloadable model is a CliError."""
    from xfd.api.engine import default_scorer_factory  # noqa: PLC0415
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415

    check_model_name(model)  # before the progress line: an unknown model is the only line
    err(f"加载模型 loading model {model} …")
    try:
        return default_scorer_factory(model, embedding_cache)()
    except UnknownNameError as exc:
        raise CliError(f"--model / XFD_MODEL: {exc}") from None
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise CliError(f"模型无法加载 cannot load model {model!r}: {exc}") from None


def app_from_environment():  # noqa: ANN201  (FastAPI; uvicorn's factory for ``--workers N``)
    """The app of one HTTP worker process of ``xfd serve --workers N``: ``Settings()`` from the
    environment ``run_server`` exported (``XFD_DATABASE_URL``, ``XFD_MODEL``, …); the runs go to
    the run worker processes, so ``run_threads=0``.  Every process loads the model itself and
    keeps its index in step with the others through the shared version counter (``xfd.api.sync``)."""
    from xfd.api.app import create_app  # noqa: PLC0415
    from xfd.api.settings import Settings  # noqa: PLC0415

    return create_app(Settings(), run_threads=0)


def check_model_name(model: str) -> None:
    """A CliError for a model that is neither a known name nor a folder (without loading it)."""
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415
    from xfd.models.pipeline import check_model  # noqa: PLC0415

    try:
        check_model(model)
    except UnknownNameError as exc:
        raise CliError(f"--model / XFD_MODEL: {exc}") from None


def run_server(settings: Settings, host: str, port: int, workers: int = 1) -> int:
    """Migrate, then run uvicorn until interrupted, beside ``settings.run_workers`` run worker
    processes (``xfd.api.worker.WorkerPool``).  ``workers`` = 1: one HTTP process with the model
    loaded here once; more: that many HTTP processes (uvicorn ``workers``), each building its app
    from the environment (``app_from_environment``)."""
    import os  # noqa: PLC0415

    import uvicorn  # noqa: PLC0415

    from xfd.api.app import create_app  # noqa: PLC0415
    from xfd.api.http_limits import uvicorn_options  # noqa: PLC0415
    from xfd.api.settings import child_environment  # noqa: PLC0415
    from xfd.api.sync import embedding_store  # noqa: PLC0415
    from xfd.api.worker import WorkerPool  # noqa: PLC0415

    check_port(host, port)
    if is_in_memory(settings.database_url):
        raise CliError("内存数据库不能在进程间共享 an in-memory SQLite database cannot be shared with the HTTP and "
                       "run worker processes: use a file (sqlite:///xfd.db) or PostgreSQL")
    migrated_engine(settings.database_url).dispose()
    options = {"host": host, "port": port, "log_level": "info", "timeout_graceful_shutdown": 5,
               **uvicorn_options(settings.max_header_bytes)}  # h11, header buffer for the 431 (xfd.api.http_limits)
    if workers > 1:
        check_model_name(settings.model)
        os.environ.update(child_environment(settings))  # each HTTP process reads Settings() from here
        app: object = "xfd.api.cli.server:app_from_environment"
        options.update(factory=True, workers=workers)
    else:
        scorer = load_scorer(settings.model, lambda: embedding_store(settings))  # XFD_EMBEDDING_CACHE
        app = create_app(settings, scorer_factory=lambda: scorer, run_threads=0)
    pool = WorkerPool(settings, settings.run_workers)
    pool.start()
    err(f"服务地址 serving on http://{host}:{port}  (API 文档 docs: http://{host}:{port}/docs); "
        f"{workers} HTTP 进程 process(es), {settings.run_workers} 批量任务进程 run worker(s)")
    try:
        uvicorn.run(app, **options)
    finally:
        pool.close()
    return 0
