"""``xfd index``: encode a profiles file's passages into the embedding cache, locally or on Ray.

Afterwards ``xfd score`` / ``xfd serve`` with the same model and cache find
every document vector there and encode only the demands.  The texts, the
cache and its keys are those of the scorer ``xfd score`` builds
(``xfd.models.bulk``); only the encoding runs elsewhere with ``--engine ray``:

- no ``--ray-address`` and no ``$RAY_ADDRESS``: a Ray cluster on this machine
  for the run (``--workers`` actors, default one per CPU);
- ``--ray-address ray://head:10001`` (Ray Client) or ``head:6379`` / ``auto``
  (this machine is a node): that cluster.  Every node needs ``xfd`` installed
  and the model (``e5-small`` is built on a node's first use; a folder model
  at the same path); the vectors come back here and this process writes them.

The vectors go where the service reads them: the database's table when
``XFD_EMBEDDING_CACHE`` says so (``auto``, the default: when ``--database-url`` /
``XFD_DATABASE_URL`` is PostgreSQL), else the file ``<XFD_CACHE_DIR>/embeddings.sqlite``
that ``xfd score`` reads.

Output (stdout): one line per encoder, ``<label> <encoder>: N texts, C cached,
E encoded in S s (R texts/s) after T s setup`` (setup: workers loading the
model, cache lookups); the progress bar goes to stderr.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from xfd.api.cli import scoring
from xfd.api.cli.common import CliError, Subparsers, add_database_argument, err, load_settings, migrated_engine, progress

DESCRIPTION = ("把档案文件中评分要编码的文本预先编码进向量缓存，之后 xfd score / xfd serve 不再编码它们。\n"
               "Encode the passages xfd score would encode for a profiles file into the embedding cache "
               "(skipping cached ones), in this process or on a Ray cluster.")
EPILOG = """examples:
  xfd index --profiles P.jsonl                                   # this process
  xfd index --profiles P.jsonl --engine ray --workers 2          # a Ray on this machine, 2 actors
  xfd index --profiles P.jsonl --engine ray --ray-address ray://head:10001
      every node needs xfd installed (pip install "xfd[ray]") and the model (e5-small is built on a
      node's first use; a folder model must exist at the same path); this process writes the cache
  RAY_ADDRESS=ray://head:10001 xfd index --profiles P.jsonl --engine ray
      a cluster with token authentication (Ray's default) also needs RAY_AUTH_MODE=token here and its
      token (RAY_AUTH_TOKEN, or ~/.ray/auth_token of the head)
"""


@contextmanager
def _embedding_store(settings: Any) -> Iterator[Any]:
    """The database's embedding cache when ``XFD_EMBEDDING_CACHE`` (``auto``: a PostgreSQL
    ``XFD_DATABASE_URL``) says so, on the migrated database; else None (the file cache)."""
    from xfd.api.sync import embedding_cache_kind, embedding_store  # noqa: PLC0415

    if embedding_cache_kind(settings) != "database":
        yield None
        return
    engine = migrated_engine(settings.database_url)
    try:
        yield embedding_store(settings, engine)
    finally:
        engine.dispose()


def _scorer(model: str, store: Any) -> Any:
    """The unfitted scorer ``xfd score`` / ``xfd serve`` fit for ``model`` (same texts, cache and keys)."""
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415
    from xfd.models.pipeline import LEXICAL, make_scorer  # noqa: PLC0415

    if model == LEXICAL:
        raise CliError(f"--model {LEXICAL}: 没有向量可编码 has no vectors to encode")
    try:
        return make_scorer(model, embedding_cache=store)
    except UnknownNameError as exc:
        raise CliError(str(exc)) from None


def _check(args: argparse.Namespace) -> None:
    from xfd.matching.registry import UnknownNameError  # noqa: PLC0415
    from xfd.models.bulk import check_engine, import_ray, probe_address  # noqa: PLC0415

    try:
        check_engine(args.engine)
    except UnknownNameError as exc:
        raise CliError(f"--engine: {exc}") from None
    if args.batch < 1:
        raise CliError(f"--batch 必须 >= 1 must be >= 1, got {args.batch}")
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers 必须 >= 1 must be >= 1, got {args.workers}")
    if args.worker_cpus < 1:
        raise CliError(f"--worker-cpus 必须 >= 1 must be >= 1, got {args.worker_cpus}")
    if args.engine == "local" and (args.ray_address or args.workers is not None):
        raise CliError("--ray-address / --workers 需要 need --engine ray")
    if args.engine == "ray":  # before the model loads: a missing extra or a wrong address fails at once
        try:
            import_ray()
            if _address(args):
                probe_address(_address(args))
        except (ImportError, ConnectionError) as exc:
            raise CliError(str(exc)) from None


def _address(args: argparse.Namespace) -> str | None:
    """``--ray-address``, else ``$RAY_ADDRESS`` (Ray's own variable), else None (a Ray on this machine)."""
    return args.ray_address or os.environ.get("RAY_ADDRESS") or None


def _run_engine(args: argparse.Namespace, model: str, jobs: list, batch: int) -> list:
    """Encode every job's missing texts with the chosen engine; returns the IndexReports."""
    from xfd.models import bulk  # noqa: PLC0415

    def one(job: Any, engine: Any) -> Any:
        with progress(f"编码 encoding {job.label}", len(job.texts)) as bar:
            return bulk.index_passages(job, engine, batch, bar.update)

    if args.engine == "local":
        return [one(job, bulk.local_engine(job)) for job in jobs]
    factories = bulk.worker_factories(model)
    address = _address(args)
    local_cpus = None if address or args.workers is None else args.workers * args.worker_cpus
    reports = []
    with bulk.ray_connection(address, local_cpus):
        for job in jobs:
            with bulk.RayEngine(factories[job.label], args.workers, args.worker_cpus) as engine:
                reports.append(one(job, engine))
    return reports


def run(args: argparse.Namespace) -> int:
    from xfd.matching.readers import read_profiles  # noqa: PLC0415
    from xfd.models import bulk  # noqa: PLC0415

    _check(args)
    profiles = scoring.read_records(read_profiles, args.profiles)
    if not profiles:
        raise CliError(f"{args.profiles}: 没有人员档案 no profiles")
    settings = load_settings(args.database_url, args.model)
    with _embedding_store(settings) as store:
        jobs = bulk.scorer_passages(_scorer(settings.model, store), profiles)
        where = getattr(bulk.cached_parts(jobs[0].encoder).cache, "path", "?") if jobs else "-"
        err(f"xfd: 正在编码 encoding the passages of {len(profiles)} 份档案 profiles ({args.engine}) -> {where} …")
        try:
            reports = _run_engine(args, settings.model, jobs, args.batch)
        except (ValueError, ConnectionError, bulk.WorkerError) as exc:
            raise CliError(" ".join(str(exc).split())) from None
    for r in reports:
        print(f"{r.label} {r.encoder}: {r.texts} texts, {r.cached} cached, {r.encoded} encoded "
              f"in {r.seconds:.1f} s ({r.rate:.1f} texts/s) after {r.setup:.1f} s setup")
    return 0


def register(sub: Subparsers) -> None:
    from xfd.models.bulk import DEFAULT_BATCH, ENGINES  # noqa: PLC0415

    p = sub.add_parser("index", help="把档案文本编码进向量缓存 encode the profiles' passages into the embedding cache",
                       description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profiles", required=True, help="profiles file (.jsonl/.csv/.xlsx)")
    p.add_argument("--model", default=None, help="e5-small (default: $XFD_MODEL), minilm, or a SentenceTransformer folder")
    p.add_argument("--engine", default="local", metavar="|".join(ENGINES), help=f"{' | '.join(ENGINES)} (default local: this process)")
    p.add_argument("--ray-address", default=None, metavar="ADDRESS",
                   help="Ray 集群地址 Ray cluster (ray://head:10001, head:6379, auto); default $RAY_ADDRESS, "
                        "else a Ray on this machine for the run")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="Ray actors, each loads the model once (default: cluster CPUs / --worker-cpus)")
    p.add_argument("--worker-cpus", type=int, default=1, metavar="C", help="CPUs (torch threads) per Ray actor (default 1)")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="N",
                   help=f"texts per batch: one task, one cache write (default {DEFAULT_BATCH})")
    add_database_argument(p)  # with XFD_EMBEDDING_CACHE=database (auto: a PostgreSQL URL) the vectors go there
    p.set_defaults(func=run)
