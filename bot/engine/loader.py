"""Read flow files into the model, collecting every structural problem with its line.

`load_flows(directory)` reads `*.yaml` (not `tests/`), builds each flow and the global
commands file, then hands the set to `validate` for the checks of meaning.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from . import yamlnodes
from .errors import FlowError
from .model import (
    CHANNELS,
    FLOW_KINDS,
    INPUT_KINDS,
    Command,
    Commands,
    Flow,
    FlowSet,
    Line,
    Option,
    Rule,
    Step,
    Text,
)
from .review import LANGUAGE_NAMES, MACHINE_CHECKED, Review
from .yamlnodes import LineDict, LineList

FLOW_KEYS = ("flow", "description", "kind", "languages", "review", "start", "steps",
             "sms_parts")
STEP_KEYS = ("say", "ask", "after", "action", "args", "options", "input", "digits", "save", "next",
             "then", "else", "send_text", "end", "return", "timeout", "note")
OPTION_KEYS = ("key", "say", "words", "goto", "call", "if", "confirm", "pin", "language")
RULE_KEYS = ("if", "goto", "call", "then")
LINE_KEYS = ("if", "text", "language")
COMMANDS_KEYS = ("languages", "review", "commands", "messages", "on_stuck", "on_silence")
REVIEW_KEYS = ("by", "on", "texts")
COMMAND_KEYS = ("keys", "words", "call")
CHANNEL_KEYS = ("any",) + CHANNELS
KNOWN_LANGUAGES = ("en", "cy", "gd", "ga", "pl", "ur", "pa", "bn", "gu", "ar", "ro", "so")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Reader:
    """Builds model objects from one file's nodes, noting problems as FlowErrors."""

    def __init__(self, file: str, errors: list[FlowError]):
        self.file, self.errors = file, errors
        self.flow: str | None = None
        self.step: str | None = None

    def problem(self, line: int, message: str, fix: str, code: str = "") -> None:
        self.errors.append(FlowError(self.file, line, message, fix, self.flow, self.step,
                                     code=code))

    def keys(self, node: LineDict, allowed: tuple[str, ...], what: str) -> None:
        for key, first, again in node.duplicates:
            self.problem(again, f"'{key}' appears twice in this {what} (first on line {first})",
                         "Give each one its own name, or delete one.", "duplicate")
        for key in node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                fix = f"Did you mean '{close[0]}'?" if close else f"Use: {', '.join(allowed)}."
                self.problem(node.line_of(key), f"unknown key '{key}' in this {what}", fix,
                             "unknown-key")

    def text(self, value, line: int, what: str) -> Text | None:
        """A text: a string (English), {en: ..., cy: ...}, or {sms:, voice:} per language."""
        if isinstance(value, str):
            return Text({"en": {"any": value}}, line)
        if not isinstance(value, LineDict) or not value:
            self.problem(line, f"{what} must be words in quotes, or one entry per language",
                         'Write it like: say: "Hello." or say: {en: "Hello.", cy: "Helo."}',
                         "type")
            return None
        if set(value) <= set(CHANNEL_KEYS):
            value = {"en": value}
        out: dict[str, dict[str, str]] = {}
        for lang, forms in value.items():
            lang_line = value.line_of(lang) if isinstance(value, LineDict) else line
            if lang not in KNOWN_LANGUAGES:
                self.problem(lang_line, f"'{lang}' is not a language code",
                             "Use a two-letter code such as en or cy, or sms:/voice: for "
                             "channel wording.", "language")
                continue
            if isinstance(forms, str):
                out[lang] = {"any": forms}
            elif isinstance(forms, LineDict) and forms and set(forms) <= set(CHANNEL_KEYS):
                out[lang] = {ch: str(v) if v is not None else "" for ch, v in forms.items()}
                if "any" not in forms and set(forms) != set(CHANNELS):
                    missing = [c for c in CHANNELS if c not in forms][0]
                    self.problem(lang_line, f"{what} has no '{missing}' wording in '{lang}'",
                                 f'Add {missing}: "..." (or {missing}: "" to say nothing there).',
                                 "channel")
            else:
                self.problem(lang_line, f"{what} in '{lang}' must be words in quotes",
                             "Write the words, or give sms: and voice: wording.", "type")
        return Text(out, line) if out else None

    def words(self, value, line: int) -> dict[str, list[str]]:
        if value is None:
            return {}
        if isinstance(value, LineList):
            return {"en": [str(w) for w in value]}
        if isinstance(value, LineDict):
            return {lang: [str(w) for w in ws] if isinstance(ws, list) else [str(ws)]
                    for lang, ws in value.items()}
        self.problem(line, "words must be a list", "Write words: [call me, ring me].", "type")
        return {}

    def review(self, data: LineDict, languages) -> dict[str, Review]:
        """`review: {cy: machine-checked}` or `{cy: {by:, on:, texts:}}`, for every language
        but English: how far its words can be trusted (see `review.py`)."""
        node = data.get("review")
        line = data.line_of("review")
        others = [str(lang) for lang in languages if lang != "en"]
        if node is None:
            node = {}
        elif not isinstance(node, LineDict):
            self.problem(line, "review must say, per language, who has read its texts",
                         f"Write review: {{{others[0] if others else 'cy'}: "
                         f"{MACHINE_CHECKED}}}.", "review")
            node = {}
        out = {}
        for lang in others:
            mark = node.get(lang)
            at = node.line_of(lang) if lang in node else \
                line if "review" in data else data.line_of("languages")
            name = LANGUAGE_NAMES.get(lang, lang)
            if mark is None:
                self.problem(at, f"the {name} texts have no review mark",
                             f"Add review: {{{lang}: {MACHINE_CHECKED}}} until a {name} speaker "
                             "has read them.", "review")
                out[lang] = Review(lang, line=at)
            elif mark == MACHINE_CHECKED:
                out[lang] = Review(lang, line=at)
            elif isinstance(mark, LineDict) and all(mark.get(k) for k in REVIEW_KEYS):
                self.keys(mark, REVIEW_KEYS, "review")
                out[lang] = Review(lang, str(mark["by"]), str(mark["on"]), str(mark["texts"]), at)
            else:
                self.problem(at, f"the {name} review mark is not understood",
                             f"Write {lang}: {MACHINE_CHECKED}, or {lang}: {{by: NAME, on: "
                             "YYYY-MM-DD, texts: FINGERPRINT} (flows check prints it).",
                             "review")
                out[lang] = Review(lang, line=at)
        for lang in node:
            if lang not in others:
                self.problem(node.line_of(lang), f"review names '{lang}', which is not one of "
                             "the languages here", "Remove it, or add the language.", "review")
        return out

    def target(self, node: LineDict, what: str) -> tuple[str | None, str | None]:
        goto, call = node.get("goto"), node.get("call")
        if goto is None and call is None:
            self.problem(node.line, f"this {what} goes nowhere",
                         "Add goto: a step in this flow, or call: another flow.", "target")
        elif goto is not None and call is not None:
            self.problem(node.line, f"this {what} has both goto and call",
                         "Keep one: goto for a step here, call for another flow.", "target")
        return (str(goto) if goto is not None else None, str(call) if call is not None else None)


def load_flows(directory=None, *, paths=None, root=None) -> FlowSet:
    """Load and validate every flow in `directory` (or the given `paths`)."""
    from .validate import validate  # validate imports the model only; avoid a cycle at import

    if paths is None:
        directory = Path(directory)
        paths = sorted(p for p in directory.glob("*.yaml") if p.is_file())
        root = directory.parent if root is None else root
    paths = [Path(p) for p in paths]
    root = Path(root) if root is not None else (paths[0].parent if paths else Path("."))
    flowset = FlowSet()
    for path in paths:
        shown = os.path.relpath(path, root)
        flowset.files.append(shown)
        _load_file(path, shown, flowset)
    for flow in flowset.flows.values():
        flow.flowset = flowset
    if directory is not None and flowset.commands is None:
        flowset.errors.append(FlowError(
            os.path.relpath(Path(directory) / "commands.yaml", root), 1,
            "there is no commands file", "Add commands.yaml with the global commands.",
            code="command"))
    validate(flowset)
    return flowset


def _load_file(path: Path, shown: str, flowset: FlowSet) -> None:
    reader = Reader(shown, flowset.errors)
    try:
        data = yamlnodes.load(path.read_text(encoding="utf-8"))
    except yamlnodes.YamlProblem as exc:
        reader.problem(exc.line, f"this is not valid YAML: {exc.message}",
                       "Check the indentation and that every quote is closed.", "yaml")
        return
    if not isinstance(data, LineDict):
        reader.problem(1, "the file must start with flow: and a name (or be commands.yaml)",
                       "Start the file with: flow: my_flow", "shape")
        return
    if "commands" in data:
        if flowset.commands is not None:
            reader.problem(data.line, "a second commands file was found",
                           f"Keep one commands file ({flowset.commands.file}).", "duplicate")
            return
        flowset.commands = _read_commands(data, reader)
        return
    flow = _read_flow(data, reader)
    if flow is None:
        return
    if flow.name in flowset.flows:
        other = flowset.flows[flow.name]
        reader.problem(data.line_of("flow"), f"the name is already used in {other.file}:"
                       f"{other.line}", "Give this flow its own name.", "duplicate")
        return
    flowset.flows[flow.name] = flow


def _read_flow(data: LineDict, r: Reader) -> Flow | None:
    name = data.get("flow")
    if not isinstance(name, str) or not NAME_RE.match(name):
        r.problem(data.line_of("flow"), "the flow has no usable name",
                  "Start with flow: and a name in lower case, like 'flow: status'.", "name")
        return None
    r.flow = name
    r.keys(data, FLOW_KEYS, "flow")
    kind = data.get("kind", "shared")
    if kind not in FLOW_KINDS:
        r.problem(data.line_of("kind"), f"kind '{kind}' is not known", f"Use one of: "
                  f"{', '.join(FLOW_KINDS)}.", "kind")
        kind = "shared"
    languages = data.get("languages", ["en"])
    if not isinstance(languages, list) or "en" not in languages:
        r.problem(data.line_of("languages"), "languages must be a list that includes en",
                  "Write languages: [en] or languages: [en, cy].", "language")
        languages = ["en"]
    for lang in languages:
        if lang not in KNOWN_LANGUAGES:
            r.problem(data.line_of("languages"), f"'{lang}' is not a language code",
                      "Use a two-letter code such as en or cy.", "language")
    steps_node = data.get("steps")
    steps: dict[str, Step] = {}
    if not isinstance(steps_node, LineDict) or not steps_node:
        r.problem(data.line_of("steps"), "the flow has no steps",
                  "Add steps: with at least one step under it.", "shape")
    else:
        for key, first, again in steps_node.duplicates:
            r.step = key
            r.problem(again, f"step '{key}' is defined twice (first on line {first})",
                      "Rename one of them; step names must be unique in a flow.", "duplicate")
        for step_id, node in steps_node.items():
            r.step = str(step_id)
            step = _read_step(str(step_id), node, steps_node.line_of(step_id), r)
            if step:
                steps[step.id] = step
        r.step = None
    start = data.get("start") or (next(iter(steps)) if steps else "")
    sms_parts = data.get("sms_parts")
    if isinstance(sms_parts, dict):
        sms_parts = _parts_by_language(sms_parts, languages, data.line_of("sms_parts"), r)
    elif sms_parts is not None and not _whole(sms_parts):
        r.problem(data.line_of("sms_parts"), "sms_parts must be a whole number",
                  "Write sms_parts: 1 for a one-part text, or {en: 2, cy: 4}.", "type")
        sms_parts = None
    flow = Flow(name=name, file=r.file, line=data.line_of("flow"), start=str(start), steps=steps,
                description=str(data.get("description", "")), kind=kind,
                languages=[str(x) for x in languages], sms_parts=sms_parts,
                review=r.review(data, languages),
                start_line=data.line_of("start"))
    return flow


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _parts_by_language(parts: dict, languages: list, line: int, r: Reader) -> dict | None:
    """`sms_parts: {en: 2, cy: 4}`: a whole number for each of the flow's languages."""
    out = {}
    for lang in languages:
        value = parts.get(lang)
        if not _whole(value):
            r.problem(line, f"sms_parts has no whole number for '{lang}'",
                      f"Write sms_parts: {{{', '.join(f'{x}: 2' for x in languages)}}}.", "type")
            return None
        out[str(lang)] = value
    for lang in parts:
        if lang not in languages:
            r.problem(line, f"sms_parts names '{lang}', which the flow does not declare",
                      "Add it to languages:, or remove it from sms_parts.", "language")
    return out


def _read_step(step_id: str, node, line: int, r: Reader) -> Step | None:
    if not NAME_RE.match(step_id):
        r.problem(line, f"'{step_id}' is not a usable step name",
                  "Use lower case letters, digits and _, starting with a letter.", "name")
    if not isinstance(node, LineDict):
        r.problem(line, "a step must be a set of keys such as say:, ask:, next:",
                  "Indent the step's keys under its name.", "shape")
        return None
    r.keys(node, STEP_KEYS, "step")
    step = Step(id=step_id, line=line, key_lines=dict(node.key_lines))
    if "say" in node:
        step.say = _read_say(node["say"], node.line_of("say"), r)
    if "ask" in node:
        step.ask = r.text(node["ask"], node.line_of("ask"), "ask")
    if "after" in node:
        step.after = r.text(node["after"], node.line_of("after"), "after")
    if "send_text" in node:
        step.send_text = r.text(node["send_text"], node.line_of("send_text"), "send_text")
    if "action" in node:
        step.action = str(node["action"])
        args = node.get("args", {})
        if not isinstance(args, dict):
            r.problem(node.line_of("args"), "args must be name: value pairs",
                      "Write args: {reason: asked for a call back}.", "type")
            args = {}
        step.args = {str(k): v for k, v in args.items()}
    elif "args" in node:
        r.problem(node.line_of("args"), "args are given but there is no action",
                  "Add action: or remove args:.", "shape")
    if "options" in node:
        step.options = _read_options(node["options"], node.line_of("options"), r)
    step.input = node.get("input", "choice" if "options" in node else None)
    if step.input is not None and step.input not in INPUT_KINDS:
        r.problem(node.line_of("input"), f"input '{step.input}' is not known",
                  f"Use one of: {', '.join(INPUT_KINDS)}.", "input")
        step.input = None
    step.digits = node.get("digits")
    step.save = node.get("save")
    step.timeout = node.get("timeout")
    step.end = node.get("end") is True
    step.returns = node.get("return") is True
    if "else" in node:
        step.otherwise = str(node["else"])
    step.next = _read_next(node, r)
    return step


def _read_say(value, line: int, r: Reader) -> list[Line]:
    items = value if isinstance(value, LineList) else [value]
    lines: list[Line] = []
    for i, item in enumerate(items):
        item_line = items.line_of(i) if isinstance(items, LineList) else line
        if isinstance(item, LineDict) and "text" in item:
            r.keys(item, LINE_KEYS, "say line")
            text = r.text(item["text"], item.line_of("text"), "say")
            when = item.get("if")
            language = item.get("language")
            if text:
                lines.append(Line(text, str(when) if when is not None else None, item_line,
                                  str(language) if language is not None else None))
        else:
            text = r.text(item, item_line, "say")
            if text:
                lines.append(Line(text, None, item_line))
    return lines


def _read_options(value, line: int, r: Reader) -> list[Option]:
    if not isinstance(value, LineList):
        r.problem(line, "options must be a list", "Start each option with '- key:'.", "type")
        return []
    options = []
    for i, item in enumerate(value):
        item_line = value.line_of(i)
        if not isinstance(item, LineDict):
            r.problem(item_line, "an option must have key:, say:, words: and goto:",
                      "Write it like: - {key: 1, say: To hear this again, goto: menu}", "shape")
            continue
        r.keys(item, OPTION_KEYS, "option")
        key = item.get("key")
        if key is None or str(key).strip() == "":
            r.problem(item_line, "this option has no key",
                      "Add key: 1 (the number to press or reply).", "key")
            key = ""
        label = r.text(item["say"], item.line_of("say"), "the option's say") if "say" in item \
            else None
        goto, call = r.target(item, "option")
        when = item.get("if")
        options.append(Option(key=str(key), label=label, words=r.words(item.get("words"),
                              item.line_of("words")), goto=goto, call=call,
                              when=str(when) if when is not None else None,
                              confirm=item.get("confirm") is True, pin=item.get("pin") is True,
                              language=str(item["language"]) if "language" in item else None,
                              line=item_line))
    return options


def _read_next(node: LineDict, r: Reader) -> list[Rule]:
    if "then" in node and "next" in node:
        r.problem(node.line_of("then"), "the step has both then: and next:",
                  "Use then: for one way on, or next: for choices; not both.", "shape")
    if "then" in node:
        return [Rule(None, goto=str(node["then"]), line=node.line_of("then"))]
    value = node.get("next")
    if value is None:
        return []
    if isinstance(value, str):
        return [Rule(None, goto=value, line=node.line_of("next"))]
    if not isinstance(value, LineList):
        r.problem(node.line_of("next"), "next must be a list of - if: ... goto: ...",
                  "Write each branch on its own line starting with '- '.", "type")
        return []
    rules = []
    for i, item in enumerate(value):
        item_line = value.line_of(i)
        if not isinstance(item, LineDict):
            r.problem(item_line, "each next branch needs goto: or call:",
                      "Write it like: - if: caller.verified then goto: read_status", "shape")
            continue
        r.keys(item, RULE_KEYS, "next branch")
        goto, call = r.target(item, "next branch")
        when = item.get("if")
        then = item.get("then")
        if then is not None and call is None:
            r.problem(item.line_of("then"), "then: in a next branch only works with call:",
                      "Use goto: alone, or call: a flow with then: the step to go on with.",
                      "shape")
        rules.append(Rule(str(when) if when is not None else None, goto, call, item_line,
                          str(then) if then is not None else None))
    return rules


def _read_commands(data: LineDict, r: Reader) -> Commands:
    r.keys(data, COMMANDS_KEYS, "commands file")
    languages = {}
    langs = data.get("languages") or {"en": {}}
    for code, info in langs.items():
        info = info if isinstance(info, dict) else {}
        languages[str(code)] = {"locale": info.get("locale", "en-GB"),
                                "sms_parts": info.get("sms_parts", 2), "line": langs.line_of(code)
                                if isinstance(langs, LineDict) else data.line}
    commands = {}
    node = data.get("commands")
    if isinstance(node, LineDict):
        for name, spec in node.items():
            if not isinstance(spec, LineDict):
                r.problem(node.line_of(name), f"command '{name}' must have keys:, words: "
                          "or call:", "Indent them under the command's name.", "shape")
                continue
            r.keys(spec, COMMAND_KEYS, "command")
            keys = [str(k) for k in spec.get("keys", [])]
            call = spec.get("call")
            commands[str(name)] = Command(str(name), keys, r.words(spec.get("words"), spec.line),
                                          str(call) if call else None, node.line_of(name))
    messages = {}
    msg_node = data.get("messages")
    if isinstance(msg_node, LineDict):
        for name, value in msg_node.items():
            text = r.text(value, msg_node.line_of(name), f"message '{name}'")
            if text:
                messages[str(name)] = text
    return Commands(file=r.file, languages=languages, commands=commands, messages=messages,
                    review=r.review(data, list(languages)),
                    on_stuck=data.get("on_stuck"), on_silence=data.get("on_silence"),
                    line=data.line_of("commands"), key_lines=dict(data.key_lines),
                    message_lines=dict(msg_node.key_lines) if isinstance(msg_node, LineDict)
                    else {})
