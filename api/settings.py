"""One settings object, read from ``XFD_*`` environment variables: the service,
the CLI and the migrations read their configuration here and pass values on
(the ``models`` and ``matching`` layers take them as parameters and read no
environment; only the model cache's ``XFD_CACHE_DIR`` / ``XFD_THREADS`` /
``XFD_BLAS_THREADS`` stay in ``xfd.models.loader``, and the last is validated here too).

``XFD_DATABASE_URL`` takes any SQLAlchemy URL (default: the SQLite file
``xfd.db`` in the current directory); ``XFD_MODEL`` picks the embedding model
by name (``e5-small``, ``lexical``) or folder.  Limits are in bytes or
characters as named.
"""
from __future__ import annotations

from typing import Literal

from limits import parse
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from xfd.models.loader import DEFAULT_MODEL


class Settings(BaseSettings):
    """Service configuration; every field can be set as ``XFD_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="XFD_", extra="ignore")

    database_url: str = "sqlite:///xfd.db"
    model: str = DEFAULT_MODEL
    #: numpy/scipy BLAS threads beside a torch model; read by ``xfd.models.loader`` when it loads
    #: one (so a library user gets it too), checked here so a bad value is a one-line error
    blas_threads: int = Field(default=1, ge=1, le=1024)
    #: run Alembic migrations to head when the app starts
    auto_migrate: bool = True
    #: largest request body on ordinary routes (bytes) -> 413 beyond it
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    #: largest body for profile uploads (``/v1/profiles``, ``/v1/profiles/import``)
    max_import_bytes: int = Field(default=32 << 20, ge=1024)
    #: most profiles accepted in one request
    max_profiles_per_request: int = Field(default=20_000, ge=1)
    #: longest recommendation list (``k``) a caller may ask for
    max_k: int = Field(default=200, ge=1)
    #: seconds a recommendation waits for a pending refit before answering from the previous index
    index_stale_wait: float = Field(default=10.0, ge=0.0, le=3600.0)
    #: most seconds before a change another process committed (profiles, the active calibration) is
    #: noticed here and the index refits (``xfd.api.sync``; on PostgreSQL a NOTIFY usually makes it ms)
    sync_interval: float = Field(default=1.0, gt=0.0, le=60.0)
    #: where embedding vectors are cached: ``database`` (table ``embeddings``, shared by every process on
    #: the database), ``file`` (``<XFD_CACHE_DIR>/embeddings.sqlite``, this machine), ``auto`` (default:
    #: ``database`` when ``database_url`` is PostgreSQL, else ``file``)
    embedding_cache: Literal["auto", "database", "file"] = "auto"
    #: solver name passed to ``matching.assign.plan_teams``
    solver: str = "exact"
    continuity_bonus: float = 0.1
    #: run worker processes ``xfd serve`` starts (each executes one queued run at a time; 0: none here,
    #: the runs wait for a worker of another instance or an ``xfd worker``)
    run_workers: int = Field(default=1, ge=0, le=8)
    #: seconds without a heartbeat after which a running run's worker counts as dead (the run is failed)
    run_lease: float = Field(default=60.0, ge=2.0, le=86_400.0)
    #: seconds between a worker's heartbeats (renewals of its lease); shorter than ``run_lease``
    run_heartbeat: float = Field(default=5.0, gt=0.0, le=3600.0)
    #: seconds an idle worker waits between looks at the queue
    run_poll: float = Field(default=1.0, gt=0.0, le=60.0)
    #: demands a run scores between two checks for a cancel
    run_score_batch: int = Field(default=200, ge=1, le=100_000)
    #: ``os.nice`` increment of a run worker process (0 = as the server; 19 = lowest priority)
    worker_nice: int = Field(default=10, ge=0, le=19)
    #: indicators, weights and grades of the performance report (TOML; None: corpora/performance.toml)
    performance_config: str | None = None
    #: largest sum of request header name + value lengths (bytes) -> 431 beyond it
    max_header_bytes: int = Field(default=64 << 10, ge=1024, le=16 << 20)
    #: longest request target, path + query string (bytes) -> 414 beyond it
    max_url_bytes: int = Field(default=16 << 10, ge=256, le=16 << 20)
    #: most body bytes read and discarded before a 413/414/431/429 answer, so clients that send
    #: the whole body first read the answer instead of a connection reset
    max_drain_bytes: int = Field(default=128 << 20, ge=0)
    #: requests per API key (else per browser session, else per client address); ``limits`` syntax
    rate_limit: str = "600/minute"
    #: all requests from one client address together
    rate_limit_per_address: str = "6000/minute"
    #: attempts per login name on the pages' /login
    rate_limit_login: str = "30/minute"
    #: where rate counters live: ``memory://`` (this process) or a ``limits`` storage URI such as ``redis://host``
    rate_limit_storage: str = "memory://"

    @field_validator("rate_limit", "rate_limit_per_address", "rate_limit_login")
    @classmethod
    def _known_rate(cls, value: str) -> str:
        try:
            parse(value)
        except ValueError:
            raise ValueError(f"无效的频率 invalid rate {value!r}: write it as '600/minute', '10/second' …") from None
        return value

    @field_validator("performance_config")
    @classmethod
    def _performance_config_loads(cls, value: str | None) -> str | None:
        """A bad report configuration stops the service at start (not a 500 per report)."""
        if value:
            from xfd.matching.performance import load_config  # noqa: PLC0415

            load_config(value)  # ConfigError is a ValueError naming the file and key
        return value

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> Settings:
        """A worker must beat several times per lease, else live runs would be failed as dead."""
        if self.run_heartbeat * 2 > self.run_lease:
            raise ValueError(f"XFD_RUN_HEARTBEAT ({self.run_heartbeat} s) must be at most half of "
                             f"XFD_RUN_LEASE ({self.run_lease} s)")
        return self


def child_environment(settings: Settings) -> dict[str, str]:
    """``XFD_DATABASE_URL`` and ``XFD_MODEL`` of ``settings``, for the environment of a child process
    (run workers, HTTP workers of ``xfd serve``) so its ``Settings()`` serves the same database and model."""
    return {"XFD_DATABASE_URL": settings.database_url, "XFD_MODEL": settings.model}
