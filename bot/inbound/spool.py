"""Texts that arrive while the database is down: kept in Redis, acted on once it is back.

The sender has already had the safe answer (the duty line and 999). What they wrote is
kept whole in a Redis list, and the outbox sweep replays each one through the line once
the database answers again, so a message, a STOP or an "I feel unsafe" is recorded and
reaches staff; the replay's own reply is not sent (they were told to call). A text with
danger words also goes at once, through the urgent queue, to the emergency duty mobile:
that needs no database.
"""

from __future__ import annotations

import json
import logging

import redis

from bot import clock
from bot.config import Settings
from bot.models import Channel
from bot.phones import is_mobile, mask
from bot.redis_conn import REDIS_DOWN

log = logging.getLogger(__name__)

SPOOL_KEY = "caseline:inbound:spool"
WORKING_KEY = "caseline:inbound:spool:working"
ALERT_JOB = "bot.jobs.alert_duty_mobile"


def keep_text(runtime, params: dict) -> bool:
    """Keep a text the database could not take; True if it is safe in Redis."""
    from rq import Queue, Retry

    from bot.delivery.queues import URGENT_QUEUE

    urgent = _sounds_unsafe(runtime.settings, params.get("Body", ""))
    item = {"channel": "sms", "params": params, "spooled_at": clock.real_now().isoformat(),
            "alerted": False}
    try:
        connection = runtime.redis
        if urgent and (number := _duty_mobile(runtime.settings)):
            Queue(URGENT_QUEUE, connection=connection).enqueue(
                ALERT_JOB, number, params.get("From", ""), result_ttl=0,
                job_id=f"unsafe-{params.get('MessageSid')}", retry=Retry(3, [10, 30, 60]))
            item["alerted"] = True
        connection.rpush(SPOOL_KEY, json.dumps(item))
    except REDIS_DOWN:
        log.error("a text arrived with the database and Redis both down: it is lost")
        return False
    log.warning("database down: a text from %s is kept to be handled later%s",
                mask(params.get("From")), " (unsafe: the duty mobile is told now)"
                if item["alerted"] else "")
    return True


def _sounds_unsafe(settings: Settings, body: str) -> bool:
    from bot.engine.commands import match_command
    from bot.inbound.conversation import Flows

    try:
        cmds = Flows.get(str(settings.flows_path)).commands
    except Exception:  # the flows cannot be read: better one alert too many
        return True
    return match_command(cmds, "text", body, channel="sms", language="en",
                         opted_out=lambda: False) == "danger"


def _duty_mobile(settings: Settings) -> str | None:
    from bot.phones import normalise

    number = normalise(settings.line_out_of_hours_number) \
        if settings.line_out_of_hours_number else ""
    return number if number and is_mobile(number) else None


def alert_body(settings: Settings, caller: str) -> str:
    from bot.phones import InvalidPhoneNumber, display, normalise

    try:
        back = f"Call back on {display(normalise(caller))}."
    except InvalidPhoneNumber:
        back = "Their number is withheld."
    return (f"{settings.organisation_name} URGENT: a texter said they feel unsafe while our "
            f"records were down. {back}")


def replay(runtime, *, limit: int = 200) -> int:
    """Handle kept texts now that the database answers; returns how many were handled.

    Each is moved to a working list first, and removed only once handled, so a worker
    dying halfway loses nothing (the next replay takes the working list first)."""
    from bot.engine.io import Input
    from bot.inbound.conversation import Inbound, process

    connection: redis.Redis = runtime.redis
    done = 0
    while done < limit:
        raw = connection.lindex(WORKING_KEY, 0) or connection.lmove(
            SPOOL_KEY, WORKING_KEY, "LEFT", "RIGHT")
        if raw is None:
            break
        item = json.loads(raw)
        params = item["params"]
        inbound = Inbound(channel=Channel.SMS, sid=params.get("MessageSid", ""),
                          raw_from=params.get("From", ""), input=Input.sms(params.get("Body", "")),
                          params=params, already_alerted=item.get("alerted", False))
        process(runtime, inbound, lambda _output: "")  # they were told to call: no reply
        connection.lrem(WORKING_KEY, 1, raw)
        done += 1
    if done:
        log.info("handled %d text(s) kept while the database was down", done)
    return done
