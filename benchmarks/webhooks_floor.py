"""The floor `benchmarks/webhooks.py` also measures: the least a webhook can do that keeps
Caseline's promises about every request, with none of Caseline's own code.

Like the baseline it checks the X-Twilio-Signature with twilio's RequestValidator and
answers a fixed TwiML text. Before answering it does what any line that loses nothing must
do on PostgreSQL, in one transaction as Caseline does: it stores the request (a retry is
answered from it), reads the number's conversation locked (two webhooks for one number
never both start from the same state), writes it back one turn on, stores the answer with
the request, and commits. Plain psycopg, one
connection a worker, no ORM, no conversation flow, no Redis: no Caseline can be faster on
this machine than this, so its ratio to the baseline is the ceiling of Caseline's.

Served by gunicorn with 2 sync workers (the benchmark starts it):
    gunicorn --workers 2 --pythonpath benchmarks 'webhooks_floor:from_env()'
with TWILIO_AUTH_TOKEN, PUBLIC_URL and FLOOR_DATABASE_URL (a libpq URL) in the environment.
"""

from __future__ import annotations

import json
import os

import psycopg
from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from webhooks_baseline import ANSWER, require_signature

TABLES = """
CREATE TABLE IF NOT EXISTS floor_request (
    id serial PRIMARY KEY, sid text NOT NULL UNIQUE, form jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), answer text);
CREATE TABLE IF NOT EXISTS floor_conversation (
    key text PRIMARY KEY, turn integer NOT NULL, state jsonb NOT NULL,
    updated_at timestamptz NOT NULL);
"""


def create_app(auth_token: str, public_url: str, database_url: str) -> Flask:
    app = Flask(__name__)
    validator = RequestValidator(auth_token)
    base = public_url.rstrip("/")
    connection: list[psycopg.Connection] = []  # this worker's, opened on its first request

    def db() -> psycopg.Connection:
        if not connection:
            connection.append(psycopg.connect(database_url))
        return connection[0]

    @app.post("/twilio/<path:step>")
    def twilio(step: str):
        url = require_signature(validator, base)
        form = request.form.to_dict()
        # Twilio's token is one a request (a call's steps share their CallSid).
        sid = request.headers.get("I-Twilio-Idempotency-Token") or f"{url}#{form}"
        key = f"{'sms' if 'MessageSid' in form else 'voice'}:{form.get('From', '')}"
        conn = db()
        with conn.transaction():  # the stored request and the turn: one commit
            stored = conn.execute("INSERT INTO floor_request (sid, form) VALUES (%s, %s) "
                                  "ON CONFLICT (sid) DO NOTHING RETURNING id",
                                  (sid, json.dumps(form))).fetchone()
            row = conn.execute("SELECT turn, state FROM floor_conversation WHERE key = %s "
                               "FOR UPDATE", (key,)).fetchone()
            turn = (row[0] if row else 0) + 1
            state = json.dumps({"turn": turn, "last": form.get("Body", step)})
            conn.execute("INSERT INTO floor_conversation (key, turn, state, updated_at) "
                         "VALUES (%s, %s, %s, now()) ON CONFLICT (key) DO UPDATE SET "
                         "turn = excluded.turn, state = excluded.state, "
                         "updated_at = excluded.updated_at", (key, turn, state))
            if stored:
                conn.execute("UPDATE floor_request SET answer = %s WHERE id = %s",
                             (ANSWER, stored[0]))
        return Response(ANSWER, status=200, mimetype="text/xml")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def make_tables(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(TABLES)


def from_env() -> Flask:
    """The app for gunicorn, from the environment."""
    return create_app(os.environ["TWILIO_AUTH_TOKEN"], os.environ["PUBLIC_URL"],
                      os.environ["FLOOR_DATABASE_URL"])
