"""Running the HTTP service, shared by ``xfd serve`` and ``xfd demo``.

Heavy imports (uvicorn, the app, torch through the scorer) happen inside the
functions so ``xfd --help`` stays fast.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from xfd.api.cli.common import CliError, check_port, err, migrated_engine

if TYPE_CHECKING:
    from collections.abc import Callable

    from xfd.api.engine import Scorer
    from xfd.api.settings import Settings


def load_scorer(model: str, embedding_cache: Callable[[], object | None] | None = None) -> Scorer:
    """The unfitted scorer of ``model`` (vectors cached in ``embedding_cache()``'s store when given, see
    ``xfd.api.sync.embedding_store``); an unknown or unloadable model is a CliError."""
    from xfd.api.engine import default_scorer_factory  # noqa: PLC0415
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415

    err(f"加载模型 loading model {model} …")
    try:
        return default_scorer_factory(model, embedding_cache)()
    except UnknownNameError as exc:
        raise CliError(f"--model / XFD_MODEL: {exc}") from None
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise CliError(f"模型无法加载 cannot load model {model!r}: {exc}") from None


def run_server(settings: Settings, host: str, port: int) -> int:
    """Migrate, load the model once, then run uvicorn until interrupted."""
    import uvicorn  # noqa: PLC0415

    from xfd.api.app import create_app  # noqa: PLC0415
    from xfd.api.http_limits import uvicorn_options  # noqa: PLC0415
    from xfd.api.sync import embedding_store  # noqa: PLC0415

    check_port(host, port)
    migrated_engine(settings.database_url).dispose()
    scorer = load_scorer(settings.model, lambda: embedding_store(settings))  # XFD_EMBEDDING_CACHE
    app = create_app(settings, scorer_factory=lambda: scorer)
    err(f"服务地址 serving on http://{host}:{port}  (API 文档 docs: http://{host}:{port}/docs)")
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5,
                **uvicorn_options(settings.max_header_bytes))  # h11, header buffer for the 431 (xfd.api.http_limits)
    return 0
