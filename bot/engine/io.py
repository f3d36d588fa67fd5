"""What comes into a turn (Input) and what goes out to be said or shown (replies).

Replies are channel-neutral: a renderer makes an SMS body or TwiML from them. `Say` holds text
and phone numbers (read digit by digit on a call); `Pause` is a break on a call; `Expect`
marks that an answer is awaited, with everything a TwiML <Gather>/<Record> needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache

INPUT_KINDS = ("start", "text", "digits", "speech", "silence", "recording", "dial")


@dataclass(frozen=True)
class Input:
    kind: str
    text: str = ""
    confidence: float | None = None
    url: str = ""
    seconds: int = 0

    @classmethod
    def start(cls) -> Input:
        return cls("start")

    @classmethod
    def sms(cls, body: str) -> Input:
        return cls("text", body or "")

    @classmethod
    def digits(cls, digits: str) -> Input:
        return cls("digits", digits or "")

    @classmethod
    def speech(cls, text: str, confidence: float = 1.0) -> Input:
        return cls("speech", text or "", confidence)

    @classmethod
    def silence(cls) -> Input:
        return cls("silence")

    @classmethod
    def recording(cls, url: str, seconds: int, key: str = "") -> Input:
        """A message recorded on a call; `key` is the one that ended it (# when done,
        * to start again, 0 for a person)."""
        return cls("recording", key or "", url=url, seconds=seconds)

    @classmethod
    def dial(cls, status: str) -> Input:
        """The result of connecting to a person: Twilio's DialCallStatus."""
        return cls("dial", status)


@dataclass(frozen=True)
class Segment:
    """A piece of a sentence: plain words, or a phone number (E.164 or a short code)."""

    text: str = ""
    number: str = ""


@dataclass(frozen=True)
class Say:
    segments: tuple[Segment, ...]
    step: str = ""  # where it came from, for transcripts and the lint
    new_line: bool = False  # in a text, start a new line (menu choices)
    rate: int = 100  # speech rate, percent
    language: str = "en"

    @property
    def plain(self) -> str:
        return "".join(s.text or s.number for s in self.segments)


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Expect:
    """An answer is awaited. For a call: keypad and/or speech, timeouts and hints."""

    kind: str  # choice, pin, number, message, confirm, dial
    keys: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    timeout: int = 10
    speech_end: int = 3
    keypad: bool = True
    speech: bool = True
    num_digits: int | None = None
    record: bool = False
    max_seconds: int = 0
    locale: str = "en-GB"


REPLY_TYPES = {"say": Say, "pause": Pause, "expect": Expect}


def reply_to_dict(reply) -> dict:
    name = {Say: "say", Pause: "pause", Expect: "expect"}[type(reply)]
    return {"type": name, **plain(reply)}


def plain(value):
    """`dataclasses.asdict` for the engine's JSON-safe data, without its deep copy of
    every leaf: dataclasses, dicts, lists and tuples are rebuilt, the rest is shared
    (strings, numbers, None: nothing a caller could change in place). It is also how a
    turn copies the state it was given, so it is written for speed: the exact types
    first, by identity, then their subclasses (a StrEnum is a str)."""
    kind = type(value)
    if kind in _LEAF_TYPES:  # most of a state
        return value
    if kind is dict:
        return {k: plain(v) for k, v in value.items()}
    if kind is list:
        return [plain(v) for v in value]
    if isinstance(value, _LEAVES):
        return value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    names = _field_names(kind)
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    return value


_LEAF_TYPES = frozenset((str, int, float, bool, type(None)))
_LEAVES = (str, int, float, type(None))


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    return tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None


def reply_from_dict(data: dict):
    data = dict(data)
    cls = REPLY_TYPES[data.pop("type")]
    if cls is Say:
        data["segments"] = tuple(Segment(**s) for s in data["segments"])
    for key in ("keys", "hints"):
        if key in data:
            data[key] = tuple(data[key])
    return cls(**data)


@dataclass
class State:
    """Where a conversation is, between turns. JSON-safe through to_dict/from_dict."""

    flow: str
    step: str | None = None  # the step waiting for an answer
    values: dict = field(default_factory=dict)
    stack: list[dict] = field(default_factory=list)  # where to return: {"flow", "step"}
    tries: int = 0
    misheard: int = 0
    silent_seconds: int = 0
    silences: int = 0
    last: list[dict] = field(default_factory=list)  # the last prompt, for repeat
    pending: dict | None = None  # a read-back awaiting yes or no
    ended: bool = False
    turn: int = 0
    # Who gave the right PIN in this conversation (Verified as a dict). Unlike `values`, it
    # outlives the end of a flow and a fresh request: the line forgets it (a text's window,
    # the end of a call), and a new PIN attempt replaces it.
    verified: dict | None = None
    # The language the caller chose in this conversation (a key at the greeting), kept like
    # `verified`. None: the line's default before the PIN, the person's own after it.
    language: str | None = None
    # The caller asked for more time, or went quiet: every wait from then on is longer.
    more_time: bool = False

    def to_dict(self) -> dict:
        return plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> State:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
