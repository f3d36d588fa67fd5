"""The flow language, as data: flows of steps; text per language and channel; options; rules.

A step does, in this order: its `action`, its `say` lines, its `send_text`, then either asks
(`ask` with `options` or an `input`) and waits, or moves on (`next`/`then`, `return`, `end`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import FlowError, FlowLoadError

CHANNELS = ("sms", "voice")
INPUT_KINDS = ("choice", "pin", "number", "message", "dial")
FLOW_KINDS = ("inbound", "outbound", "shared", "command")


@dataclass
class Text:
    """Template source per language, and per channel where the wording differs."""

    by_language: dict[str, dict[str, str]]  # language -> {"any"|"sms"|"voice": source}
    line: int = 0

    def source(self, language: str, channel: str, fallback: str = "en") -> str | None:
        for lang in (language, fallback):
            forms = self.by_language.get(lang)
            if forms:
                found = forms.get(channel, forms.get("any"))
                if found is not None:
                    return found
        return None

    def sources(self):
        """Every (language, channel, source); channel 'any' means both."""
        for lang, forms in self.by_language.items():
            for channel, src in forms.items():
                yield lang, channel, src

    def channels(self, language: str) -> list[str]:
        forms = self.by_language.get(language, {})
        return list(CHANNELS) if "any" in forms else [c for c in CHANNELS if c in forms]


@dataclass
class Line:
    """One `say` line, shown only when its condition holds."""

    text: Text
    when: str | None = None
    line: int = 0
    language: str | None = None  # always said in this language (an offer of that language)


@dataclass
class Option:
    key: str
    label: Text | None  # "To hear this again" -> "To hear this again, press 1."
    words: dict[str, list[str]]  # language -> spoken/typed synonyms
    goto: str | None = None
    call: str | None = None
    when: str | None = None
    confirm: bool = False  # read back a low-confidence speech answer
    pin: bool = False  # a text that is only a PIN chooses this, and the PIN is checked at once
    language: str | None = None  # choosing this switches the conversation to that language
    line: int = 0


@dataclass
class Rule:
    """One branch of `next`: `if` (optional) then goto a step or call a flow."""

    when: str | None
    goto: str | None = None
    call: str | None = None
    line: int = 0
    then: str | None = None  # with call: the step to run when the called flow returns


@dataclass
class Step:
    id: str
    line: int
    say: list[Line] = field(default_factory=list)
    ask: Text | None = None
    after: Text | None = None  # said after a menu's choices (e.g. how to hear it again)
    action: str | None = None
    args: dict = field(default_factory=dict)
    options: list[Option] = field(default_factory=list)
    input: str | None = None  # choice, pin, number, message, dial
    digits: int | None = None  # for input: number
    save: str | None = None
    next: list[Rule] = field(default_factory=list)
    otherwise: str | None = None  # `else:` where a wrong answer goes instead of a re-prompt
    send_text: Text | None = None
    end: bool = False
    returns: bool = False
    timeout: int | None = None
    key_lines: dict = field(default_factory=dict)

    @property
    def asks(self) -> bool:
        return self.input is not None

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass
class Flow:
    name: str
    file: str
    line: int
    start: str
    steps: dict[str, Step]
    description: str = ""
    kind: str = "shared"
    languages: list[str] = field(default_factory=lambda: ["en"])
    # One text's budget: a number for every language, or per language ({en: 2, cy: 4}:
    # Welsh keeps its accents, so its texts are UCS-2 and need more parts).
    sms_parts: int | dict[str, int] | None = None
    start_line: int = 0
    review: dict = field(default_factory=dict)  # language -> review.Review
    flowset: FlowSet | None = field(default=None, repr=False, compare=False)

    def step(self, step_id: str) -> Step:
        return self.steps[step_id]

    def one_text_parts(self, language: str) -> int | None:
        """The parts one text of this flow may take in `language`, if the flow says."""
        if isinstance(self.sms_parts, dict):
            return self.sms_parts.get(language)
        return self.sms_parts


@dataclass
class Command:
    """A global command: keys and words that work at every step, and the flow it calls."""

    name: str
    keys: list[str]
    words: dict[str, list[str]]
    call: str | None
    line: int = 0


@dataclass
class Commands:
    """The global file (commands.yaml): languages, commands, shared messages, fallbacks."""

    file: str
    languages: dict[str, dict]  # code -> {"locale": "en-GB", "sms_parts": 2}
    commands: dict[str, Command]
    messages: dict[str, Text]
    on_stuck: str | None = None
    on_silence: str | None = None
    review: dict = field(default_factory=dict)  # language -> review.Review
    line: int = 1
    key_lines: dict = field(default_factory=dict)
    message_lines: dict = field(default_factory=dict)

    def locale(self, language: str) -> str:
        return self.languages.get(language, {}).get("locale", "en-GB")

    def words(self, name: str, language: str) -> list[str]:
        cmd = self.commands.get(name)
        if cmd is None:
            return []
        langs = ["en"] if language == "en" else ["en", language]
        return [w for lang in langs for w in cmd.words.get(lang, [])]


@dataclass
class FlowSet:
    """All flows of a directory, the global commands, and every problem found loading them."""

    flows: dict[str, Flow] = field(default_factory=dict)
    commands: Commands | None = None
    errors: list[FlowError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Flow:
        return self.flows[name]

    def __contains__(self, name: str) -> bool:
        return name in self.flows

    @property
    def ok(self) -> bool:
        return not any(e.is_error for e in self.errors)

    def raise_for_errors(self) -> FlowSet:
        if not self.ok:
            raise FlowLoadError([e for e in self.errors if e.is_error])
        return self
