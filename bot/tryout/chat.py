"""`caseline chat`: a phone in the terminal, for trying the line as a caller would.

Online (the default) it texts or calls a running service through its real webhooks, signed as
Twilio signs them (`bot.tryout.phone_sim.SimulatedPhone`), and shows the texts the line sends back
through the demo's fake Twilio. `--offline` runs the flows in this process instead, against
the made-up people in bot/engine/demo_data.py.
"""

from __future__ import annotations

import sys
import time
import uuid
from email.utils import parsedate_to_datetime
from pathlib import Path

import click
import requests

from bot import phones
from bot.config import ConfigError, Settings, default_flows_dir, load_settings
from bot.engine import Input, advance, load_flows, render_voice, sms_messages
from bot.engine.demo_data import DEMO
from bot.engine.fake import FakeContext
from bot.engine.forms import e164
from bot.engine.matching import TWILIO_START_WORDS, TWILIO_STOP_WORDS
from bot.tryout.phone_sim import CallStep, PhoneError, SimulatedPhone, path_of

DEMO_CALLER = "07700 900101"  # Edith Marsh, the first person in bot/demo/demo.yaml (PIN 4821)
LAST_LOOK_SECONDS = 1.0  # after the chat, how long to wait for a text the line is still sending
KEYS = frozenset("0123456789*#")
CALL_HINT = "[press keys, or type words to speak; blank = silence; * repeats; 0 = a person]"


class LineProblem(Exception):
    """The service could not be used; the message says what to do."""


@click.command()
@click.option("--voice", is_flag=True, help="Call the line instead of texting it.")
@click.option("--from", "number", default=None, metavar="NUMBER",
              help="The number you text or call from, written any UK way.  "
                   "[default: 07700 900101, Edith Marsh, PIN 4821]")
@click.option("--withheld", is_flag=True, help="Call from a withheld number (implies --voice).")
@click.option("--url", default=None, metavar="URL",
              help="Where the running service answers, if not at PUBLIC_URL (a tunnel, a proxy).")
@click.option("--offline", is_flag=True,
              help="Need no service: run the flows in this process, with made-up people.")
@click.option("--flow", "flow_name", default=None, metavar="FLOW",
              help="With --offline: the flow to run, welcome unless told (checkin, "
                   "closure_notice, feedback start as if we called).")
@click.option("--dir", "directory", default=None, metavar="DIR",
              help="With --offline: the flows directory.")
def chat(voice: bool, number: str | None, withheld: bool, url: str | None, offline: bool,
         flow_name: str | None, directory: str | None) -> None:
    """A phone in your terminal: text or call a running Caseline, as Twilio would.

    Start the service first (`caseline demo` in another terminal). Each text or key press goes
    to its real webhooks, signed as Twilio signs them, and you see what the line answers.
    Texts the line sends you later (for example "send it by text") show as
    'text from the line>'. The demo people and their PINs are at the top of
    bot/demo/demo.yaml.

    \b
    Texting: type a text and press Enter. /quit or Ctrl-D stops.
    Calling: type digits (and * or #) to press keys, words to speak, ?words for
    speech heard unclearly, and nothing for silence. /quit or Ctrl-D hangs up.

    With --offline the flows run here, against made-up people instead: Ann 07700 900123
    (PIN 1357), Rose 0113 496 0201 (PIN 4821).
    """
    voice = voice or withheld
    if offline:
        _offline(voice, number, withheld, flow_name or "welcome", directory)
        return
    _check_online_options(number, withheld, url, flow_name or directory)
    _online(voice, "anonymous" if withheld else _caller(number or DEMO_CALLER), url)


def _check_online_options(number: str | None, withheld: bool, url: str | None,
                          offline_only: str | None) -> None:
    """Usage errors for options that cannot go together when talking to a service."""
    if offline_only:
        raise click.UsageError("--flow and --dir only work with --offline: a running line "
                               "chooses its own flows.")
    if number and withheld:
        raise click.UsageError("Give --from NUMBER or --withheld, not both.")
    if url and not url.startswith(("http://", "https://")):
        raise click.BadParameter("give the full address, e.g. http://127.0.0.1:5000",
                                 param_hint="--url")


def _caller(raw: str) -> str:
    """The --from number in E.164, or a usage error saying what is wrong with it."""
    try:
        return phones.normalise(raw)
    except phones.InvalidPhoneNumber as exc:
        raise click.BadParameter(str(exc), param_hint="--from") from None


def _online(voice: bool, caller: str, url: str | None) -> None:
    """Talk to the service; a problem ends the chat with what to do, and exit code 1."""
    try:
        _converse(voice, caller, url)
    except LineProblem as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except PhoneError as exc:
        click.echo(f"The line gave an answer Twilio would not accept: {exc}. "
                   "The service's log says why.", err=True)
        sys.exit(1)


def _converse(voice: bool, caller: str, url: str | None) -> None:
    """Text or call the service at `url` (else PUBLIC_URL) through its webhooks."""
    settings = _settings()
    base = (url or settings.public_url).rstrip("/")
    texts = LineTexts(settings.twilio_api_base, None if caller == "anonymous" else caller)
    texts.answer_calls_here(True)  # the line's calls to this number ring in this chat
    to = (voice and settings.twilio_voice_number) or settings.twilio_phone_number
    phone = SimulatedPhone(_transport(base), public_url=settings.public_url,
                           auth_token=settings.twilio_auth_token, from_number=caller,
                           to_number=_tidy(to), account_sid=settings.twilio_account_sid)
    try:
        _knock(base)
        (_call if voice else _text)(phone, texts)
        texts.show(wait=LAST_LOOK_SECONDS)
    finally:
        texts.answer_calls_here(False)


def _settings() -> Settings:
    """The settings, or the list of what to fix and exit code 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _knock(base: str) -> None:
    """Fail at once, before anything is typed, if nothing answers at `base`."""
    try:
        requests.get(f"{base}/healthz", timeout=5).close()
    except requests.RequestException as exc:
        raise _unreachable(base, exc) from None


def _transport(base: str):
    """Post as Twilio would, to `base` + the path it signed; turn failures into LineProblem."""

    def post(url: str, form: dict, headers: dict) -> tuple[int, str]:
        try:
            response = requests.post(base + path_of(url), data=form, headers=headers, timeout=20)
        except requests.RequestException as exc:
            raise _unreachable(base, exc) from None
        if response.status_code == 403:
            raise LineProblem("The line refused the signature: is TWILIO_AUTH_TOKEN the same as "
                              "the running service's, and PUBLIC_URL the address it checks?")
        return response.status_code, response.text

    return post


def _unreachable(base: str, exc: requests.RequestException) -> LineProblem:
    """What to tell the tester when a request to the service got no answer."""
    if isinstance(exc, requests.Timeout):
        return LineProblem(f"Caseline at {base} did not answer in time: its log may say why.")
    if isinstance(exc, requests.ConnectionError):
        return LineProblem(f"Caseline is not answering at {base}. Start it with "
                           "`caseline demo` in another terminal.")
    return LineProblem(f"Caseline at {base} cannot be reached: {exc}")


class LineTexts:
    """Texts the line sends to the chat's number, read back from the demo's fake Twilio."""

    def __init__(self, api_base: str, number: str | None):
        self.url = f"{api_base.rstrip('/')}/_fake/messages" if api_base and number else None
        self.number = number
        self.earlier = self._fetch()  # sent before this chat: only the last one is shown
        self.seen = {row.get("sid") for row in self.earlier}

    def show_last_earlier(self) -> None:
        """Show the last text sent before the chat began: the line may be waiting for a reply."""
        if self.earlier:
            row = self.earlier[-1]
            click.echo(f"[the line's last text to this number, {_when(row)}, before this chat:]")
            _line(str(row.get("body", "")), "text from the line> ")

    def show(self, wait: float = 0.0) -> None:
        """Print texts not shown yet; wait up to `wait` seconds for one if there is none."""
        deadline = time.monotonic() + wait
        while self.url:
            new = [row for row in self._fetch() if row.get("sid") not in self.seen]
            for row in new:
                self.seen.add(row.get("sid"))
                _line(str(row.get("body", "")), "text from the line> ")
            if new or time.monotonic() >= deadline:
                return
            time.sleep(0.2)

    def answer_calls_here(self, on: bool) -> None:
        """Ask the fake to let this chat answer the calls the line makes to its number."""
        self._control("hand-over", {"number": self.number, "on": on})

    def waiting_calls(self) -> list[dict]:
        if self.url is None:
            return []
        try:
            response = requests.get(self.url.replace("/messages", "/waiting-calls"),
                                    params={"to": self.number}, timeout=3)
            return response.json().get("calls", []) if response.status_code == 200 else []
        except (requests.RequestException, ValueError):
            return []

    def hang_up(self, sid: str) -> None:
        self._control(f"calls/{sid}/hang-up", {})

    def _control(self, what: str, body: dict) -> None:
        if self.url is None:
            return
        try:
            requests.post(self.url.replace("/messages", f"/{what}"), json=body,
                          timeout=3).close()
        except requests.RequestException:
            pass  # not the fake: nothing to steer

    def note_keyword(self, typed: str) -> None:
        """Twilio itself blocks texts to a number that replied STOP (error 21610) until it
        replies START: tell the fake, so it does the same."""
        word = typed.strip().upper()
        stopped = True if word in TWILIO_STOP_WORDS else False if word in TWILIO_START_WORDS \
            else None
        if stopped is not None:
            self._control("opt-out", {"number": self.number, "stopped": stopped})

    def _fetch(self) -> list[dict]:
        """The texts sent to the number; none (and no more asking) if there is no fake."""
        if not self.url:
            return []
        try:
            response = requests.get(self.url, params={"to": self.number}, timeout=3)
            rows = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            rows = None
        if isinstance(rows, dict):
            rows = rows.get("messages")
        if not isinstance(rows, list):
            self.url = None  # not a fake Twilio we can read: skip quietly from now on
            return []
        return [row for row in rows if isinstance(row, dict)]


def _when(row: dict) -> str:
    """When the fake says a text was created, in this computer's time ('26 Nov 11:11')."""
    try:
        return parsedate_to_datetime(row["date_created"]).astimezone().strftime("%d %b %H:%M")
    except (KeyError, TypeError, ValueError):
        return "earlier"


def _text(phone: SimulatedPhone, texts: LineTexts) -> None:
    """Each line typed is a text; print what the line texts back."""
    click.echo(f"[texting the line on {_shown(phone.to_number)} from "
               f"{_shown(phone.from_number)}; /quit or Ctrl-D stops]")
    texts.show_last_earlier()
    while True:
        texts.show()  # after the last reply, before the prompt
        for call in texts.waiting_calls():
            _ringing(phone, texts, call)
        typed = _read("you> ")
        if typed is None or typed.strip().lower() == "/quit":
            return
        if not typed.strip():
            click.echo("[nothing sent: type a text, or /quit to stop]")
            continue
        for body in phone.text(typed):
            _line(body)
        texts.note_keyword(typed)


def _call(phone: SimulatedPhone, texts: LineTexts) -> None:
    """Ring the line and follow the call until either side hangs up."""
    caller = "a withheld number" if phone.from_number == "anonymous" else \
        _shown(phone.from_number)
    click.echo(f"[calling the line on {_shown(phone.to_number)} from {caller}; "
               "/quit or Ctrl-D hangs up]")
    texts.show_last_earlier()
    _on_the_call(phone, phone.call(), texts)


def _on_the_call(phone: SimulatedPhone, step: CallStep, texts: LineTexts | None) -> None:
    """Say what the line says and answer it, until either side hangs up."""
    while True:
        for words in step.said:
            _line(words)
        if step.ended or not (step.gather or step.record or step.dial):
            click.echo("[the call has ended]")
            return
        if texts is not None:
            texts.show()
        step = _respond(phone, step)
        if step is None:
            click.echo("[you hung up]")
            return


def _ringing(texting: SimulatedPhone, texts: LineTexts, call: dict) -> None:
    """The line is calling this number: answer it here, or let it ring off."""
    typed = _read(f"[the line is calling you from {_shown(call['from'])}: answer? y/n] ")
    try:
        if typed is None or not typed.strip().lower().startswith("y"):
            click.echo("[you let it ring]")
            return
        phone = SimulatedPhone(texting.transport, public_url=texting.public_url,
                               auth_token="", from_number=call["from"], to_number=call["to"],
                               account_sid=texting.account_sid, direction="outbound-api")
        phone.validator = texting.validator
        _on_the_call(phone, phone.answer(call["sid"], call["url"]), None)
    finally:
        texts.hang_up(call["sid"])  # the fake tells the line how the call ended


def _respond(phone: SimulatedPhone, step: CallStep) -> CallStep | None:
    """Do what the line waits for: answer a person, leave a message, or press or speak."""
    if step.dial:
        return _put_through(phone, step.dial)
    if step.record:
        return _record(phone, step.record)
    click.echo(CALL_HINT)
    typed = _read("you> ", blank="(silence)")
    if typed is None or typed.strip().lower() == "/quit":
        return None
    text = typed.strip()
    keys = text.replace(" ", "")
    if not text:
        return phone.silence()
    if set(keys) <= KEYS:
        return phone.press(keys)
    if text.startswith("?"):
        return phone.say(text[1:].strip(), confidence=0.3)  # heard, but not clearly
    return phone.say(text, confidence=0.9)


def _put_through(phone: SimulatedPhone, number: str) -> CallStep | None:
    """The line dials a person: ask whether they answered and tell the line."""
    click.echo(f"[putting you through to {_shown(number)} ...]")
    while True:
        typed = _read("[did they answer? y/n] ")
        if typed is None or typed.strip().lower() == "/quit":
            return None
        answer = typed.strip().lower()[:1]
        if answer == "y":
            click.echo("[you talk to them; then they hang up]")
        if answer in ("y", "n"):
            return phone.dial_result("completed" if answer == "y" else "no-answer")


def _record(phone: SimulatedPhone, record: dict) -> CallStep | None:
    """The line records: the typed message goes as a recording, and as its transcription."""
    click.echo("[recording: type your message, it is sent as a recording]")
    typed = _read("you> ")
    if typed is None or typed.strip().lower() == "/quit":
        return None
    step = phone.leave_message(seconds=max(1, round(len(typed.split()) / 2.5)))
    if record.get("transcribeCallback") and typed.strip():
        phone.post(record["transcribeCallback"], {
            "CallSid": phone.call_sid, "AccountSid": phone.account_sid,
            "TranscriptionSid": "TR" + uuid.uuid4().hex, "TranscriptionText": typed.strip(),
            "TranscriptionStatus": "completed"})
    return step


def _read(prompt: str, blank: str = "") -> str | None:
    """One line typed (shown when it comes from a pipe); None at Ctrl-D or Ctrl-C."""
    try:
        typed = input(prompt)
    except (EOFError, KeyboardInterrupt):
        click.echo()
        return None
    if not sys.stdin.isatty():
        click.echo(typed or blank)
    return typed


def _line(body: str, prefix: str = "line> ") -> None:
    click.echo(prefix + body.replace("\n", "\n" + " " * len(prefix)))


def _tidy(number: str) -> str:
    """A number in E.164, as Twilio gives it; anything else as it is."""
    try:
        return phones.normalise(number)
    except ValueError:
        return number


def _shown(number: str) -> str:
    """A number as people write it ('07700 900101'); anything else as it is."""
    try:
        return phones.display(number)
    except ValueError:
        return number


# ---- caseline chat --offline: the flows in this process ---------------------------------------

class LocalLine:
    """The turn loop against flows in this process, with made-up data (`--offline`)."""

    def __init__(self, flowset, flow: str, ctx):
        self.flow, self.ctx, self.state = flowset[flow], ctx, None

    def send(self, inp: Input):
        self.state, replies, effects = advance(self.flow, self.state, inp, self.ctx)
        return replies, effects, self.state.ended


def _offline(voice: bool, number: str | None, withheld: bool, flow_name: str,
             directory: str | None) -> None:
    """Run `flow_name` here against the made-up people in bot/engine/demo_data.py."""
    fs = load_flows(Path(directory) if directory else default_flows_dir()).raise_for_errors()
    number = None if withheld else e164(number or DEMO["representatives"]["ann"]["number"])
    channel = "voice" if voice else "sms"
    outbound = fs[flow_name].kind == "outbound"
    recipient = _person_at(number) if outbound and number else None
    ctx = FakeContext(DEMO, caller_number=number, channel=channel, recipient=recipient)
    line = LocalLine(fs, flow_name, ctx)
    click.echo(f"[offline: {'calling' if voice else 'texting'} the line from "
               f"{number or 'a withheld number'}; 'quit' to stop]")
    if voice or outbound:
        _show(line.send(Input.start()), voice)
    while True:
        try:
            typed = input("you> ")
        except EOFError:
            break
        if not sys.stdin.isatty():
            click.echo(typed or "(silence)" if voice else typed)  # show scripted input
        if typed.strip().lower() in ("quit", "/quit"):
            break
        reply = line.send(_input(typed, voice))
        _show(reply, voice)
        if reply[2] and voice:
            click.echo("[the call has ended]")
            break


def _person_at(number: str) -> str | None:
    """Who an outbound flow is calling at `number`: the first made-up person there."""
    ctx = FakeContext(DEMO, caller_number=number)
    candidates = ctx.identify_caller().candidates
    return candidates[0] if candidates else None


def _input(typed: str, voice: bool) -> Input:
    """A typed line as the engine's input: a text, or keys, speech, silence or a dial result
    ('dial:no-answer') on a call."""
    text = typed.strip()
    if not voice:
        return Input.sms(typed)
    if not text:
        return Input.silence()
    if set(text) <= KEYS:
        return Input.digits(text)
    if text.startswith("dial:"):
        return Input.dial(text[5:].strip())
    if text.startswith("?"):
        return Input.speech(text[1:].strip(), 0.3)  # heard, but not clearly
    return Input.speech(text, 0.9)


def _show(reply, voice: bool) -> None:
    """Print what the line says or texts, then the effects the turn asked for."""
    replies, effects, _ended = reply
    if voice:
        for said in render_voice(replies).splitlines():
            _line(said)
    else:
        for body in sms_messages(replies):
            _line(body)
    for effect in effects:
        click.echo(f"      [{effect.kind}: {_brief(effect)}]")


def _brief(effect) -> str:
    """An effect's fields that are set, as 'name=value, ...'."""
    data = effect.to_dict()
    data.pop("kind")
    return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", (), 0))
