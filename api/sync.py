"""Several service processes on one database: the shared index version and the shared embedding cache.

Every write that changes what recommendations see (profiles: ``crud.upsert_profiles``;
the active calibration: ``crud.calibration``) bumps the ``index`` counter of
``xfd.api.storage.shared_state`` in its own transaction.  Each process's
:class:`~xfd.api.engine.MatchEngine` is given a reader of that counter
(:func:`version_reader`) and refits when the number differs from the one its
index was fitted at.  It notices a change:

- on PostgreSQL, at once: :class:`VersionWatcher` ``LISTEN``s on the channel the
  bump ``NOTIFY``s at commit (a few milliseconds);
- in any case within ``XFD_SYNC_INTERVAL`` seconds (default 1): the watcher
  re-reads the counter at least that often, and a recommendation re-reads it
  when the last check is older than that (a batch run always re-reads it).

The bound: a change committed by one process is in every other process's
recommendations within ``sync_interval`` + the refit time (the lexical model
refits 1,000 profiles in about a second; new documents are embedded once, by
whichever process gets there first, and read from the shared cache by the
others; a refit re-reads only the profile rows whose ``updated_at`` moved,
:class:`ProfileReader`, and re-tokenises only new texts, ``xfd.matching.fit_memo``).  While the refit runs, a recommendation waits for it up to
``XFD_INDEX_STALE_WAIT`` seconds and then answers from the previous index; the
counter, not the notification, is the source of truth (a lost ``NOTIFY`` only
delays the change to the next poll).

The embedding cache: ``XFD_EMBEDDING_CACHE`` = ``auto`` (the database when the
URL is PostgreSQL, else the file), ``database`` or ``file``
(:func:`embedding_store`).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from xfd.api.crud.calibration import active_fusion
from xfd.api.crud.profiles import ID_CHUNK, profiles_query
from xfd.api.engine import MatchEngine, Scorer
from xfd.api.records import profile_from_row
from xfd.api.storage.db import make_session_factory
from xfd.api.storage.embeddings import DatabaseEmbeddingCache
from xfd.api.storage.models import ProfileRow
from xfd.api.storage.shared_state import INDEX, NOTIFY_CHANNEL, read_version
from xfd.matching.types import Profile

if TYPE_CHECKING:
    from xfd.api.settings import Settings
    from xfd.models.cache import EmbeddingStore

log = logging.getLogger("xfd.sync")

EMBEDDING_CACHES = ("auto", "database", "file")
#: Longest single LISTEN wait (seconds): how long ``VersionWatcher.close`` may wait for it.
LISTEN_SLICE = 0.5


def embedding_cache_kind(settings: Settings) -> str:
    """``"database"`` or ``"file"``: ``settings.embedding_cache`` with ``auto`` resolved by the URL's backend."""
    kind = settings.embedding_cache
    if kind == "auto":
        return "database" if make_url(settings.database_url).get_backend_name() == "postgresql" else "file"
    return kind


def embedding_store(settings: Settings, engine: Engine | None = None) -> EmbeddingStore | None:
    """The shared cache in the database (on ``engine``, else an engine of its own on the URL) when
    :func:`embedding_cache_kind` says so; None means the default file cache of ``xfd.models``.
    The database must be migrated (Alembic 0008)."""
    if embedding_cache_kind(settings) != "database":
        return None
    if engine is not None:
        return DatabaseEmbeddingCache(engine)
    return DatabaseEmbeddingCache.from_url(settings.database_url)


def version_reader(engine: Engine, name: str = INDEX) -> Callable[[], int]:
    """A function returning the committed value of counter ``name`` (one primary-key read)."""

    def read() -> int:
        with engine.connect() as conn:
            return read_version(conn, name)

    return read


class ProfileReader:
    """Every stored profile as a domain record, ordered by id — what ``crud.load_profiles`` returns —
    re-reading only the rows whose ``(id, updated_at)`` changed since the last call (one narrow
    query for all ids and stamps, then the changed rows by id).  Every profile write goes through the
    ORM (``crud.upsert_profiles``), which sets ``updated_at``; the records kept are the ones the
    fitted index holds anyway."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._known: dict[str, tuple[object, Profile]] = {}  # id -> (updated_at, record)
        self.rows_read = 0                                    # full rows read so far

    def __call__(self) -> list[Profile]:
        with self._sessions() as s:
            stamps = s.execute(profiles_query().with_only_columns(ProfileRow.id, ProfileRow.updated_at)).all()
            known = self._known
            changed = {pid: stamp for pid, stamp in stamps if pid not in known or known[pid][0] != stamp}
            ids = list(changed)
            fresh: dict[str, Profile] = {}
            for start in range(0, len(ids), ID_CHUNK):
                chunk = ids[start : start + ID_CHUNK]
                fresh.update((row.id, profile_from_row(row))
                             for row in s.scalars(select(ProfileRow).where(ProfileRow.id.in_(chunk))))
        self.rows_read += len(fresh)
        # the stamp of the first read is kept (a row rewritten in between is read again next time);
        # a changed row missing from the second read was deleted meanwhile
        entries = [(pid, (stamp, fresh[pid]) if pid in changed else known[pid]) for pid, stamp in stamps
                   if pid not in changed or pid in fresh]
        self._known = dict(entries)
        return [e[1] for _, e in entries]


class SyncedEngine(NamedTuple):
    """A process's index kept in step with the database: ``engine`` and the ``watcher`` to start
    beside it (``watcher.start()`` after ``engine.start()``, ``watcher.close()`` before ``engine.close()``)."""

    engine: MatchEngine
    watcher: VersionWatcher


def synced_engine(settings: Settings, db: Engine, factory: Callable[[], Scorer]) -> SyncedEngine:
    """A :class:`MatchEngine` fitted on ``db``'s profiles with its active calibration, refitting
    when the shared ``index`` version moves (checked as the module docstring says).

    Without the watcher started the engine still checks the version lazily (recommendations at most
    every ``settings.sync_interval`` s, batch runs every time), which is enough for a run worker.
    """
    sessions = make_session_factory(db)
    profiles = ProfileReader(sessions)

    def fusion() -> object | None:
        with sessions() as s:
            return active_fusion(s, settings.model)

    engine = MatchEngine(factory, profiles, model_name=settings.model, stale_wait=settings.index_stale_wait,
                         version=version_reader(db), load_fusion=fusion, check_interval=settings.sync_interval)
    return SyncedEngine(engine, VersionWatcher(db, engine.check_version, settings.sync_interval))


class WatchStats(NamedTuple):
    """What a watcher did: ``checks`` of the counter completed (each after its round's ``LISTEN``),
    ``notifications`` received, ``errors`` logged."""

    checks: int
    notifications: int
    errors: int


class VersionWatcher:
    """A daemon thread calling ``check`` (``MatchEngine.check_version``) every ``interval`` seconds and,
    on PostgreSQL with psycopg 3, as soon as a bump is notified.

    A failing check or a lost listening connection is logged and retried on the next round (the
    database may restart); ``close`` stops the thread within ``interval`` seconds (within
    ``LISTEN_SLICE`` seconds when listening).
    """

    def __init__(self, engine: Engine, check: Callable[[], object], interval: float = 1.0) -> None:
        if interval <= 0:
            raise ValueError(f"sync interval must be > 0 seconds, got {interval}")
        self.engine = engine
        self.interval = interval
        self._check = check
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listen = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._conn = None  # psycopg connection subscribed with LISTEN, when listening
        self._checks = self._notifications = self._errors = 0

    @property
    def stats(self) -> WatchStats:
        return WatchStats(self._checks, self._notifications, self._errors)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="xfd-version-watch", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None
        self._drop_listener()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._subscribe()
            try:
                self._check()
            except Exception as exc:  # noqa: BLE001  (thread boundary: log, retry next round)
                self._errors += 1
                log.warning("shared version check failed (retrying in %.1f s): %s", self.interval, exc)
            self._checks += 1  # counted once the round's read is over (and its LISTEN, if any, is up)
            self._wait()

    def _wait(self) -> None:
        """Sleep ``interval`` seconds, or less when a notification arrives or ``close`` is called
        (the LISTEN wait runs in slices of at most ``LISTEN_SLICE`` seconds, so ``close`` never
        waits a whole long interval for it)."""
        if not self._listen:
            self._stop.wait(self.interval)
            return
        conn = self._conn
        if conn is None:  # not subscribed this round (logged by _subscribe): poll
            self._stop.wait(self.interval)
            return
        try:
            deadline = time.monotonic() + self.interval
            while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if any(True for _ in conn.notifies(timeout=min(left, LISTEN_SLICE), stop_after=1)):
                    self._notifications += 1
                    return
        except Exception as exc:  # noqa: BLE001  (listening is an optimisation: fall back to the poll)
            self._listen_failed(exc)
            self._stop.wait(self.interval)

    def _subscribe(self) -> None:
        """``LISTEN`` before the counter is read, so a bump committed after that read is always
        notified (one committed before it is what the read sees); a failure is logged and the
        round polls."""
        if not self._listen or self._conn is not None:
            return
        try:
            self._listener()
        except Exception as exc:  # noqa: BLE001  (listening is an optimisation: fall back to the poll)
            self._listen_failed(exc)

    def _listen_failed(self, exc: Exception) -> None:
        """Count and log a lost or refused listening connection and drop it (the next round
        subscribes again)."""
        self._errors += 1
        log.warning("LISTEN %s failed, polling only until it reconnects: %s", NOTIFY_CHANNEL, exc)
        self._drop_listener()

    def _listener(self):  # noqa: ANN202  (psycopg.Connection)
        if self._conn is None:
            import psycopg  # noqa: PLC0415  (only with the psycopg driver)

            url = self.engine.url.set(drivername="postgresql")
            conn = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._conn = conn
        return self._conn

    def _drop_listener(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:  # noqa: BLE001  (closing a broken connection)
                log.debug("closing the LISTEN connection: %s", exc)
