"""Database engine, sessions and migrations.

SQLite by default (one machine), PostgreSQL by `DATABASE_URL`. The schema is only
ever built by the Alembic migrations in `bot/migrations`, in tests as in production.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT_SECONDS = 5  # PostgreSQL: see make_engine
IDS_IN_BULK_FROM = 20  # new rows of one table in one flush; fewer are cheaper as they are


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy's default driver is psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, **kwargs) -> sa.Engine:
    """An engine with the pragmas several local processes need to share one SQLite file."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = sa.create_engine(url, connect_args={"timeout": 30}, hide_parameters=True,
                                  **kwargs)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        sa.event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # A database that does not answer (a dropped route, a firewall) must fail a request
    # within Twilio's 15 s, not after the system's two-minute TCP timeout: the caller then
    # hears the safe answer and a text is kept in Redis. A connect_timeout in the URL wins.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, **kwargs.pop("connect_args", {})}
    if "connect_timeout" in sa.engine.make_url(url).query:
        connect_args.pop("connect_timeout")
    # hide_parameters: an error message must never carry a phone number or a state to a log.
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True,
                            connect_args=connect_args, **kwargs)


def _ensure_sqlite_dir(url: str) -> None:
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn) -> None:
    """Take SQLite's write lock when a transaction starts, not half-way through.

    Several processes (web, workers) share one file; a transaction that read and then
    tries to write could otherwise fail at once with "database is locked" instead of
    waiting its turn.
    """
    conn.exec_driver_sql("BEGIN IMMEDIATE")


@sa.event.listens_for(OrmSession, "before_flush")
def _ids_in_bulk(session: OrmSession, _context, _instances) -> None:
    """On PostgreSQL, a flush of many new rows of one table (a sweep's chunk, an import)
    first takes their ids from the table's sequence, in one query. With their ids known,
    SQLAlchemy sends the rows with psycopg's executemany: one short statement, pipelined.
    Without them it sends one INSERT ... RETURNING with thousands of parameters, which
    psycopg parses again in Python each time (a fifth of a sweep's time)."""
    if len(session.new) < IDS_IN_BULK_FROM:
        return
    waiting: dict[sa.Column, list] = {}
    for obj in session.new:
        state = sa.inspect(obj)
        column, key = _sequence_key(state.mapper)
        if column is not None and getattr(obj, key) is None:
            waiting.setdefault(column, []).append(state)
    for column, states in waiting.items():
        if len(states) < IDS_IN_BULK_FROM:
            continue
        ids = ids_from_sequence(session, column, len(states), mapper=states[0].mapper)
        if ids is None:  # not PostgreSQL, or no sequence behind this key: the database's
            continue
        states.sort(key=lambda st: st.insert_order)  # ids in the order the rows were added
        for state, new_id in zip(states, ids, strict=True):
            setattr(state.obj(), _sequence_key(state.mapper)[1], new_id)


def ids_from_sequence(session: OrmSession, column: sa.Column, count: int, *,
                      mapper=None) -> list[int] | None:
    """`count` new ids for `column` from its table's sequence, in ascending order, in one
    query; None if that is not how the database numbers it (SQLite, or no sequence)."""
    bind = {"mapper": mapper} if mapper is not None else {"clause": column.table}
    if session.get_bind(**bind).dialect.name != "postgresql":
        return None
    connection = session.connection(bind_arguments=bind)
    table = connection.dialect.identifier_preparer.format_table(column.table)
    ids = connection.execute(sa.text(
        "SELECT nextval(pg_get_serial_sequence(:table, :column)) "
        "FROM generate_series(1, :count)"), {
        "table": table, "column": column.name, "count": count}).scalars().all()
    return None if None in ids else sorted(ids)


@functools.cache
def _sequence_key(mapper) -> tuple[sa.Column | None, str | None]:
    """A mapper's key column and its attribute, when the database numbers it from a
    sequence and nothing else would make SQLAlchemy ask for the row back (a server
    default it must read); else (None, None)."""
    if len(mapper.primary_key) != 1:
        return None, None
    column = mapper.primary_key[0]
    table = column.table
    if table.autoincrement_column is not column or (
            column.identity is not None and column.identity.always):
        return None, None  # a foreign key as the key, or an identity refusing given values
    if any(c.server_default is not None for c in table.columns if c is not column):
        return None, None
    return column, mapper.get_property_by_column(column).key


def among(session: Session, column, values) -> sa.ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(array)`: one parameter however
    many values, so a chunk's read of 500 ids is one short statement that psycopg and
    PostgreSQL parse once, not a statement of 500 placeholders parsed every time."""
    values = list(values)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(column.type)))


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: sa.Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Build or update the schema to `revision` with the migrations."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def schema_problem(engine: sa.Engine, *, down_is_a_problem: bool = True) -> str | None:
    """Why the schema cannot be used by this version (None when it is at the head): the
    database does not answer (unless `down_is_a_problem` is False: the services start
    without it and carry on when it is back), has no tables yet, or is at another
    revision."""
    where = engine.url.render_as_string(hide_password=True)
    try:
        current = current_revision(engine)
    except sa.exc.OperationalError as exc:
        if not down_is_a_problem:
            return None
        return (f"The database at {where} does not answer ({type(exc.orig).__name__}). "
                "Check DATABASE_URL and that the server is running.")
    head = head_revision()
    if current == head:
        return None
    if current is None:
        return (f"The database at {where} has no tables yet. Run `caseline db upgrade` to "
                "build them, then run this command again.")
    return (f"The database at {where} is at revision {current}; this version of Caseline "
            f"needs {head}. Run `caseline db upgrade` (back up the database first), then run "
            "this command again.")


def ping(engine: sa.Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
