"""How long a caller listens before they reach what they called for.

Each call path is played against the engine's own cast (`demo_data`), as `caseline flows
check` does, and measured in two segments:

- **to the PIN prompt**: from answering until the PIN has been asked for. A caller presses
  as soon as they hear their choice (a key interrupts what is being said), so for a menu
  only the words up to the end of the sentence offering that key count;
- **to the facts**: from the PIN until the caller has heard every fact they may know of the
  four people call for (how the case stands, the worker's name and number, when they will
  next hear). A fact they may know that never comes fails the path.

Seconds are words at WORDS_PER_MINUTE, slowed by the speech rate, plus every pause.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from . import settings
from .demo_data import DEMO
from .fake import FakeContext
from .forms import press, spoken_date, spoken_number
from .io import Expect, Input, Pause, Say
from .output import sentences_of
from .render import say_text
from .runner import EngineError, advance

WORDS_PER_MINUTE = 150
PIN_PROMPT_WORDS = 37  # about 15 s
FACTS_WORDS = 62  # about 25 s
_WORD = re.compile(r"[\w'’]+")
_LONGEST_NEWS = ("Sam has talked to the care home manager and to your bank. The bank has "
                 "stopped the payments. Sam will visit you on Tuesday to talk about what you "
                 "want to happen next.")


FOUR_FACTS = ("status", "worker", "number", "next contact")


@dataclass(frozen=True)
class CallPath:
    """One kind of caller: who calls (a cast key, or "withheld"), what they key, and how
    the cast differs for them."""

    name: str
    caller: str
    keys: tuple[str, ...]  # up to the PIN (and case reference); then the facts are heard
    flow: str = "welcome"
    recipient: str | None = None  # for a call we make: whom we called
    changes: dict = field(default_factory=dict)  # {"cases": {"c_rose": {...}}, ...}
    facts: tuple[str, ...] = FOUR_FACTS  # what the call is for, once the PIN is given
    language: str = "en"  # what the caller hears the facts in


PATHS = (
    CallPath("person", "rose", ("1", "4821")),
    CallPath("person, longest news", "rose", ("1", "4821"),
             changes={"cases": {"c_rose": {"latest_news": _LONGEST_NEWS}}}),
    CallPath("person, after a call back", "rose", ("1", "4821"),
             changes={"people": {"rose": {"last_contact": {
                 "kind": "callback", "date": "2025-12-04", "passed_to": "Sam"}}}}),
    CallPath("worker away, a cover", "mary", ("1", "1593")),
    CallPath("worker away, the duty team", "margaret", ("1", "1470")),
    CallPath("representative", "ann", ("1", "1357")),
    CallPath("representative, status only", "tom", ("1", "3690"),
             changes={"representatives": {"tom": {"of": "rose", "scopes": ["status"]}}}),
    CallPath("withheld number", "withheld", ("1", "4821", "482193")),
    CallPath("a call we make: news", "rose", ("4821",), flow="news_notice", recipient="rose",
             facts=("news", "next contact")),
    CallPath("a call we make: check-in", "rose", ("4821",), flow="checkin", recipient="rose",
             facts=()),
    # Welsh: chosen with 9 at the greeting (never from the number), or from the record of
    # whom we call. The same budgets: a Welsh caller has no more time to spare.
    CallPath("Welsh: person", "gwen", ("9", "1", "6420"), language="cy"),
    CallPath("Welsh: worker away, a cover", "mary", ("9", "1", "1593"), language="cy"),
    CallPath("Welsh: representative", "ann", ("9", "1", "1357"), language="cy"),
    CallPath("Welsh: a call we make: news", "gwen", ("6420",), flow="news_notice",
             recipient="gwen", facts=("news", "next contact"), language="cy"),
)


@dataclass
class Segment:
    words: int = 0
    seconds: float = 0.0
    keys: int = 0

    def add(self, replies) -> None:
        self.words += sum(words_of(r) for r in replies if isinstance(r, Say))
        self.seconds += seconds_of(replies)


@dataclass
class PathTiming:
    path: CallPath
    to_pin: Segment
    to_facts: Segment
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def words_of(say: Say) -> int:
    return len(_WORD.findall(say_text(say, "voice")))


def seconds_of(replies) -> float:
    """Speaking time at the reply's rate, and the pauses (one after each sentence)."""
    total = 0.0
    for index, reply in enumerate(replies):
        if isinstance(reply, Say):
            total += words_of(reply) / WORDS_PER_MINUTE * 60 * 100 / reply.rate
            after = replies[index + 1] if index + 1 < len(replies) else None
            if not isinstance(after, Pause):
                total += settings.PAUSE_BETWEEN_SENTENCES_SECONDS
        elif isinstance(reply, Pause):
            total += reply.seconds
    return total


def measure(flows, path: CallPath, fixture: dict = DEMO) -> PathTiming:
    """Play one path and measure its two segments."""
    data = _with_changes(fixture, path.changes)
    number = None if path.caller == "withheld" else FakeContext.number_of(data, path.caller)
    ctx = FakeContext(data, caller_number=number, channel="voice", recipient=path.recipient)
    flow = flows[path.flow]
    state, replies, _ = advance(flow, None, Input.start(), ctx)
    to_pin, problems = Segment(), []
    keys = list(path.keys)
    while not _asks_pin(replies):
        if not keys:
            return PathTiming(path, to_pin, Segment(), ["the PIN was never asked for"])
        key = keys.pop(0)
        to_pin.add(_until_offer(replies, key, path.language if key != "9" else "cy"))
        to_pin.keys += 1
        state, replies, _ = advance(flow, state, Input.digits(key), ctx)
    to_pin.add(_until_expect(replies))
    to_facts = Segment()
    for key in keys:  # the PIN, and the case reference after it
        to_facts.keys += 1
        state, replies, _ = advance(flow, state, Input.digits(key), ctx)
        if key != keys[-1]:
            to_facts.add(replies)
    wanted = _facts(data, path)
    heard = _last_fact(replies, wanted, problems)
    to_facts.add(replies[:heard + 1])
    if to_pin.words > PIN_PROMPT_WORDS:
        problems.append(f"{to_pin.words} words to the PIN prompt (budget {PIN_PROMPT_WORDS})")
    if to_facts.words > FACTS_WORDS:
        problems.append(f"{to_facts.words} words from the PIN to the facts (budget "
                        f"{FACTS_WORDS})")
    return PathTiming(path, to_pin, to_facts, problems)


def measure_all(flows, fixture: dict = DEMO) -> list[PathTiming]:
    """Every path whose flow is loaded; a path the flows cannot play is a problem."""
    timings = []
    for path in PATHS:
        if path.flow not in flows:
            continue
        try:
            timings.append(measure(flows, path, fixture))
        except (EngineError, KeyError) as exc:
            timings.append(PathTiming(path, Segment(), Segment(),
                                      [f"the call could not be played ({exc})"]))
    return timings


def table(timings: list[PathTiming]) -> str:
    rows = [("call path", "to PIN prompt", "keys", "PIN to facts", "keys", "")]
    for t in timings:
        rows.append((t.path.name, f"{t.to_pin.words} words, {t.to_pin.seconds:.0f} s",
                     str(t.to_pin.keys), f"{t.to_facts.words} words, {t.to_facts.seconds:.0f} s",
                     str(t.to_facts.keys), "ok" if t.ok else "OVER"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    return (f"\nTime to the facts on a call (budgets: {PIN_PROMPT_WORDS} words to the PIN"
            f" prompt, {FACTS_WORDS} from the PIN to the facts; {WORDS_PER_MINUTE} words a"
            " minute at the caller's rate, with pauses)\n" + "\n".join(lines))


def _with_changes(fixture: dict, changes: dict) -> dict:
    data = copy.deepcopy(fixture)
    for kind, records in changes.items():
        for key, values in records.items():
            data[kind][key].update(values)
    return data


def _asks_pin(replies) -> bool:
    return any(isinstance(r, Expect) and r.kind == "pin" for r in replies)


def _until_offer(replies, key: str, language: str = "en") -> list:
    """The replies up to the sentence that offers `key` (the caller presses then)."""
    offer = press(key, language, "voice")
    for index, reply in enumerate(replies):
        if isinstance(reply, Say) and re.search(rf"\b{re.escape(offer)}\b",
                                                 say_text(reply, "voice")):
            return replies[:index + 1]
    return list(replies)


def _until_expect(replies) -> list:
    for index, reply in enumerate(replies):
        if isinstance(reply, Expect):
            return replies[:index]
    return list(replies)


def _facts(data: dict, path: CallPath) -> dict[str, str | None]:
    """What this caller may hear of the four facts, as the words that say each one."""
    person_key, scopes = _who(data, path)
    if not path.facts:
        return {}
    case = data["cases"][data["people"][person_key]["case"]]
    worker = data["workers"][case["worker"]]
    contact = worker
    if worker.get("away"):
        contact = data["workers"].get(worker.get("cover", ""), {})
        if not contact or contact.get("away"):
            contact = {"name": "the duty team", "number": data["service"]["duty_number"]}
    facts = {"status": None, "worker": contact["name"].split()[0],
             "number": spoken_number(contact["number"]), "news": case.get("latest_news")}
    if case.get("next_contact"):
        facts["next contact"] = spoken_date(case["next_contact"], path.language,
                                            data["now"][:10], "voice")
    allowed = {"status": "status", "worker": "worker", "number": "worker",
               "next contact": "next_contact", "news": "news"}
    return {name: words for name, words in facts.items()
            if name in path.facts and allowed[name] in scopes}


def _who(data: dict, path: CallPath) -> tuple[str, set[str]]:
    everything = {"status", "news", "worker", "next_contact", "closure"}
    if path.caller in data["representatives"]:
        rep = data["representatives"][path.caller]
        return rep["of"], set(rep.get("scopes", []))
    if path.caller == "withheld":
        person = next(k for k, p in data["people"].items()
                      if p["pin"] == path.keys[-2] and p.get("case"))
        return person, everything
    return path.caller, everything


def _last_fact(replies, wanted: dict[str, str | None], problems: list[str]) -> int:
    """The index of the reply that completes the facts; each missing one is a problem.
    How the case stands is the first sentence of the `status` step (its words vary)."""
    last = 0
    for name, words in wanted.items():
        # A fact of several sentences (the news) is heard once its last sentence is.
        last_words = sentences_of(words)[-1] if words else None
        found = next((i for i, r in enumerate(replies) if isinstance(r, Say) and (
            r.step == "status" if words is None else last_words in say_text(r, "voice"))),
            None)
        if found is None:
            problems.append(f"never said: {name}")
        else:
            last = max(last, found)
    return last


# ---- the same replies by text: what a verified status reply costs, in all ----------------

# With typical values. Welsh keeps its accents, so its texts are UCS-2 (67 characters a
# part, not 153): English's 3 parts hold 459 characters, Welsh's 8 hold 536, for words
# that run about a sixth longer. The cost is Welsh's, and stated, not hidden by misspelling.
STATUS_REPLY_PARTS = {"en": 3, "cy": 8}


@dataclass(frozen=True)
class TextReply:
    name: str
    caller: str
    keys: tuple[str, ...] = ()  # after "news" and the PIN
    changes: dict = field(default_factory=dict)
    language: str = "en"  # cy: the texter sends 9 first, then "newyddion"


TEXT_REPLIES = (
    TextReply("relative", "ann"),
    TextReply("worker away, a cover", "mary",
              changes={"people": {"mary": {"numbers": ["+447700900401"]}}}),
    TextReply("after a message", "neil_harold", ("1",)),
    TextReply("discreet person", "lena"),
    TextReply("Welsh: person", "gwen", language="cy"),
    TextReply("Welsh: relative", "ann", language="cy"),
)


@dataclass
class TextCost:
    reply: TextReply
    texts: int
    parts: int
    budget: int

    @property
    def ok(self) -> bool:
        return self.parts <= self.budget


def text_costs(flows, fixture: dict = DEMO) -> list[TextCost]:
    """Text "news", then the PIN: the parts the whole answer costs (every text of it)."""
    from .render import sms_messages
    from .sms import cost

    out = []
    if "welcome" not in flows:
        return out
    for reply in TEXT_REPLIES:
        data = _with_changes(fixture, reply.changes)
        ctx = FakeContext(data, caller_number=FakeContext.number_of(data, reply.caller),
                          channel="sms")
        pin = (data["people"].get(reply.caller) or data["representatives"][reply.caller])["pin"]
        state = None
        for first in ("9", "newyddion") if reply.language == "cy" else ("news",):
            state, _, _ = advance(flows["welcome"], state, Input.sms(first), ctx)
        state, replies, _ = advance(flows["welcome"], state, Input.sms(pin), ctx)
        for key in reply.keys:
            state, replies, _ = advance(flows["welcome"], state, Input.sms(key), ctx)
        messages = sms_messages(replies)
        ucs2 = reply.language != "en"  # a name or news with an accent makes it so
        out.append(TextCost(reply, len(messages), sum(cost(m, ucs2).parts for m in messages),
                            STATUS_REPLY_PARTS[reply.language]))
    return out


def text_table(costs: list[TextCost]) -> str:
    rows = [("reply by text", "texts", "parts in all", "budget", "")]
    rows += [(c.reply.name, str(c.texts), str(c.parts), str(c.budget), "ok" if c.ok else "OVER")
             for c in costs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ("\nA verified status reply by text (typical values): every text of it, in all\n"
            + "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                        for r in rows))
