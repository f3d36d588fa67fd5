"""Conversation tests: YAML beside the flows, run against the fake context.

A test names a flow, a channel and who is calling, then turns of input and what the output
must (`out_contains`) and must not (`out_not_contains`) say, and which effects must happen.
See flows/README.md for the format.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .context import Needs
from .demo_data import DEMO
from .fake import FakeContext
from .io import Expect, Input
from .model import FlowSet
from .render import render_text, render_voice
from .runner import advance

TURN_KEYS = ("in", "say", "press", "confidence", "silence", "start", "record", "dial",
             "out_contains", "out_not_contains", "out", "effects", "no_effects", "ends",
             "keypad_only", "note")


@dataclass
class Turn:
    label: str
    output: str
    effects: list[str]


@dataclass
class TestResult:
    name: str
    file: str
    transcript: list[Turn] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_tests(directory) -> list[tuple[str, dict, dict]]:
    """(file, fixture, test) for every test in directory/*.yaml."""
    out = []
    for path in sorted(Path(directory).glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        except yaml.YAMLError as exc:
            broken = {"name": f"(cannot read {path.name}: {exc})", "turns": [], "broken": True}
            out.append((str(path), DEMO, broken))
            continue
        fixture = DEMO
        if isinstance(data, dict):
            fixture = _merge(DEMO, data.get("fixture") or {})
            data = data.get("tests") or []
        for test in data:
            out.append((str(path), fixture, test))
    return out


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def context_for(test: dict, fixture: dict) -> FakeContext:
    given = test.get("given") or {}
    channel = test.get("channel", "sms")
    recipient = given.get("recipient")
    caller = given.get("caller", recipient)
    number = given.get("from")
    if number is None and caller not in (None, "unknown", "withheld"):
        number = FakeContext.number_of(fixture, caller)
    if number is None and caller == "unknown":
        number = "+447700900888"
    needs = None
    if any(k in given for k in ("extra_time", "relay", "speech_rate")):
        needs = Needs(extra_time=bool(given.get("extra_time")), relay=bool(given.get("relay")),
                      speech_rate=int(given.get("speech_rate", 100)))
    return FakeContext(fixture, caller_number=number, channel=channel, now=given.get("now"),
                       language=given.get("language"), needs=needs, recipient=recipient)


def to_input(turn: dict, channel: str) -> tuple[Input, str]:
    if turn.get("start"):
        return Input.start(), "(start)"
    if turn.get("silence"):
        return Input.silence(), "(silence)"
    if "dial" in turn:
        return Input.dial(str(turn["dial"])), f"(person's line: {turn['dial']})"
    if "record" in turn:
        return Input.recording(str(turn["record"]), 20), "(recorded a message)"
    if "press" in turn:
        return Input.digits(str(turn["press"])), f"presses {turn['press']}"
    if "say" in turn:
        conf = float(turn.get("confidence", 0.9))
        return Input.speech(str(turn["say"]), conf), f"says {turn['say']!r} ({conf:g})"
    text = "" if turn.get("in") is None else str(turn.get("in"))
    if channel == "voice":
        if re.fullmatch(r"[0-9*#]+", text):
            return Input.digits(text), f"presses {text}"
        return Input.speech(text, float(turn.get("confidence", 0.9))), f"says {text!r}"
    return Input.sms(text), f"texts {text!r}"


def run_test(flows: FlowSet, test: dict, fixture: dict = DEMO, file: str = "") -> TestResult:
    result = TestResult(test.get("name", "(no name)"), file)
    if test.get("broken"):
        result.failures.append("the test file is not valid YAML")
        return result
    channel = test.get("channel", "sms")
    flow_name = test.get("flow", "welcome")
    if flow_name not in flows:
        result.failures.append(f"flow '{flow_name}' is not loaded")
        return result
    ctx = context_for(test, fixture)
    state = None
    turns = list(test.get("turns") or [])
    if channel == "voice" and not (turns and turns[0].get("start")):
        turns.insert(0, {"start": True})
    for number, turn in enumerate(turns, start=1):
        unknown = [k for k in turn if k not in TURN_KEYS]
        if unknown:
            result.failures.append(f"turn {number}: unknown key(s) {unknown}; use {TURN_KEYS}")
            return result
        inp, label = to_input(turn, channel)
        state, replies, effects = advance(flows[flow_name], state, inp, ctx)
        output = render_text(replies) if channel == "sms" else render_voice(replies)
        kinds = [e.kind for e in effects]
        result.transcript.append(Turn(label, output, kinds))
        result.failures += check_turn(number, turn, output, kinds, replies, state)
        if result.failures:
            break
    return result


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_turn(number: int, turn: dict, output: str, kinds: list[str], replies,
               state) -> list[str]:
    problems = []
    low = output.lower()
    for want in _as_list(turn.get("out_contains")):
        if want.lower() not in low:
            close = difflib.get_close_matches(want, output.splitlines(), n=1, cutoff=0.3)
            hint = f" Closest line: {close[0]!r}" if close else ""
            problems.append(f"turn {number}: expected the reply to contain {want!r}.{hint}")
    for banned in _as_list(turn.get("out_not_contains")):
        if banned.lower() in low:
            problems.append(f"turn {number}: the reply must not contain {banned!r}, but it does")
    if "out" in turn and output.strip() != str(turn["out"]).strip():
        diff = difflib.unified_diff(str(turn["out"]).strip().splitlines(),
                                    output.strip().splitlines(), "expected", "got", lineterm="")
        problems.append(f"turn {number}: the reply differs:\n" + "\n".join(diff))
    for kind in _as_list(turn.get("effects")):
        if kind not in kinds:
            problems.append(f"turn {number}: expected effect {kind!r}; got {kinds or 'none'}")
    for kind in _as_list(turn.get("no_effects")):
        if kind in kinds:
            problems.append(f"turn {number}: effect {kind!r} must not happen, but it did")
    if "ends" in turn and bool(turn["ends"]) != bool(state.ended):
        problems.append(f"turn {number}: expected the conversation "
                        f"{'to end' if turn['ends'] else 'to go on'}")
    if turn.get("keypad_only"):
        expect = next((r for r in reversed(replies) if isinstance(r, Expect)), None)
        if expect is None or expect.speech:
            problems.append(f"turn {number}: expected to wait for the keypad only")
    return problems


def format_result(result: TestResult) -> str:
    """A transcript, and what went wrong, for `caseline flows test`."""
    lines = [f"FAIL {result.name} ({result.file})"]
    for i, turn in enumerate(result.transcript, start=1):
        lines.append(f"  {i}. caller {turn.label}")
        lines += [f"     | {line}" for line in turn.output.splitlines() or [""]]
        if turn.effects:
            lines.append(f"     effects: {', '.join(turn.effects)}")
    lines += [f"  ! {problem}" for problem in result.failures]
    return "\n".join(lines)
