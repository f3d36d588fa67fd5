"""How the check-in sweep scales: its cost per case against a baseline measured in the same run.

The baseline is the pure engine writing the same check-in text (no database); the ratio says
how much the sweep's database work (recipients, idempotency, outbox rows, conversations)
adds. Run: python benchmarks/sweep.py [CASES]. It uses a throwaway SQLite file and the
embedded Redis, so it needs nothing running.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from bot import db
from bot.config import load_settings
from bot.engine import Input, advance, load_flows
from bot.engine.fake import FakeContext
from bot.models import Case, LineType, Person, PersonPhone, Stage, Team, Worker
from bot.outreach import sweeps
from bot.runtime import Runtime

NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def build(runtime: Runtime, count: int) -> None:
    with Session(runtime.engine) as session:
        team = Team(ref="T", name="Team", duty_number="+441134960000",
                    out_of_hours_number="+441134960999")
        session.add(team)
        session.flush()
        worker = Worker(ref="W", first_name="Sam", last_name="Okafor",
                        direct_number="+441134960123", team_id=team.id)
        session.add(worker)
        session.flush()
        for n in range(count):
            person = Person(ref=f"P{n}", first_name="Edith", last_name=f"Bench{n}")
            session.add(person)
            session.flush()
            session.add(PersonPhone(person_id=person.id, number=f"+4477009{n % 1000:05d}",
                                    line_type=LineType.MOBILE, is_primary=True))
            session.add(Case(ref=f"SG-{n}", person_id=person.id, worker_id=worker.id,
                             stage=Stage.ENQUIRY, opened_at=NOON - timedelta(days=8),
                             news_updated_at=NOON))
        session.commit()


def baseline(flows_dir: Path, count: int) -> float:
    flows = load_flows(flows_dir).raise_for_errors()
    start = time.perf_counter()
    for _ in range(count):
        context = FakeContext(channel="sms", caller_number="+447700900201", recipient="ann")
        advance(flows["checkin"], None, Input.start(), context)
    return time.perf_counter() - start


def main(count: int = 500) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"CASELINE_ENV": "test", "INSTANCE_DIR": tmp}, env_file=None)
        runtime = Runtime(settings, clock=lambda: NOON)
        db.upgrade(runtime.engine)
        build(runtime, count)
        base = baseline(settings.flows_path, count)
        start = time.perf_counter()
        made = sweeps.check_ins(runtime)
        sweep = time.perf_counter() - start
        again = time.perf_counter()
        sweeps.check_ins(runtime)
        repeat = time.perf_counter() - again
        from bot.redis_conn import stop_embedded

        runtime.close()
        stop_embedded(Path(tmp))
    print(f"{count} open cases, {made} check-ins written")
    print(f"baseline (engine only): {base / count * 1000:.2f} ms a case")
    print(f"sweep:                  {sweep / count * 1000:.2f} ms a case "
          f"({sweep / base:.1f}x the baseline)")
    print(f"sweep again (nothing new): {repeat / count * 1000:.2f} ms a case "
          f"({repeat / base:.1f}x the baseline)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
