"""Alembic environment: uses a connection handed over by ``xfd.api.storage.db``
(``config.attributes["connection"]``) or else ``sqlalchemy.url`` /
``xfd.api.settings.Settings().database_url`` (``XFD_DATABASE_URL``)."""
from __future__ import annotations

from alembic import context

from xfd.api.settings import Settings
from xfd.api.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    from xfd.api.storage.db import make_engine  # noqa: PLC0415

    engine = make_engine(_url())
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
