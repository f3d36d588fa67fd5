"""The schema comes from the migrations and matches the models; timestamps stay aware."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, select

from bot import db
from bot.models import Case, Person, Stage, Team, Worker, metadata


def test_migrated_database_matches_models(engine, backend):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        drift = compare_metadata(context, metadata)
    assert drift == [], f"{backend}: the models and the migrations differ: {drift}"


def test_migrations_are_at_head(engine):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(db.alembic_config(engine)).get_current_head()
    assert db.current_revision(engine) == head


def test_upgrade_twice_changes_nothing(engine):
    before = db.current_revision(engine)
    db.upgrade(engine)
    assert db.current_revision(engine) == before


def _team_worker_person(session):
    team = Team(ref="T1", name="Leeds team", duty_number="+441134960000",
                out_of_hours_number="+441134960999")
    session.add(team)
    session.flush()
    worker = Worker(ref="W1", first_name="Sam", last_name="Patel",
                    direct_number="+441134960123", team_id=team.id)
    person = Person(ref="P1", first_name="Ada", last_name="Lovelace")
    session.add_all([worker, person])
    session.flush()
    return worker, person


def test_timestamps_come_back_aware_utc(engine):
    when = datetime(2026, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=1)))
    with Session(engine) as session:
        worker, person = _team_worker_person(session)
        session.add(Case(ref="C1", person_id=person.id, worker_id=worker.id, news_updated_at=when))
        session.commit()
    with Session(engine) as session:
        case = session.exec(select(Case)).one()
        assert case.news_updated_at == when
        assert case.news_updated_at.tzinfo is not None
        assert case.news_updated_at.utcoffset() == timedelta(0)
        assert case.created_at.tzinfo is not None
        assert case.stage is Stage.CONCERN


def test_naive_timestamps_are_refused(engine):
    with Session(engine) as session:
        worker, person = _team_worker_person(session)
        session.add(Case(ref="C1", person_id=person.id, worker_id=worker.id,
                         news_updated_at=datetime(2026, 6, 1, 14, 30)))
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            session.flush()


def test_enum_columns_reject_unknown_values(engine):
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text(
            "INSERT INTO team (ref, name, duty_number, out_of_hours_number, office_days,"
            " office_opens, office_closes, manager_name, manager_contact, created_at, updated_at)"
            " VALUES ('T9', 'x', '+441134960000', '+441134960001', 'mon', '09:00', '17:00',"
            " '', '', :now, :now)"), {"now": datetime.now(UTC).replace(tzinfo=None)})
        conn.execute(sa.text(
            "INSERT INTO person_phone (person_id, number, line_type, is_primary, created_at)"
            " VALUES (1, '+441134960000', 'sat', false, :now)"),
            {"now": datetime.now(UTC).replace(tzinfo=None)})


def test_each_migration_upgrades_with_data_and_downgrades(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'steps.db'}")
    db.upgrade(engine, "0001")
    with Session(engine) as session:
        _team_worker_person(session)
        session.commit()
    db.upgrade(engine)
    with Session(engine) as session:
        assert session.exec(select(Person)).one().first_name == "Ada"
    from alembic import command

    command.downgrade(db.alembic_config(engine), "base")
    assert db.current_revision(engine) is None
    engine.dispose()


def _inserts_of_flush(engine, session, rows) -> list[tuple[str, bool, int]]:
    """What one flush sent: ("ids", False, n) for a query of n ids from a sequence, and
    (table, whether RETURNING was asked, parameter sets) for each INSERT."""
    sent: list[tuple[str, bool, int]] = []

    def note(_conn, _cursor, statement, params, _context, _executemany) -> None:
        if "nextval" in statement:
            sent.append(("ids", False, params["count"]))
        elif statement.lstrip().startswith("INSERT"):
            sent.append((statement.split()[2], "RETURNING" in statement,
                         len(params) if isinstance(params, list) else 1))

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        session.add_all(rows)
        session.flush()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return sent


def test_a_big_flush_takes_its_ids_in_one_query_and_keeps_their_order(engine, backend):
    from bot.models import OptOut

    count = db.IDS_IN_BULK_FROM + 5
    with Session(engine) as session:
        rows = [OptOut(number=f"+4477009001{n:02d}", reason="stop") for n in range(count)]
        session.add(rows[0])
        session.expunge(rows[0])  # added again last: numbered last
        sent = _inserts_of_flush(engine, session, [*rows[1:], rows[0]])
        ids = [row.id for row in [*rows[1:], rows[0]]]
        assert ids == sorted(ids) and len(set(ids)) == count  # numbered as they were added
        if backend == "postgresql":  # one query of ids, one short statement, a row a set
            assert sent == [("ids", False, count), ("opt_out", False, count)]
        one = OptOut(number="+447700900199", reason="stop")
        assert _inserts_of_flush(engine, session, [one]) == [  # one row: as before
            ("opt_out", backend == "postgresql", 1)]
        assert one.id > max(ids)  # the sequence moved past the ids taken in bulk
        added = [(r.id, r.number) for r in [*rows[1:], rows[0], one]]
        session.commit()
    with Session(engine) as session:
        stored = session.exec(select(OptOut).order_by(OptOut.id)).all()
        assert [(r.id, r.number) for r in stored] == added


def test_rows_of_a_failed_big_flush_can_be_added_again(engine):
    from bot.models import OptOut

    count = db.IDS_IN_BULK_FROM
    with Session(engine) as session:
        session.add(OptOut(number="+447700900150", reason="stop"))
        session.commit()
    with Session(engine) as session:
        rows = [OptOut(number=f"+4477009001{n:02d}", reason="stop") for n in range(count)]
        session.add_all([*rows, OptOut(number="+447700900150", reason="stop")])  # refused
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
        session.rollback()
        session.add_all(rows)  # as a job tried again would, with the ids they were given
        session.commit()
        wanted = sorted([r.number for r in rows] + ["+447700900150"])
    with Session(engine) as session:
        assert sorted(session.exec(select(OptOut.number)).all()) == wanted


def test_among_finds_the_rows_of_many_values_in_one_short_statement(engine, backend):
    """`db.among` is IN on SQLite and = ANY(array) on PostgreSQL: the same rows, for ids
    and for strings, none for no values, and on PostgreSQL one parameter for 600."""
    with Session(engine) as session:
        session.add_all([Team(ref=f"T-{n}", name=f"Team {n}", duty_number="+441134960000",
                              out_of_hours_number="+441134960999") for n in range(30)])
        session.commit()
        ids = session.exec(select(Team.id).order_by(Team.id)).all()
        statements = []

        def sent(_conn, _cursor, statement, *_args):
            statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", sent)
        try:
            by_id = session.exec(select(Team.ref).where(
                db.among(session, Team.id, [*ids[:5], *range(10**6, 10**6 + 595)]))).all()
            by_ref = session.exec(select(Team.id).where(
                db.among(session, Team.ref, {"T-7", "T-29", "T-none"}))).all()
            nothing = session.exec(select(Team.id).where(db.among(session, Team.id, []))).all()
        finally:
            sa.event.remove(engine, "before_cursor_execute", sent)
    assert sorted(by_id) == sorted(f"T-{n}" for n in range(5))
    assert sorted(by_ref) == sorted([ids[7], ids[29]]) and nothing == []
    if backend == "postgresql":
        assert "ANY" in statements[0] and statements[0].count("%(") == 1


@pytest.mark.parametrize("url_timeout", [None, 1])
def test_a_database_that_never_answers_fails_the_connection_instead_of_hanging(url_timeout):
    """A server that takes the connection and never says a word (what a dropped route or a
    stalled server looks like): connecting gives up after the connect timeout, ours or the
    URL's, with an error the webhook answers safely (it would otherwise wait minutes)."""
    import socket
    import threading

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/test"
    engine = db.make_engine(url + (f"?connect_timeout={url_timeout}" if url_timeout else ""))
    outcome: list = []

    def connect():
        try:
            engine.connect().close()
            outcome.append("connected")
        except sa.exc.OperationalError as refused:
            outcome.append(refused)

    try:
        attempt = threading.Thread(target=connect, daemon=True)
        attempt.start()
        attempt.join(db.CONNECT_TIMEOUT_SECONDS * 6)  # a generous bound, not a speed test
        assert outcome and isinstance(outcome[0], sa.exc.OperationalError)
    finally:
        engine.dispose()
        silent.close()
