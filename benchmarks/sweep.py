"""How the check-in sweep scales: its cost a case against the engine alone, in the same run,
and the wall time of the whole sweep spread over real `caseline worker` processes.

  python benchmarks/sweep.py                      # 2,000 cases, SQLite, in this process
  python benchmarks/sweep.py --cases 100000 --postgres --workers 2

The baseline is the pure engine writing the same check-in text (no database): the ratio
says what the sweep's database work (recipients, idempotency, outbox rows, conversations)
adds. With --workers N the scheduler's own job runs (`sweeps.plan`): it queues a job a chunk
of open cases on the bulk queue and N real workers run them; the script prints the wall
time from planning to the last chunk done (a chunk that failed and waits for RQ's retry
is not done), any chunk that failed for good, and the largest resident memory any worker
process (or the work-horse it forks for a job) reached. Then the same sweep runs again
and must write nothing. Every person's contact window opens an hour or two from now, so
the texts wait for it (as a sweep before 10:00 does) and the workers measure the sweep,
not sending.

SQLite uses a throwaway file and the embedded Redis (nothing to run). --postgres makes a
throwaway schema in --postgres-url (default: the local server's `test` database) and uses
Redis db --redis-db (default 10) of --redis (default the local server), emptied first.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bot import db
from bot.config import load_settings
from bot.engine import Input, advance, load_flows
from bot.engine.fake import FakeContext
from bot.models import Case, LineType, Person, PersonPhone, Stage, Team, Worker, utcnow
from bot.runtime import Runtime

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379"


def build(runtime: Runtime, count: int, now: datetime) -> None:
    """`count` open cases of one team, opened 8 days ago, each person with a mobile, all
    written with bulk inserts."""
    window = _later_window(now, runtime.settings.tz)
    with runtime.engine.begin() as conn:
        team = conn.execute(sa.insert(Team).values(
            ref="T", name="Team", duty_number="+441134960000",
            out_of_hours_number="+441134960999", created_at=now, updated_at=now)
            .returning(Team.id)).scalar()
        worker = conn.execute(sa.insert(Worker).values(
            ref="W", first_name="Sam", last_name="Okafor", direct_number="+441134960123",
            team_id=team, created_at=now, updated_at=now).returning(Worker.id)).scalar()
        for start in range(0, count, 5000):
            batch = range(start, min(count, start + 5000))
            ids = conn.execute(sa.insert(Person).returning(Person.id), [
                {**_person_defaults(), "ref": f"P{n}", "first_name": "Edith",
                 "last_name": f"Bench{n}", "contact_window_start": window[0],
                 "contact_window_end": window[1], "created_at": now, "updated_at": now}
                for n in batch]).scalars().all()
            conn.execute(sa.insert(PersonPhone), [
                {"person_id": pid, "number": f"+4477009{n % 1000:05d}",
                 "line_type": LineType.MOBILE, "is_primary": True, "created_at": now}
                for n, pid in zip(batch, ids, strict=True)])
            conn.execute(sa.insert(Case), [
                {**_case_defaults(), "ref": f"SG-{n}", "person_id": pid, "worker_id": worker,
                 "stage": Stage.ENQUIRY, "opened_at": now - timedelta(days=8),
                 "news_updated_at": now, "created_at": now, "updated_at": now}
                for n, pid in zip(batch, ids, strict=True)])


def _person_defaults() -> dict:
    return {k: v for k, v in Person(ref="x", first_name="x", last_name="x").model_dump()
            .items() if k not in ("id", "created_at", "updated_at")}


def _case_defaults() -> dict:
    return {k: v for k, v in Case(ref="x", person_id=0, worker_id=0).model_dump().items()
            if k not in ("id", "opened_at", "created_at", "updated_at")}


def _later_window(now: datetime, tz):
    """A one-hour contact window that opens one to two hours from now (local), so the
    texts wait for it; one that would cross midnight opens at 01:00 the next day."""
    start = (now.astimezone(tz) + timedelta(hours=1)).replace(minute=0, second=0,
                                                               microsecond=0)
    if start.hour >= 23:
        start = (start + timedelta(days=1)).replace(hour=1)
    return start.time(), (start + timedelta(hours=1)).time()


def baseline(flows_dir: Path, count: int) -> float:
    """Seconds a case for the engine alone to write the check-in text."""
    flows = load_flows(flows_dir).raise_for_errors()
    sample = min(count, 2000)
    start = time.perf_counter()
    for _ in range(sample):
        context = FakeContext(channel="sms", caller_number="+447700900201", recipient="ann")
        advance(flows["checkin"], None, Input.start(), context)
    return (time.perf_counter() - start) / sample


def written(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM outbox_message")).scalar()


def in_process(runtime: Runtime, now: datetime) -> float:
    from bot.inbound.conversation import Flows
    from bot.outreach import sweeps

    Flows.get(str(runtime.settings.flows_path))  # a worker has them loaded already
    runtime.redis.ping()
    start = time.perf_counter()
    sweeps.check_ins(runtime, now)
    return time.perf_counter() - start


def on_workers(runtime: Runtime, now: datetime, workers: int) -> tuple[float, float]:
    """(seconds from planning to the last chunk done, the largest worker RSS in MB)."""
    import psutil
    from rq import Queue
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

    from bot.delivery.queues import BULK_QUEUE
    from bot.outreach import sweeps
    from tests.faults import service_env

    env = service_env(runtime.settings, LOG_LEVEL="WARNING")
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(workers)]
    queue = Queue(BULK_QUEUE, connection=runtime.redis)
    started = StartedJobRegistry(queue=queue)
    # A chunk that failed waits for its retry among the scheduled jobs (with every text
    # the sweep wrote): not done yet. Looked at only once nothing else is left.
    retrying = ScheduledJobRegistry(queue=queue)
    peak = 0.0
    try:
        time.sleep(2.0)  # the workers start (imports, flows) before the clock starts
        begin = time.perf_counter()
        sweeps.plan(runtime, now)
        while True:
            peak = max(peak, _largest_rss(psutil, procs))
            chunks = [j for j in queue.job_ids if j.startswith("contacts-")] + [
                j for j in started.get_job_ids() if j.startswith("contacts-")]
            if not chunks and not any(j.startswith("contacts-")
                                      for j in retrying.get_job_ids()):
                break
            time.sleep(0.1 if chunks else 1.0)
        failed = [j for j in FailedJobRegistry(queue=queue).get_job_ids()
                  if j.startswith("contacts-")]
        if failed:
            print(f"  {len(failed)} chunk(s) failed after every retry: {', '.join(failed)}")
        return time.perf_counter() - begin, peak
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
            proc.wait(30)


def _largest_rss(psutil, procs) -> float:
    largest = 0
    for proc in procs:
        try:
            parent = psutil.Process(proc.pid)
            for p in [parent, *parent.children(recursive=True)]:
                largest = max(largest, p.memory_info().rss)
        except psutil.NoSuchProcess:
            continue
    return largest / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--postgres-url", default=PG_URL)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0, help="0: in this process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"CASELINE_ENV": "test", "INSTANCE_DIR": tmp, "PIN_KEY": "bench-pin-key"}
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(args.postgres_url) if args.postgres else None
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            env["DATABASE_URL"] = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
            env["REDIS_URL"] = f"{args.redis}/{args.redis_db}"
        try:
            run(load_settings(env, env_file=None), args)
        finally:
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


def run(settings, args) -> None:
    now = utcnow().astimezone(UTC)
    runtime = Runtime(settings)
    db.upgrade(runtime.engine)
    if args.postgres:
        runtime.redis.flushdb()
    build(runtime, args.cases, now)
    base = baseline(settings.flows_path, args.cases)
    where = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{args.cases} open cases on {where}; baseline (engine only): "
          f"{base * 1000:.2f} ms a case")
    if args.workers:
        took, peak = on_workers(runtime, now, args.workers)
        made = written(runtime)
        print(f"sweep on {args.workers} workers: {took:.1f} s for {made} check-ins, "
              f"{took / args.cases * 1000 * args.workers:.2f} ms a case a worker "
              f"({took / args.cases * args.workers / base:.1f}x the baseline); "
              f"largest worker process {peak:.0f} MB")
        again, _ = on_workers(runtime, now, args.workers)
        print(f"the same sweep again: {again:.1f} s, {written(runtime) - made} new rows")
    else:
        took = in_process(runtime, now)
        made = written(runtime)
        print(f"sweep in one process: {took / args.cases * 1000:.2f} ms a case "
              f"({took / args.cases / base:.1f}x the baseline), {made} check-ins")
        again = in_process(runtime, now)
        print(f"the same sweep again: {again / args.cases * 1000:.2f} ms a case, "
              f"{written(runtime) - made} new rows")
    runtime.close()
    if not args.postgres:
        from bot.redis_conn import stop_embedded

        stop_embedded(settings.instance_path)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.faults
    main()
