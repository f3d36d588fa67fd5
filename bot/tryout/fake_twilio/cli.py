"""`python -m bot.tryout.fake_twilio` (and `caseline fake-twilio`): run the fake until stopped."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .resources import log
from .server import FakeTwilioServer

STEERING = """\
Steer it over HTTP while it runs (POST a JSON body; GET /_fake/state shows the rules):
  /_fake/fail          {"code": 21610, "to": "+447700900123", "count": null}
                       refuse creates with a Twilio error (or {"http_status": 503})
  /_fake/fail-delivery {"code": 30003}   the next text is accepted, then undelivered
  /_fake/hang          {"seconds": 20, "when": "before"|"after"}   a slow Twilio:
                       hold creates (before recording, or after, so the sid is lost)
  /_fake/call-outcome  {"outcome": "answered"|"machine"|"no-answer"|"busy"|"failed"}
  /_fake/answerer      {"script": ["4821", "", "hangup"], "to": ...}   whoever answers
                       our next call keys these at each question (default: they hear
                       the greeting and hang up); GET /_fake/calls/<sid>/conversation
  /_fake/hand-over     {"number": ..., "on": true}   calls to it are answered outside
                       (`caseline chat` does): GET /_fake/waiting-calls?to=..., then
                       POST /_fake/calls/<sid>/hang-up
  /_fake/opt-out       {"number": "+447700900123", "stopped": true}   texts to it fail
                       with 21610, as after a STOP (false: START again)
  /_fake/chaos         {"enabled": true, "duplicate": 0.1, "reorder": 0.1}
  /_fake/release, /_fake/reset
What was sent: GET /_fake/messages, /_fake/calls, /_fake/callbacks.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the fake Twilio until interrupted (SIGINT or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="fake-twilio", description="A local fake of Twilio's Messages and Calls API.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=STEERING)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5010, help="0 picks a free port")
    parser.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID"),
                        help="default: $TWILIO_ACCOUNT_SID")
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN"),
                        help="default: $TWILIO_AUTH_TOKEN")
    parser.add_argument("--seed", type=int, default=0, help="makes the chaos repeatable")
    parser.add_argument("--callback-delay", type=float, default=0.5,
                        help="seconds between status changes (default 0.5)")
    parser.add_argument("--no-chaos", action="store_true",
                        help="never send callbacks twice or out of order")
    args = parser.parse_args(argv)
    if not args.account_sid or not args.auth_token:
        parser.error("give --account-sid and --auth-token (or set TWILIO_ACCOUNT_SID and "
                     "TWILIO_AUTH_TOKEN)")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s fake-twilio: %(message)s", "%H:%M:%S"))
    previous = (log.level, log.propagate)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = FakeTwilioServer(account_sid=args.account_sid, auth_token=args.auth_token,
                              host=args.host, port=args.port, seed=args.seed,
                              callback_delay=args.callback_delay, chaos=not args.no_chaos)
    try:
        server.start()
    except OSError as exc:
        print(f"fake-twilio: {exc}", file=sys.stderr)
        return 1
    try:
        with server:
            print(f"fake-twilio listening on {server.url} (texts: {server.url}/_fake/messages)",
                  flush=True)
            while not stop.wait(0.5):
                pass
            log.info("stopping")
    finally:
        log.removeHandler(handler)
        log.setLevel(previous[0])
        log.propagate = previous[1]
    return 0
