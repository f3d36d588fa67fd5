"""The fake as a Flask app: Twilio's Messages and Calls REST API, and the `/_fake/` control
endpoints that steer and inspect it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException

from bot import phones

from . import media
from .resources import (
    API_PREFIX,
    CALL_EVENTS,
    CODE_FOR_STATUS,
    MAX_BODY,
    MAX_TWIML,
    json_response,
    log,
    twilio_error,
)
from .state import FakeTwilioState, Record

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_ALPHA_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_MG_SID = re.compile(r"MG[0-9a-f]{32}")


def fake_state(app: Flask | None = None) -> FakeTwilioState:
    """The FakeTwilioState behind `app` (default: the current app)."""
    return (app or current_app).extensions["fake_twilio"]


def create_fake_app(*, account_sid: str, auth_token: str, seed: int = 0,
                    callback_delay: float = 0.05, chaos: bool = True) -> Flask:
    """The fake Twilio as a Flask app; its FakeTwilioState is `fake_state(app)`.

    Status changes and callbacks run on a background thread started by the first create:
    call `fake_state(app).close()` when done (FakeTwilioServer does).
    """
    if not account_sid or not auth_token:
        raise ValueError("the fake Twilio needs an account SID and an auth token")
    app = Flask("bot.tryout.fake_twilio")
    app.extensions["fake_twilio"] = FakeTwilioState(
        account_sid=account_sid, auth_token=auth_token, seed=seed,
        callback_delay=callback_delay, chaos=chaos)
    _register_api(app)
    _register_control(app)
    return app


# --- Twilio's REST API --------------------------------------------------------------------------


def _register_api(app: Flask) -> None:
    @app.before_request
    def authenticate():
        if not request.path.startswith(API_PREFIX + "/"):
            return None
        state = fake_state()
        auth = request.authorization
        if auth is None or not state.check_auth(auth.username, auth.password):
            return twilio_error(20003)
        account = (request.view_args or {}).get("account")
        if account is not None and account != state.account_sid:
            return twilio_error(20003)
        return None

    _register_resource(app, "messages", "Messages", "date_sent", "DateSent")
    _register_resource(app, "calls", "Calls", "start_time", "StartTime")
    media.register(app, fake_state)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(API_PREFIX + "/") or exc.code in (404, 405):
            code = CODE_FOR_STATUS.get(exc.code or 500, 20001)
            return twilio_error(code, exc.code, path=request.path,
                                detail=exc.description or "")
        return exc

    @app.errorhandler(Exception)
    def crash(exc: Exception):
        log.exception("the fake Twilio failed on %s %s", request.method, request.path)
        return twilio_error(20500)


def _register_resource(app: Flask, kind: str, name: str, time_field: str,
                       time_param: str) -> None:
    """Create, list and fetch for one resource (messages or calls); lists filter on
    `time_param` (DateSent, StartTime) against the record's `time_field`."""
    base = f"{API_PREFIX}/<account>/{name}"

    def create(account: str) -> Response:
        return _create(kind)

    def list_all(account: str) -> Response:
        return _list(kind, fake_state().records(kind), time_field, time_param)

    def fetch(account: str, sid: str) -> Response:
        found = fake_state().find(kind, sid)
        if not found:
            return twilio_error(20404, path=request.path)
        found.pop("params")  # what it was created with is the fake's, not Twilio's
        return json_response(found)

    def redirect(account: str, sid: str) -> Response:
        """POST to a call: Url (and Method) to follow instead, as Twilio's call update."""
        params = _form_params(request.form)
        if not (params.get("Url") or params.get("Twiml") or params.get("Status")):
            return twilio_error(21205)
        found = fake_state().redirect_call(sid, params)
        if found is None:
            return twilio_error(20404, path=request.path)
        if found is False:
            return twilio_error(21220)
        found.pop("params")
        return json_response(found)

    singular = kind.removesuffix("s")
    if kind == "calls":
        app.add_url_rule(f"{base}/<sid>.json", "update_call", redirect, methods=["POST"])
    app.add_url_rule(f"{base}.json", f"create_{singular}", create, methods=["POST"])
    app.add_url_rule(f"{base}.json", f"list_{kind}", list_all, methods=["GET"])
    app.add_url_rule(f"{base}/<sid>.json", f"fetch_{singular}", fetch, methods=["GET"])


def _form_params(form) -> dict[str, Any]:
    """The posted form: a string per key, or a list for a repeated key."""
    params: dict[str, Any] = {}
    for key in form:
        values = form.getlist(key)
        params[key] = values[0] if len(values) == 1 else values
    return params


def _check_to(to: Any, missing: int) -> Response | None:
    if not to:
        return twilio_error(missing)
    if not isinstance(to, str) or not _E164.fullmatch(to):
        return twilio_error(21211, to=str(to))
    return None


def _validate_message(p: dict[str, Any]) -> Response | None:
    from_, service = p.get("From"), p.get("MessagingServiceSid")
    body, media = p.get("Body"), p.get("MediaUrl") or p.get("ContentSid")
    if problem := _check_to(p.get("To"), 21604):
        return problem
    if not from_ and not service:
        return twilio_error(21603)
    if from_ and not (_E164.fullmatch(from_) or _ALPHA_SENDER.fullmatch(from_)):
        return twilio_error(21212, from_=from_)
    if service and not _MG_SID.fullmatch(service):
        return twilio_error(21701, detail=service)
    if not body and not media:
        return twilio_error(21602)
    if body and len(body) > MAX_BODY:
        return twilio_error(21617)
    return _validate_callback(p)


def _validate_call(p: dict[str, Any]) -> Response | None:
    from_ = p.get("From")
    if problem := _check_to(p.get("To"), 21201):
        return problem
    if not from_:
        return twilio_error(21213)
    if not isinstance(from_, str) or not _E164.fullmatch(from_):
        return twilio_error(21212, from_=str(from_))
    if not (p.get("Url") or p.get("Twiml") or p.get("ApplicationSid")):
        return twilio_error(21205)
    if len(p.get("Twiml") or "") > MAX_TWIML:
        return twilio_error(32018)
    events = p.get("StatusCallbackEvent") or []
    for event in [events] if isinstance(events, str) else events:
        if event not in CALL_EVENTS:
            return twilio_error(20001, detail=f"StatusCallbackEvent {event!r}")
    timeout = p.get("Timeout")
    if timeout is not None and (not str(timeout).isdigit() or not 1 <= int(timeout) <= 600):
        return twilio_error(20001, detail=f"Timeout {timeout!r} (1 to 600 seconds)")
    return _validate_callback(p)


def _validate_callback(p: dict[str, Any]) -> Response | None:
    url = p.get("StatusCallback")
    if url and urlsplit(str(url)).scheme not in ("http", "https"):
        return twilio_error(21609)
    method = str(p.get("StatusCallbackMethod") or "POST").upper()
    if method not in ("GET", "POST"):
        return twilio_error(20001, detail=f"StatusCallbackMethod {method!r}")
    return None


def _create(resource: str) -> Response:
    """Create a message or call, applying the hang and failure rules around recording it."""
    state = fake_state()
    params = _form_params(request.form)
    problem = (_validate_message if resource == "messages" else _validate_call)(params)
    to = params.get("To") if isinstance(params.get("To"), str) else None
    kind = "text" if resource == "messages" else "call"
    if problem is not None:
        payload = json.loads(problem.get_data())
        state.note_refused(resource, to, payload["code"], problem.status_code)
        log.info("refused a %s to %s: %s %s", kind, phones.mask(to), payload["code"],
                 payload["message"])
        return problem
    sock = request.environ.get("werkzeug.socket")
    hang = state.take_rule("hang-before", resource, to)
    if hang is not None and not state.hold(resource, to, "before", hang["seconds"], sock):
        log.info("dropped a %s to %s: the client went away before it was recorded", kind,
                 phones.mask(to))
        return twilio_error(20503)
    if resource == "messages" and state.is_opted_out(to):
        state.note_refused(resource, to, 21610, 400)
        log.info("refused a text to %s: 21610 (they replied STOP)", phones.mask(to))
        return twilio_error(21610, to=to, from_=str(params.get("From") or ""))
    failure = state.take_rule("fail", resource, to)
    if failure is not None:
        state.note_refused(resource, to, failure["code"], failure["http_status"])
        log.info("refused a %s to %s: %s (injected)", kind, phones.mask(to), failure["code"])
        return twilio_error(failure["code"], failure["http_status"], failure["message"],
                            to=to, from_=str(params.get("From") or ""))
    record = state.record_message if resource == "messages" else state.record_call
    created = record(params)
    hang = state.take_rule("hang-after", resource, to)
    if hang is not None and not state.hold(resource, to, "after", hang["seconds"], sock):
        log.info("%s recorded, but its client went away before the answer", created["sid"])
    return json_response(created, 201)


def _parse_when(value: str) -> datetime | date:
    """Parse a list filter value: YYYY-MM-DD, or an ISO 8601 time (UTC if no offset)."""
    value = value.strip()
    if len(value) == 10:
        return date.fromisoformat(value)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time_matches(moment: datetime | None, op: str, bound: datetime | date) -> bool:
    if moment is None:
        return False
    left: datetime | date = moment.date() if not isinstance(bound, datetime) else moment
    if op == ">":
        return left >= bound
    if op == "<":
        return left <= bound
    return left == bound


def _list(resource: str, records: list[Record], time_field: str, time_param: str) -> Response:
    """A page of records, newest first, filtered the way Twilio's list endpoints are."""
    args = request.args
    try:
        page_size = min(max(int(args.get("PageSize", 50)), 1), 1000)
        page = max(int(args.get("Page", 0)), 0)
        bounds = [(op, _parse_when(args[time_param + op]))
                  for op in ("", "<", ">") if args.get(time_param + op)]
    except ValueError as exc:
        return twilio_error(20001, detail=str(exc))
    wanted = {key: args[key] for key in ("To", "From", "Status") if args.get(key)}
    rows = [r for r in records
            if all(r.resource.get(k.lower()) == v for k, v in wanted.items())
            and all(_time_matches(r.times.get(time_field), op, b) for op, b in bounds)]
    rows.sort(key=lambda r: (r.times["date_created"], r.index), reverse=True)
    start = page * page_size
    chunk = rows[start:start + page_size]
    path = request.path
    kept = [(k, v) for k, v in args.items(multi=True) if k not in ("Page", "PageSize",
                                                                    "PageToken")]

    def page_uri(number: int) -> str:
        query = kept + [("PageSize", page_size), ("Page", number)]
        if number:
            query.append(("PageToken", f"PA{number}"))
        return f"{path}?{urlencode(query)}"

    return json_response({
        resource: [r.resource for r in chunk],
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": page_uri(0),
        "next_page_uri": page_uri(page + 1) if start + page_size < len(rows) else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1) if page else None,
        "start": start,
        "uri": page_uri(page),
    })


# --- the control API under /_fake/ --------------------------------------------------------------


def _options() -> dict[str, Any]:
    """The JSON (or form) body of a control request."""
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return {k: v for k, v in request.form.items()}


def _number(value: Any, kind: type = int) -> Any:
    if value is None or value == "" or value == "null":
        return None
    return kind(value)


def _count(o: dict[str, Any]) -> int | None:
    return _number(o["count"]) if "count" in o else 1


def _control(apply: Callable[[dict[str, Any]], None]) -> Response:
    """Apply a control request's options; a bad option is a 400 saying which."""
    options = _options()
    try:
        apply(options)
    except (TypeError, ValueError, KeyError) as exc:
        return json_response({"error": f"{type(exc).__name__}: {exc}"}, 400)
    return json_response({"ok": True, "state": fake_state().describe()})


def _register_control(app: Flask) -> None:
    @app.get("/_fake/health")
    def health():
        return json_response({"ok": True})

    @app.get("/_fake/messages")
    def all_messages():
        return json_response({"messages": _to(fake_state().messages)})

    @app.get("/_fake/calls")
    def all_calls():
        return json_response({"calls": _to(fake_state().calls)})

    @app.get("/_fake/callbacks")
    def all_callbacks():
        return json_response({"callbacks": fake_state().callbacks})

    @app.get("/_fake/state")
    def describe():
        return json_response(fake_state().describe())

    @app.post("/_fake/reset")
    def reset():
        fake_state().reset()
        return json_response({"ok": True})

    @app.post("/_fake/release")
    def release():
        return json_response({"released": fake_state().release()})

    @app.post("/_fake/fail")
    def fail():
        return _control(lambda o: fake_state().fail_create(
            _number(o.get("code")), http_status=_number(o.get("http_status")),
            to=o.get("to"), count=_count(o), resource=o.get("resource", "messages"),
            message=o.get("message")))

    @app.post("/_fake/fail-delivery")
    def fail_delivery():
        return _control(lambda o: fake_state().fail_delivery(
            _number(o["code"]), status=o.get("status", "undelivered"), to=o.get("to"),
            count=_count(o)))

    @app.post("/_fake/hang")
    def hang():
        return _control(lambda o: fake_state().hang_create(
            seconds=_number(o.get("seconds"), float), when=o.get("when", "before"),
            to=o.get("to"), count=_count(o), resource=o.get("resource", "messages")))

    @app.post("/_fake/answerer")
    def answerer():
        return _control(lambda o: fake_state().set_answerer(
            o.get("script") or [], to=o.get("to"), count=_count(o)))

    @app.get("/_fake/calls/<sid>/conversation")
    def conversation(sid: str):
        said = fake_state().conversation(sid)
        if said is None:
            return json_response({"error": "no answered call with that sid"}, 404)
        return json_response(dataclasses.asdict(said))

    @app.post("/_fake/hand-over")
    def hand_over():
        return _control(lambda o: fake_state().hand_over(
            o["number"], on=str(o.get("on", True)).lower() not in ("0", "false", "no")))

    @app.get("/_fake/waiting-calls")
    def waiting_calls():
        return json_response({"calls": fake_state().waiting_calls(request.args.get("to", ""))})

    @app.post("/_fake/calls/<sid>/hang-up")
    def hang_up(sid: str):
        if not fake_state().hang_up(sid):
            return json_response({"error": "no call with that sid is waiting"}, 404)
        return json_response({"ok": True})

    @app.post("/_fake/opt-out")
    def opt_out():
        return _control(lambda o: fake_state().opt_out(
            o["number"], stopped=str(o.get("stopped", True)).lower() not in ("0", "false",
                                                                            "no")))

    @app.post("/_fake/call-outcome")
    def call_outcome():
        return _control(lambda o: fake_state().set_call_outcome(
            o["outcome"], to=o.get("to"), count=_count(o)))

    @app.post("/_fake/chaos")
    def chaos():
        def apply(o: dict[str, Any]) -> None:
            enabled = o.get("enabled", True)
            if isinstance(enabled, str):
                enabled = enabled.lower() not in ("0", "false", "no", "off")
            fake_state().set_chaos(bool(enabled), duplicate=_number(o.get("duplicate"), float),
                                   reorder=_number(o.get("reorder"), float),
                                   seed=_number(o.get("seed")))

        return _control(apply)


def _to(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows to the `?to=` number, or all of them."""
    to = request.args.get("to")
    return [row for row in rows if not to or row["to"] == to]
