"""TwiML for calls: the only place that builds it, from the engine's channel-neutral replies.

Every question is a `<Gather input="dtmf speech">` in British English with at least ten
seconds to answer, a pause before speech counts as finished (never Twilio's `auto`,
which cuts slow speakers off), hints from the options' words, and
`actionOnEmptyResult` so silence comes back to us to re-prompt; a `<Redirect>` after it
is the safety net. Speech is slowed per the person's needs with SSML prosody; phone
numbers are read digit by digit in groups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, Say, VoiceResponse

from bot.engine.io import Expect, Pause
from bot.engine.io import Say as SayReply
from bot.engine.render import say_text
from bot.engine.settings import PAUSE_BETWEEN_SENTENCES_SECONDS

MAX_TWIML_BYTES = 64_000  # Twilio refuses a document over 64 kB (error 11750)
MIN_TIMEOUT = 10
RECORD_KEYS = "#*0"  # the keys that end a recording: done, start again, a person


@dataclass(frozen=True)
class VoiceSettings:
    voice: str = "Polly.Amy"
    language: str = "en-GB"
    speech_end_seconds: int = 3
    extra_time: bool = False


@dataclass(frozen=True)
class CallUrls:
    """Where Twilio comes back to: each carries the turn number, so a retry is recognised."""

    answer: str  # the Gather / Redirect action
    record: str  # where a recording is posted
    dial: str  # where the result of connecting to a person is posted
    transcription: str  # where Twilio posts a transcription


def render(replies, urls: CallUrls, settings: VoiceSettings, *, connect_to: str | None = None,
           caller_id: str | None = None, hang_up: bool = False) -> str:
    """A TwiML document for one turn of a call."""
    response = VoiceResponse()
    target = response
    expect = next((r for r in replies if isinstance(r, Expect)), None)
    if expect is not None and not expect.record:
        target = response.gather(**_gather_options(expect, urls.answer, settings))
    spoken = [r for r in replies if not isinstance(r, SayReply) or say_text(r, "voice").strip()]
    for index, reply in enumerate(spoken):
        if isinstance(reply, SayReply):
            after = spoken[index + 1] if index + 1 < len(spoken) else None
            gap = after.seconds if isinstance(after, Pause) else DEFAULT_BREAK_SECONDS
            _say(target, reply, settings, pause=gap)
        elif isinstance(reply, Pause) and reply.seconds >= 1:
            # Short pauses are the SSML break after a sentence; <Pause> counts whole seconds.
            target.pause(length=round(reply.seconds))
    if connect_to:
        response.dial(connect_to, action=urls.dial, method="POST", timeout=20,
                      caller_id=caller_id)
    elif expect is not None and expect.record:
        # Hash ends the message; star (start again) and 0 (a person) work here too.
        response.record(action=urls.record, method="POST", max_length=expect.max_seconds or 120,
                        timeout=_timeout(expect, settings), play_beep=True,
                        finish_on_key=RECORD_KEYS,
                        transcribe=True, transcribe_callback=urls.transcription)
        response.redirect(urls.answer, method="POST")  # an empty recording calls no action
    elif expect is not None:
        response.redirect(urls.answer, method="POST")  # the safety net after the Gather
    elif hang_up:
        response.hangup()
    else:
        response.redirect(urls.answer, method="POST")
    return str(response)


def _gather_options(expect: Expect, action: str, settings: VoiceSettings) -> dict:
    inputs = " ".join(x for x, on in (("dtmf", expect.keypad), ("speech", expect.speech)) if on)
    options = dict(input=inputs or "dtmf", action=action, method="POST",
                   timeout=_timeout(expect, settings), action_on_empty_result=True,
                   language=expect.locale or settings.language)
    if expect.speech:
        factor = 3 if settings.extra_time else 1
        options["speech_timeout"] = max(expect.speech_end, settings.speech_end_seconds * factor)
        if expect.hints:
            options["hints"] = ", ".join(expect.hints)
    if expect.num_digits:
        options["num_digits"] = expect.num_digits
    elif expect.kind in ("choice", "confirm") and all(len(k) == 1 for k in expect.keys):
        options["num_digits"] = 1  # or Twilio waits the whole timeout after the key press
    if expect.kind == "pin":
        options["finish_on_key"] = "#"
    return options


def _timeout(expect: Expect, settings: VoiceSettings) -> int:
    """At least 10 s to answer; three times that for people who need extra time or relay."""
    return max(expect.timeout, MIN_TIMEOUT * (3 if settings.extra_time else 1))


_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Without the characters XML 1.0 cannot carry: our words never hold them, but a
    staff-written flow or a stored value might, and one would make the TwiML invalid."""
    return _NOT_IN_XML.sub("", text)


def _say(target: VoiceResponse | Gather, reply: SayReply, settings: VoiceSettings, *,
         pause: float) -> None:
    """One sentence, at the caller's rate, and the short pause after it (rule 5)."""
    words = xml_safe(say_text(reply, "voice"))
    voice, language = OTHER_VOICES.get(reply.language, (settings.voice, settings.language))
    if reply.rate < 100:
        say = Say(voice=voice, language=language)
        say.prosody(words, rate=f"{reply.rate}%")
    else:
        say = Say(words, voice=voice, language=language)
    if pause < 1:
        say.break_(time=f"{round(max(pause, DEFAULT_BREAK_SECONDS) * 1000)}ms")
    target.append(say)


DEFAULT_BREAK_SECONDS = PAUSE_BETWEEN_SENTENCES_SECONDS  # after a sentence, before a question


# A voice must match its language or Twilio fails the call: other languages' voices.
OTHER_VOICES = {"cy": ("Polly.Gwyneth", "cy-GB")}


def safe_response(message: str, settings: VoiceSettings) -> str:
    """What a caller hears when something went wrong on our side: never silence."""
    response = VoiceResponse()
    response.say(message, voice=settings.voice, language=settings.language)
    response.hangup()
    return str(response)
