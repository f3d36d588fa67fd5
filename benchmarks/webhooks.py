"""Webhooks under load: Caseline's Twilio webhooks against the least a webhook can do.

Both apps are served by gunicorn on this machine and driven by wrk (`apt-get install wrk`)
with signed requests exactly as Twilio sends them, each one distinct (its own MessageSid
or CallSid, so nothing is answered from Caseline's idempotency store):

- first texts: "hello" as a number's first text of the run (the greeting and menu), then
  "update", "Any news?" or "my case" from the same unverified numbers (the PIN prompt);
- PIN replies: the number's own PIN, from numbers that asked for news just before the run
  (the first PIN of the run verifies, later ones are told the case again);
- verified status: "update" and friends from numbers that gave their PIN just before the
  run (told their case without a PIN: the 15-minute window slides with every text);
- calls: a call starts (the greeting), the caller presses 1 (the PIN prompt) and keys the
  PIN (told the case), three requests of one call.

Who texts what is fixed before each run (the seed is 200 invented people with open cases,
PINs and named workers, imported with `caseline import`): each wrk connection has its
own thread and its own people, so a number's texts and a call's steps arrive in order
and the answer every request should get is known. Before each Caseline run the text
conversations are forgotten (as if everyone had been quiet for a day) and the PIN and
verified numbers are primed over HTTP. wrk checks every answer: status 200, the words
that request must get (the PIN prompt, the person's own worker and case news, ...), and
never "Sorry, something went wrong". A run with under 99% right answers, a replayed
answer, or a plan that ran out is wrong, and no ratio is printed for it. After each run a
few requests sent separately must get the person's own case, and a request signed wrongly
must get 403 from both apps.

The baseline (benchmarks/webhooks_baseline.py) validates the signature with twilio's
RequestValidator and answers a fixed TwiML text, on 2 sync workers. The floor
(benchmarks/webhooks_floor.py) does the same after the least a webhook that loses nothing
must do on PostgreSQL, with plain psycopg, in one transaction as Caseline does: store the
request, read the number's conversation locked, write it one turn on, store the answer and
commit. Its ratio to the baseline
is the ceiling of Caseline's on this machine. Caseline runs as
production does (`caseline serve`, CASELINE_ENV=production, PostgreSQL and Redis) with 2
workers of the model given by --caseline-worker: `sync` or `gthread:THREADS` (gunicorn's
threaded worker, through GUNICORN_CMD_ARGS); several, comma-separated, are compared.

It prints, for each concurrency (32 and 8 by default): Caseline's, the floor's and the
baseline's requests a second and p50/p99 latency, the medians of --runs alternating runs,
and the ratios (the median of each round's Caseline or floor req/s / baseline req/s).

Run from the repository:  python benchmarks/webhooks.py --runs 3 --seconds 10
Needs wrk (`apt-get install wrk`), PostgreSQL (--postgres, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres: it creates a throwaway database and
drops it) and Redis (--redis, db --redis-db 11, claimed as the test suite claims its db
and flushed, that db alone). It stops every process it started, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import redis
import sqlalchemy as sa
import yaml
from twilio.request_validator import RequestValidator

HERE = Path(__file__).resolve().parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"
# Twilio signs for the public address; the apps rebuild it from PUBLIC_URL (.invalid: a
# name that can never be reached, which production's check for the example domain allows).
PUBLIC_URL = "https://line.caseline-bench.invalid"
LINE_NUMBER = "+447700900000"
ACCOUNT_SID = "AC" + "be" * 16
REDIS_CLAIM = "caseline:test-run:db{}"  # the test suite's claim on a db (tests/conftest.py)
MIN_RIGHT = 0.99
ERROR_WORDS = "something went wrong"  # Caseline's safe answer when a request failed

# One cycle of a wrk connection's requests: 8 texts and one call (three requests).
CYCLE = ("first", "status", "pin", "call", "first", "status", "pin", "first", "status")
ASKS = ("update", "Any news?", "my case")
GREETING, TEXT_PIN_PROMPT = "What would you like to do?", "4 digit PIN"
CALL_GREETING, CALL_PIN_PROMPT = "hear about your case, press 1", "key in your PIN"
KINDS = ("first", "ask", "pin", "status", "call", "call_keys", "call_pin")
KIND_NAMES = {"first": 'first text ("hello")', "ask": "news asked, not verified (PIN prompt)",
              "pin": "PIN reply", "status": "news asked, verified", "call": "call starts",
              "call_keys": "call: presses 1", "call_pin": "call: keys the PIN"}
WORKERS = (("W-1", "Sam", "Okafor", "+441134960123", "T-1"),
           ("W-2", "Tom", "Hartley", "+441134960167", "T-1"),
           ("W-3", "Nadia", "Begum", "+441144960201", "T-2"),
           ("W-4", "Owen", "Price", "+441144960203", "T-2"))
FIRST_NAMES = ("Edith", "Arthur", "Margaret", "Gordon", "Winifred", "Kerry", "Harold", "Jean",
               "Doris", "Albert", "Elsie", "Walter", "Irene", "Stanley", "Vera", "Cyril")
LAST_NAMES = ("Marsh", "Pennington", "Holloway", "Firth", "Ashby", "Walsh", "Brigg", "Lowe",
              "Hardcastle", "Sutcliffe", "Ormerod", "Thwaite", "Barraclough")


class BenchError(Exception):
    """Something the benchmark cannot measure through: said, and everything is stopped."""


# ---- the seed: people with open cases, PINs and workers ------------------------------------

@dataclass(frozen=True)
class Person:
    n: int
    number: str  # E.164
    pin: str
    worker: str  # the named worker's full name, which their status says
    news: str  # words only this person's case news holds
    group: str  # first, pin, status (texts and calls) or calls (a landline: calls only)


def make_people(count: int, rng: random.Random) -> list[Person]:
    """Invented people on Ofcom's drama ranges: 4 in 5 on 07700 900xxx mobiles (split into
    the three text groups), the rest on 0113 496 0xxx landlines, who only call."""
    landlines = count // 5
    people = []
    for n in range(count):
        mobile = n < count - landlines
        number = (f"+4477009{100 + n:05d}" if mobile
                  else f"+44113496{600 + n - (count - landlines):04d}")
        group = ("first", "pin", "status")[n % 3] if mobile else "calls"
        _, first, last, _, _ = WORKERS[n % len(WORKERS)]
        people.append(Person(n=n, number=number, pin=str(rng.randrange(1000, 10000)),
                             worker=f"{first} {last}", news=f"payment {n:03d}", group=group))
    return people


def seed_yaml(people: list[Person], today: date) -> dict:
    """The file `caseline import` takes (the format of bot/demo/demo.yaml)."""
    teams = [{"ref": "T-1", "name": "Leeds Adult Safeguarding", "duty_number": "+441134960000",
              "out_of_hours_number": "+447700900999", "office_days": "mon,tue,wed,thu,fri",
              "office_opens": "09:00", "office_closes": "17:00", "manager_name": "Priya Shah",
              "manager_contact": "+441134960001"},
             {"ref": "T-2", "name": "Sheffield Adult Safeguarding",
              "duty_number": "+441144960000", "out_of_hours_number": "+441144960999",
              "office_days": "mon,tue,wed,thu,fri", "office_opens": "08:30",
              "office_closes": "16:30", "manager_name": "Gareth Lyons",
              "manager_contact": "+441144960001"}]
    workers = [{"ref": ref, "first_name": first, "last_name": last, "direct_number": number,
                "team": team} for ref, first, last, number, team in WORKERS]
    rows, cases = [], []
    for p in people:
        worker = WORKERS[p.n % len(WORKERS)]
        rows.append({"ref": f"P-{p.n:04d}", "first_name": FIRST_NAMES[p.n % len(FIRST_NAMES)],
                     "last_name": LAST_NAMES[p.n % len(LAST_NAMES)], "phones": [p.number],
                     "pin": p.pin})
        cases.append({"ref": f"SG-{300000 + p.n}", "person": f"P-{p.n:04d}", "worker": worker[0],
                      "stage": ("enquiry", "plan", "review")[p.n % 3],
                      "latest_news": f"{worker[1]} has written to the bank about {p.news}.",
                      "next_contact_by": today + timedelta(days=21),
                      "opened_at": today - timedelta(days=30)})
    return {"teams": teams, "workers": workers, "people": rows, "cases": cases}


# ---- signed requests, as Twilio sends them -------------------------------------------------

@dataclass(frozen=True)
class Req:
    kind: str
    path: str  # with the query string Twilio signs
    params: dict
    must: tuple[str, ...]  # the words Caseline's answer must hold


def text(person: Person, body: str, kind: str, must: tuple[str, ...]) -> Req:
    sid = "SM" + uuid.uuid4().hex
    params = {"ToCountry": "GB", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0",
              "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "",
              "SmsStatus": "received", "FromCity": "", "Body": body, "FromCountry": "GB",
              "To": LINE_NUMBER, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
              "AccountSid": ACCOUNT_SID, "From": person.number, "ApiVersion": "2010-04-01"}
    return Req(kind, "/twilio/sms", params, must)


def call_steps(person: Person) -> list[Req]:
    """One call: it starts, the caller presses 1 (hear about your case), then keys the PIN."""
    sid = "CA" + uuid.uuid4().hex
    base = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", "CallSid": sid,
            "CallStatus": "ringing", "Called": LINE_NUMBER, "CalledCity": "",
            "CalledCountry": "GB", "CalledState": "", "CalledZip": "", "Caller": person.number,
            "CallerCity": "", "CallerCountry": "GB", "CallerState": "", "CallerZip": "",
            "Direction": "inbound", "From": person.number, "FromCity": "", "FromCountry": "GB",
            "FromState": "", "FromZip": "", "To": LINE_NUMBER, "ToCity": "", "ToCountry": "GB",
            "ToState": "", "ToZip": ""}

    def gathered(digits: str) -> dict:
        return {**base, "CallStatus": "in-progress", "Digits": digits, "FinishedOnKey": "",
                "msg": "Gather End"}

    return [Req("call", "/twilio/voice", base, (CALL_GREETING,)),
            Req("call_keys", "/twilio/voice/answer?turn=1", gathered("1"), (CALL_PIN_PROMPT,)),
            Req("call_pin", "/twilio/voice/answer?turn=2", gathered(person.pin),
                status_words(person))]


def status_words(person: Person) -> tuple[str, ...]:
    return (f"The worker for your case is {person.worker}.", person.news)


def connection_plan(people: list[Person], connection: int, connections: int,
                    count: int) -> list[Req]:
    """The requests one wrk connection sends, in order, from the people it alone has."""
    own = {group: itertools.cycle([p for p in people if p.group == group][connection::connections])
           for group in ("first", "pin", "status")}
    callers = itertools.cycle(people[connection::connections])
    asks = itertools.cycle(ASKS)
    greeted: set[int] = set()
    plan: list[Req] = []
    for slot in itertools.cycle(CYCLE):
        if len(plan) >= count:
            return plan
        if slot == "call":
            plan += call_steps(next(callers))
            continue
        p = next(own[slot])
        if slot == "first" and p.n not in greeted:
            greeted.add(p.n)
            plan.append(text(p, "hello", "first", (GREETING,)))
        elif slot == "first":
            plan.append(text(p, next(asks), "ask", (TEXT_PIN_PROMPT,)))
        elif slot == "pin":
            plan.append(text(p, p.pin, "pin", status_words(p)))
        else:
            plan.append(text(p, next(asks), "status", status_words(p)))
    return plan


def write_plan(directory: Path, people: list[Person], connections: int, per_connection: int,
               token: str) -> Counter:
    """One file a connection, a request a line: kind, path, signature, idempotency token,
    the words to find (separated by \\x1f) and the form body. Returns the kinds written."""
    directory.mkdir(parents=True)
    validator, kinds = RequestValidator(token), Counter()
    for connection in range(connections):
        lines = []
        for req in connection_plan(people, connection, connections, per_connection):
            signature = validator.compute_signature(PUBLIC_URL + req.path, req.params)
            lines.append("\t".join((req.kind, req.path, signature, str(uuid.uuid4()),
                                    "\x1f".join(req.must), urllib.parse.urlencode(req.params))))
            kinds[req.kind] += 1
        (directory / f"connection-{connection}.tsv").write_text("\n".join(lines) + "\n")
    return kinds


# ---- wrk and its script --------------------------------------------------------------------

LUA = r"""
-- Written by benchmarks/webhooks.py: one connection a thread replays its own signed requests
-- in order and checks every answer. Args: the plan's folder, then caseline or baseline.
local threads, next_id = {}, 0
local KINDS = {%(kinds)s}

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local function split(s, sep)
   local out = {}
   for part in (s .. sep):gmatch("(.-)" .. sep) do out[#out + 1] = part end
   return out
end

function init(args)
   local folder, mode = args[1], args[2]
   requests, kinds, musts = {}, {}, {}
   for line in io.lines(folder .. "/connection-" .. id .. ".tsv") do
      local f = split(line, "\t")
      requests[#requests + 1] = wrk.format("POST", f[2], {
         ["Host"] = "%(host)s", ["User-Agent"] = "TwilioProxy/1.1", ["Accept"] = "*/*",
         ["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8",
         ["X-Twilio-Signature"] = f[3], ["I-Twilio-Idempotency-Token"] = f[4]}, f[6])
      kinds[#kinds + 1] = f[1]
      musts[#musts + 1] = (mode == "caseline") and split(f[5], "\31") or {"%(baseline)s"}
   end
   n, i, wrapped, note = #requests, 0, 0, ""
   right, wrong = {}, {}
   for _, k in ipairs(KINDS) do right[k], wrong[k] = 0, 0 end
end

function request()
   i = i + 1
   if i > n then i, wrapped = 1, wrapped + 1 end
   return requests[i]
end

local function why(status, body)
   if status ~= 200 then return "HTTP " .. status end
   if body:find("%(error)s", 1, true) then return "the error answer" end
   for _, words in ipairs(musts[i]) do
      if not body:find(words, 1, true) then return "missing: " .. words end
   end
   return nil
end

function response(status, headers, body)
   local k, wrong_because = kinds[i], why(status, body)
   if wrong_because then
      wrong[k] = wrong[k] + 1
      if note == "" then note = k .. ": " .. wrong_because end
   else
      right[k] = right[k] + 1
   end
end

local function counts(t)
   local parts = {}
   for _, k in ipairs(KINDS) do parts[#parts + 1] = string.format('"%%s":%%d', k, t[k]) end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local right_all, wrong_all, notes = {}, {}, {}
   for _, k in ipairs(KINDS) do right_all[k], wrong_all[k] = 0, 0 end
   local wrapped_all = 0
   for _, t in ipairs(threads) do
      local r, w = t:get("right"), t:get("wrong")
      for _, k in ipairs(KINDS) do
         right_all[k], wrong_all[k] = right_all[k] + r[k], wrong_all[k] + w[k]
      end
      wrapped_all = wrapped_all + t:get("wrapped")
      local note = t:get("note")
      if note ~= "" and #notes < 5 then notes[#notes + 1] = '"' .. note:gsub('"', "'") .. '"' end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d,' ..
      '"errors":{"connect":%%d,"read":%%d,"write":%%d,"status":%%d,"timeout":%%d},' ..
      '"right":%%s,"wrong":%%s,"wrapped":%%d,"notes":[%%s]}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, e.connect, e.read, e.write, e.status, e.timeout,
      counts(right_all), counts(wrong_all), wrapped_all, table.concat(notes, ",")))
end
"""


def write_lua(path: Path) -> None:
    from webhooks_baseline import ANSWER

    marker = ANSWER.split("<Message>")[1].split("<")[0]
    path.write_text(LUA % {"kinds": ", ".join(f'"{k}"' for k in KINDS),
                           "host": urllib.parse.urlsplit(PUBLIC_URL).hostname,
                           "baseline": marker, "error": ERROR_WORDS})


def run_wrk(lua: Path, url: str, plan: Path, mode: str, connections: int,
            seconds: float) -> dict:
    cmd = [WRK, "-t", str(connections), "-c", str(connections), "-d", f"{seconds:g}s",
           "--timeout", "10s", "--latency", "-s", str(lua), url, "--", str(plan), mode]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    raise BenchError(f"wrk gave no result (exit {done.returncode}): {done.stderr.strip()[:300]}")


# ---- the servers ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A gunicorn master started here, in a process group of its own."""

    name: str
    args: list[str]
    env: dict
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, cwd: Path) -> None:
        args = [a.replace("{port}", str(self.port)) for a in self.args]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(args, env=self.env, cwd=cwd, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} stopped at start: see {self.log_path}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer /healthz within 60 s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)  # its own group: its workers too
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0


def gunicorn_common() -> list[str]:
    """What `caseline serve` passes gunicorn too, so both apps run alike."""
    from gunicorn.config import KNOWN_SETTINGS

    args = ["--timeout", "30"]
    if any(s.name == "control_socket" for s in KNOWN_SETTINGS):
        args.append("--no-control-socket")
    return args


def caseline_server(model: str, workers: int, env: dict, logs: Path) -> Server:
    env = dict(env)
    if model.startswith("gthread:"):
        env["GUNICORN_CMD_ARGS"] = f"--worker-class gthread --threads {int(model.split(':')[1])}"
    elif model != "sync":
        raise BenchError(f"--caseline-worker {model!r}: give sync or gthread:THREADS")
    args = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "{port}",
            "--workers", str(workers)]
    return Server(f"caseline {model}", args, env, logs / f"caseline-{model}.log")


def baseline_server(env: dict, logs: Path) -> Server:
    args = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "2",
            *gunicorn_common(), "--pythonpath", str(HERE), "webhooks_baseline:from_env()"]
    return Server("baseline sync", args, env, logs / "baseline.log")


def floor_server(env: dict, logs: Path, database_url: str) -> Server:
    """benchmarks/webhooks_floor.py on 2 sync workers, its tables in the benchmark's database."""
    from webhooks_floor import make_tables

    libpq_url = sa.make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    make_tables(libpq_url)
    args = [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:{port}", "--workers", "2",
            *gunicorn_common(), "--pythonpath", str(HERE), "webhooks_floor:from_env()"]
    return Server("floor sync", args, {**env, "FLOOR_DATABASE_URL": libpq_url},
                  logs / "floor.log")


# ---- posting one request here, for priming and spot checks ---------------------------------

def post(url: str, req: Req, token: str, *, signed: bool = True) -> tuple[int, str]:
    signature = RequestValidator(token).compute_signature(PUBLIC_URL + req.path, req.params)
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": signature if signed else "bm90IGEgc2lnbmF0dXJl"}
    data = urllib.parse.urlencode(req.params).encode()
    request = urllib.request.Request(url + req.path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, ""


def expect(url: str, req: Req, token: str, what: str) -> None:
    """Send one request; a wrong answer is a BenchError naming what was expected (no body:
    it holds a person's case)."""
    status, body = post(url, req, token)
    missing = [w for w in req.must if w not in body]
    if status != 200 or missing or ERROR_WORDS in body:
        raise BenchError(f"{what}: {req.kind} got HTTP {status}"
                         + (f", without {missing[0]!r}" if missing else "")
                         + (" (the error answer)" if ERROR_WORDS in body else ""))


def prime(url: str, people: list[Person], token: str) -> None:
    """Numbers that reply with their PIN have just asked for news; verified numbers have
    also given their PIN. Eight at a time, each number's texts in order."""
    from concurrent.futures import ThreadPoolExecutor

    def one(p: Person) -> None:
        expect(url, text(p, "update", "ask", (TEXT_PIN_PROMPT,)), token, "priming")
        if p.group == "status":
            expect(url, text(p, p.pin, "pin", status_words(p)), token, "priming")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, [p for p in people if p.group in ("pin", "status")]))


def spot_check(url: str, people: list[Person], token: str, rng: random.Random) -> None:
    """After a run: verified numbers are told their own case, a whole call from a landline
    reaches the case, and a wrongly signed request is refused."""
    for p in rng.sample([p for p in people if p.group == "status"], 3):
        expect(url, text(p, "Any news?", "status", status_words(p)), token, "spot check")
    for req in call_steps(rng.choice([p for p in people if p.group == "calls"])):
        expect(url, req, token, "spot check")
    refused, _ = post(url, text(people[0], "update", "ask", ()), token, signed=False)
    if refused != 403:
        raise BenchError(f"spot check: a wrongly signed text got HTTP {refused}, not 403")


def baseline_check(url: str, people: list[Person], token: str, name: str = "baseline") -> None:
    """The fixed answer to signed texts and calls, and 403 to a wrongly signed one (the
    baseline's, and the floor's)."""
    from webhooks_baseline import ANSWER

    for req in [text(people[0], "hello", "first", ()), *call_steps(people[-1])]:
        status, body = post(url, req, token)
        if status != 200 or body != ANSWER:
            raise BenchError(f"the {name} answered {req.kind} with HTTP {status}")
    refused, _ = post(url, text(people[0], "update", "ask", ()), token, signed=False)
    if refused != 403:
        raise BenchError(f"the {name} took a wrongly signed text (HTTP {refused})")


# ---- one measured run ----------------------------------------------------------------------

@dataclass
class Run:
    server: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    right: float  # the share of requests answered right
    kinds: dict  # right answers by kind
    problems: list[str]


def judge(server: str, connections: int, result: dict) -> Run:
    right, wrong = sum(result["right"].values()), sum(result["wrong"].values())
    errors = result["errors"]
    failed = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    share = right / max(1, right + wrong + failed)
    problems = []
    if share < MIN_RIGHT:
        problems.append(f"{share:.1%} right ({wrong} wrong answers, {failed} socket errors;"
                        f" first: {', '.join(result['notes']) or 'socket errors'})")
    if result["wrapped"] and server != "baseline sync":  # Caseline and the floor store them
        problems.append("the plan ran out and requests were sent again: raise --max-rate")
    seconds = result["duration_us"] / 1e6
    return Run(server, connections, result["requests"] / seconds, result["p50_us"] / 1000,
               result["p99_us"] / 1000, share, dict(result["right"]), problems)


def stored_events(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM inbound_event")).scalar_one()


def forget_texts(engine: sa.Engine) -> None:
    """Every text conversation forgotten, as after a quiet day: first texts are first again."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM conversation_state WHERE key LIKE 'sms:%'"))


def read_log(server: Server, start: int) -> list[dict]:
    """Caseline's JSON log lines since `start` (bodies, PINs and numbers are never in them)."""
    with open(server.log_path, "rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").splitlines()
    out = []
    for line in lines:
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    token: str
    people: list[Person]
    engine: sa.Engine
    lua: Path
    redis_claim: callable
    rng: random.Random = field(default_factory=lambda: random.Random(17))
    runs: list[Run] = field(default_factory=list)
    server_log: list[dict] = field(default_factory=list)
    plans: int = 0

    def new_plan(self, connections: int) -> Path:
        self.plans += 1
        folder = self.work / f"plan-{self.plans}"
        per_connection = int(self.args.max_rate * self.args.seconds / connections) + 30
        write_plan(folder, self.people, connections, per_connection, self.token)
        return folder

    def measure_caseline(self, server: Server, connections: int) -> Run:
        self.redis_claim()
        forget_texts(self.engine)
        prime(server.url, self.people, self.token)
        plan = self.new_plan(connections)
        before, log_at = stored_events(self.engine), server.log_size()
        result = run_wrk(self.lua, server.url, plan, "caseline", connections, self.args.seconds)
        time.sleep(0.5)  # requests still in the server when wrk stopped
        stored = stored_events(self.engine) - before
        run = judge(server.name, connections, result)
        lines = read_log(server, log_at)
        replayed = sum("answering as before" in line.get("message", "") for line in lines)
        right = sum(result["right"].values())
        if replayed:
            run.problems.append(f"{replayed} answers came from the idempotency store")
        if stored < right:
            run.problems.append(f"only {stored} requests stored for {right} right answers")
        self.server_log += lines
        try:
            spot_check(server.url, self.people, self.token, self.rng)
        except BenchError as wrong:
            run.problems.append(str(wrong))
        shutil.rmtree(plan)
        return run

    def measure_baseline(self, server: Server, connections: int, plan: Path) -> Run:
        """The baseline's run, or the floor's: both answer the fixed text."""
        result = run_wrk(self.lua, server.url, plan, "baseline", connections, self.args.seconds)
        run = judge(server.name, connections, result)
        try:
            baseline_check(server.url, self.people, self.token, server.name.split()[0])
        except BenchError as wrong:
            run.problems.append(str(wrong))
        return run

    def round(self, number: int, caselines: list[Server], baseline: Server,
              floor: Server) -> None:
        """One run of every server at every concurrency, Caseline, the baseline and the
        floor in turn (and in the other order next round)."""
        for connections in self.args.concurrency:
            order = [*caselines[:1], baseline, floor, *caselines[1:]]
            if number % 2:
                order.reverse()
            baseline_plan = self.new_plan(connections)
            for server in order:
                if server in (baseline, floor):
                    run = self.measure_baseline(server, connections, baseline_plan)
                else:
                    run = self.measure_caseline(server, connections)
                self.runs.append(run)
                print(f"  round {number + 1}, -c{connections:<3} {server.name:<18} "
                      f"{run.rps:8.1f} req/s  p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms"
                      f"  {run.right:6.1%} right" + (f"  WRONG: {'; '.join(run.problems)}"
                                                     if run.problems else ""), flush=True)
            shutil.rmtree(baseline_plan)
        print(f"  (load average {os.getloadavg()[0]:.2f})", flush=True)


# ---- the report ----------------------------------------------------------------------------

def median_of(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def ratio(caseline: list[Run], baseline: list[Run]) -> str:
    if any(r.problems for r in caseline + baseline):
        return "none: a run was wrong"
    paired = zip(caseline, baseline, strict=True)
    return f"{statistics.median(c.rps / b.rps for c, b in paired):.3f}"


def report(bench: Bench, models: list[str]) -> bool:
    runs, args = bench.runs, bench.args
    print(f"\nWebhooks under load: medians of {args.runs} alternating run(s) of {args.seconds:g} s"
          f" each; ratio = the median of each round's Caseline req/s / baseline req/s")
    head = f"{'conc':>4} | {'server':<18} | {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | ratio"
    print(head)
    print("-" * len(head) + "-------")
    good = True
    for connections in args.concurrency:
        base = [r for r in runs if r.server == "baseline sync" and r.connections == connections]
        for model in models:
            mine = [r for r in runs if r.server == f"caseline {model}"
                    and r.connections == connections]
            good &= not any(r.problems for r in mine + base)
            print(f"{connections:>4} | {'caseline ' + model:<18} | {median_of(mine, 'rps'):8.1f} "
                  f"{median_of(mine, 'p50_ms'):8.1f} {median_of(mine, 'p99_ms'):8.1f} | "
                  f"{ratio(mine, base)}")
        floor = [r for r in runs if r.server == "floor sync" and r.connections == connections]
        good &= not any(r.problems for r in floor)
        print(f"{connections:>4} | {'floor sync':<18} | {median_of(floor, 'rps'):8.1f} "
              f"{median_of(floor, 'p50_ms'):8.1f} {median_of(floor, 'p99_ms'):8.1f} | "
              f"{ratio(floor, base)}")
        print(f"{connections:>4} | {'baseline sync':<18} | {median_of(base, 'rps'):8.1f} "
              f"{median_of(base, 'p50_ms'):8.1f} {median_of(base, 'p99_ms'):8.1f} |")
    print("(floor: the fixed answer after storing the request and committing a locked turn, "
          "plain psycopg: the ceiling of any webhook that loses nothing)")
    mix = Counter()
    for r in runs:
        if r.server.startswith("caseline"):
            mix.update(r.kinds)
    total = sum(mix.values()) or 1
    print("\nCaseline's right answers by kind: " + ", ".join(
        f"{KIND_NAMES[k]} {mix[k] / total:.0%}" for k in KINDS))
    print_server_log(bench.server_log)
    return good


def print_server_log(lines: list[dict]) -> None:
    """What Caseline's own log says of the measured runs: its time per route, and any
    warning or error (messages only: they never hold a body, PIN or whole number)."""
    times = defaultdict(list)
    noted = Counter()
    for line in lines:
        if line.get("logger") == "webhooks.requests" and "duration_ms" in line:
            times[line["message"].split(" ")[1]].append(line["duration_ms"])
        if line.get("level") in ("WARNING", "ERROR", "CRITICAL"):
            noted[f"{line['level']} {line.get('logger')}: {line.get('message', '')[:100]}"] += 1
    print("Caseline's own time per request (its log, the measured runs):")
    for path, ms in sorted(times.items()):
        ms.sort()
        print(f"  {path:<24} {len(ms):7d} requests  p50 {ms[len(ms) // 2]:5d} ms  "
              f"p99 {ms[int(len(ms) * 0.99)]:5d} ms  max {ms[-1]:5d} ms")
    for what, count in noted.most_common(8):
        print(f"  {count:6d} x {what}")
    if not noted:
        print("  no warnings or errors logged")


# ---- setting up and tearing down -----------------------------------------------------------

def service_env(database_url: str, redis_url: str, instance: Path, token: str) -> dict:
    """Production's settings, every one set here: nothing from this shell's environment."""
    from bot.config import SETTING_NAMES

    env = {k: v for k, v in os.environ.items()
           if k not in SETTING_NAMES and k != "GUNICORN_CMD_ARGS"}
    env.update(CASELINE_ENV="production", DATABASE_URL=database_url, REDIS_URL=redis_url,
               INSTANCE_DIR=str(instance), TWILIO_ACCOUNT_SID=ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=token, TWILIO_PHONE_NUMBER=LINE_NUMBER, PUBLIC_URL=PUBLIC_URL,
               SECRET_KEY=secrets.token_urlsafe(32), PIN_KEY=secrets.token_urlsafe(32),
               LINE_DUTY_NUMBER="0113 496 0500", LINE_OUT_OF_HOURS_NUMBER="07700 900998")
    return env


def create_database(stack: contextlib.ExitStack, admin_url: str) -> str:
    name = f"caseline_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    stack.callback(drop)
    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def claim_redis(stack: contextlib.ExitStack, server_url: str, db: int) -> tuple[str, callable]:
    """The db alone, claimed as the test suite claims one (so a test run beside this one
    takes another), flushed before and after."""
    claims = redis.Redis.from_url(f"{server_url}/0")
    key, me = REDIS_CLAIM.format(db), f"benchmarks/webhooks.py {os.getpid()}"
    if not claims.set(key, me, nx=True, ex=900):
        raise BenchError(f"Redis db {db} is claimed by a test run: choose another --redis-db")
    url = f"{server_url}/{db}"
    mine = redis.Redis.from_url(url)
    mine.flushdb()

    def release() -> None:
        mine.flushdb()
        if claims.get(key) == me.encode():
            claims.delete(key)

    stack.callback(release)
    return url, lambda: claims.set(key, me, ex=900)


def caseline_cli(env: dict, cwd: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd,
                          capture_output=True, text=True)
    if done.returncode:
        raise BenchError(f"caseline {args[0]} failed: {(done.stderr or done.stdout)[-500:]}")


def seed(env: dict, work: Path, people: list[Person]) -> None:
    """`caseline db upgrade`, then `caseline import` of the generated people."""
    caseline_cli(env, work, "db", "upgrade")
    file = work / "people.yaml"
    file.write_text(yaml.safe_dump(seed_yaml(people, date.today()), sort_keys=False))
    caseline_cli(env, work, "import", str(file))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds of runs (median of these)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each run")
    parser.add_argument("--concurrency", default="32,8",
                        type=lambda s: [int(c) for c in s.split(",")],
                        help="wrk connections, comma-separated (default 32,8)")
    parser.add_argument("--caseline-worker", default="sync",
                        help="Caseline's gunicorn worker: sync or gthread:THREADS; several, "
                             "comma-separated, are compared (default sync, as `caseline "
                             "serve` runs)")
    parser.add_argument("--workers", type=int, default=2, help="Caseline's gunicorn workers")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--max-rate", type=float, default=1500,
                        help="requests a second each Caseline run's plan has room for")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                                              "postgres", help="a database to create one from")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="a Redis server")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the logs (path printed)")
    args = parser.parse_args(argv)
    text_groups = (args.people - args.people // 5) // 3
    if args.people > 1000:
        parser.error("--people: at most 1000 (the drama ranges it numbers them from)")
    if text_groups < max(args.concurrency) or args.people // 5 < 3:
        parser.error(f"--people {args.people} is too few for -c{max(args.concurrency)}: each "
                     "connection needs people of its own in every group")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(WRK).exists():
        raise SystemExit("wrk is not installed: apt-get install wrk")
    sys.path.insert(0, str(HERE))  # webhooks_baseline, for its answer
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C
    models = args.caseline_worker.split(",")
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="caseline-webhooks-"))
        stack.callback(lambda: print(f"logs kept in {work}") if args.keep
                       else shutil.rmtree(work, ignore_errors=True))
        database_url = create_database(stack, args.postgres)
        redis_url, renew = claim_redis(stack, args.redis, args.redis_db)
        token = secrets.token_hex(16)
        env = service_env(database_url, redis_url, work / "instance", token)
        people = make_people(args.people, random.Random(4821))
        print(f"seeding {len(people)} people (PostgreSQL, Redis db {args.redis_db}) ...",
              flush=True)
        seed(env, work, people)
        engine = sa.create_engine(database_url, poolclass=sa.NullPool)
        stack.callback(engine.dispose)
        lua = work / "bench.lua"
        write_lua(lua)
        servers = [caseline_server(m, args.workers, env, work) for m in models]
        baseline = baseline_server(env, work)
        floor = floor_server(env, work, database_url)
        for server in [*servers, baseline, floor]:
            stack.callback(server.stop)
            server.start(work)
        baseline_check(baseline.url, people, token)
        baseline_check(floor.url, people, token, "floor")
        bench = Bench(args, work, token, people, engine, lua, renew)
        for server in servers:  # both workers' first requests (flows loaded, pools open)
            forget_texts(engine)
            prime(server.url, people, token)
            spot_check(server.url, people, token, bench.rng)
        print(f"Caseline: {args.workers} workers, {' / '.join(models)} (caseline serve, "
              f"production settings); baseline and floor: 2 sync workers; wrk: a thread a "
              f"connection; "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}", flush=True)
        for number in range(args.runs):
            bench.round(number, servers, baseline, floor)
        return 0 if report(bench, models) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as problem:
        sys.exit(f"benchmarks/webhooks.py: {problem}")
    except KeyboardInterrupt:
        sys.exit(130)
