"""Checks of meaning over loaded flows: targets, reachability, actions, placeholders, languages."""

from __future__ import annotations

import difflib

from . import settings, templates
from .actions import REGISTRY
from .errors import FlowError
from .matching import TWILIO_START_WORDS, TWILIO_STOP_WORDS
from .model import Flow, FlowSet, Step, Text
from .review import LANGUAGE_NAMES
from .schema import RESERVED

REQUIRED_COMMANDS = ("repeat", "person", "stop", "start", "help", "wrong_number", "danger",
                     "news")
REQUIRED_MESSAGES = ("no_match", "no_input", "keypad_only", "not_a_choice", "confirm", "closing")


def validate(fs: FlowSet) -> None:
    for flow in fs.flows.values():
        FlowChecker(flow, fs).run()
    if fs.commands is not None:
        CommandsChecker(fs).run()


class FlowChecker:
    def __init__(self, flow: Flow, fs: FlowSet):
        self.flow, self.fs = flow, fs
        self.saves = {s.save for s in flow.steps.values() if s.save and s.input != "pin"}

    def error(self, line: int, message: str, fix: str, step: Step | None = None,
              code: str = "") -> None:
        self.fs.errors.append(FlowError(self.flow.file, line, message, fix, self.flow.name,
                                        step.id if step else None, code=code))

    def run(self) -> None:
        flow = self.flow
        if flow.steps and flow.start not in flow.steps:
            self.error(flow.start_line or flow.line, f"start '{flow.start}' is not a step in "
                       f"this flow ({self._steps()})", self._fix(flow.start), code="goto")
        self.check_offers_every_language()
        before = len(self.fs.errors)
        for step in flow.steps.values():
            self.check_step(step)
        if not any(e.code == "goto" for e in self.fs.errors[before:]):
            self.check_reachable()  # after a misspelt goto, "unreachable" would only repeat it
        self.check_loops()

    def check_offers_every_language(self) -> None:
        """A caller who chose Welsh must never meet a flow in English: every flow is in every
        language the line offers (commands.yaml), so each text needs them all."""
        offered = list(self.fs.commands.languages) if self.fs.commands else ["en"]
        missing = [lang for lang in offered if lang not in self.flow.languages]
        if missing:
            names = ", ".join(LANGUAGE_NAMES.get(lang, lang) for lang in missing)
            self.error(self.flow.line, f"the flow is not in {names}, which the line offers",
                       f"Declare languages: [{', '.join(offered)}] and write each text's "
                       f"{', '.join(missing)}: (or take the language out of commands.yaml).",
                       code="line-language")

    def _steps(self) -> str:
        names = list(self.flow.steps)
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        return f"steps: {shown}"

    def _fix(self, target: str) -> str:
        close = difflib.get_close_matches(target, list(self.flow.steps), n=1)
        if close:
            return f"Did you mean '{close[0]}'? Check the spelling or add the step."
        return "Check the spelling or add the step."

    def check_target(self, step: Step, line: int, goto: str | None, call: str | None,
                     what: str) -> None:
        if goto is not None and goto not in self.flow.steps:
            self.error(line, f"{what} '{goto}' is not a step in this flow ({self._steps()})",
                       self._fix(goto), step, "goto")
        if call is not None and call not in self.fs.flows:
            close = difflib.get_close_matches(call, list(self.fs.flows), n=1)
            fix = f"Did you mean '{close[0]}'?" if close else \
                f"Use one of: {', '.join(sorted(self.fs.flows))}."
            self.error(line, f"call '{call}' is not a flow", fix, step, "call")

    def check_step(self, step: Step) -> None:
        self.check_shape(step)
        for rule in step.next:
            self.check_target(step, rule.line, rule.goto, rule.call, "next")
            if rule.then is not None:
                self.check_target(step, rule.line, rule.then, None, "then")
            if rule.when is not None:
                self.check_template(step, rule.when, rule.line, expression=True)
        if step.next and step.next[-1].when is not None:
            self.error(step.next[-1].line, "next has no branch for when no if: matches",
                       "Add a last branch with goto: and no if:.", step, "else")
        for rule in step.next[:-1]:
            if rule.when is None:
                self.error(rule.line, "a next branch without if: comes before other branches",
                           "Move the branch without if: to the end.", step, "else")
        if step.otherwise is not None:
            self.check_target(step, step.line_of("else"), step.otherwise, None, "else")
        self.check_options(step)
        self.check_action(step)
        for line in step.say:
            if line.language is not None:
                self.check_language(step, line.line, line.language)
            self.check_text(step, line.text, [line.language] if line.language else None)
            if line.when is not None:
                self.check_template(step, line.when, line.line, expression=True)
        for text in (step.ask, step.after, step.send_text):
            if text is not None:
                self.check_text(step, text)
        if step.after is not None and step.input != "choice":
            self.error(step.line_of("after"), "after: is said after a menu's choices, and this"
                       " step has none", "Give the step options, or move the words to say: or"
                       " ask:.", step, "shape")
        if step.save is not None and (not isinstance(step.save, str) or step.save in RESERVED
                                      or step.save.startswith("_")):
            self.error(step.line_of("save"), f"save: '{step.save}' cannot be used as a name",
                       f"Choose another name; these are taken: {', '.join(sorted(RESERVED))}.",
                       step, "save")

    def check_shape(self, step: Step) -> None:
        goes_on = bool(step.next) or step.end or step.returns
        if (step.end or step.returns) and (step.next or step.asks):
            self.error(step.line, "the step both ends and goes on",
                       "Remove end:/return:, or remove next:/then:/ask:.", step, "shape")
        if step.asks and step.input != "dial" and step.ask is None:
            self.error(step.line, f"the step waits for input '{step.input}' but asks nothing",
                       "Add ask: with the question.", step, "shape")
        if step.ask is not None and not step.asks:
            self.error(step.line_of("ask"), "the step asks but gives no way to answer",
                       "Add options: (choices) or input: pin/number/message.", step, "shape")
        if step.input == "choice":
            if not step.options:
                self.error(step.line, "the step has input: choice but no options",
                           "Add options: with key:, say:, words: and goto:.", step, "shape")
            if step.next:
                self.error(step.line_of("next") if "next" in step.key_lines
                           else step.line_of("then"), "a step with options goes on by its options",
                           "Remove next:/then:; each option has its own goto:.", step, "shape")
        elif step.asks and not step.next:
            self.error(step.line, "the step does not say where to go after the answer",
                       "Add then: with the next step.", step, "shape")
        elif not step.asks and not goes_on:
            self.error(step.line, "the step does not say where to go next",
                       "Add then: or next:, or end: true.", step, "shape")
        if step.input == "number" and not (isinstance(step.digits, int) and step.digits > 0):
            self.error(step.line_of("input"), "input: number needs digits:",
                       "Add digits: 6 (how many numbers to key in).", step, "shape")
        if step.timeout is not None and (not isinstance(step.timeout, int) or
                                         step.timeout < settings.NO_INPUT_TIMEOUT_SECONDS):
            self.error(step.line_of("timeout"), f"timeout {step.timeout} is too short",
                       f"Give at least {settings.NO_INPUT_TIMEOUT_SECONDS} seconds.", step, "a11y")

    def check_options(self, step: Step) -> None:
        opts = step.options
        numbered = [o for o in opts if o.language is None]
        if len(numbered) > settings.MENU_MAX_OPTIONS:
            self.error(numbered[settings.MENU_MAX_OPTIONS].line,
                       f"the menu has {len(numbered)} choices, more than "
                       f"{settings.MENU_MAX_OPTIONS}", "Move some choices to a second menu.",
                       step, "menu")
        seen_conditional = False
        for opt in opts:
            if opt.language is not None:
                self.check_language_option(step, opt)
        for index, opt in enumerate(numbered, start=1):
            self.check_target(step, opt.line, opt.goto, opt.call, "goto")
            if opt.key in ("0", "*"):
                self.error(opt.line, f"key {opt.key} is kept for "
                           f"{'a person' if opt.key == '0' else 'repeat'} at every step",
                           "Number the choices 1, 2, 3 in order.", step, "key")
            elif opt.key and opt.key != str(index):
                self.error(opt.line, f"choice {index} has key {opt.key}",
                           f"Number the choices 1, 2, 3 in order; this one is {index}.", step,
                           "key")
            for words in opt.words.values():
                for word in words:
                    if "{" in word:  # a word may be a placeholder, e.g. "{{ choice.name_1 }}"
                        self.check_template(step, word, opt.line)
            if opt.label is None:
                self.error(opt.line, f"choice {opt.key or index} has no say:",
                           'Add say: "To ...", which becomes "To ..., press 1."', step, "shape")
            else:
                self.check_text(step, opt.label)
            if opt.when is not None:
                seen_conditional = True
                self.check_template(step, opt.when, opt.line, expression=True)
            elif seen_conditional:
                self.error(opt.line, "a choice with if: comes before this one",
                           "Put choices with if: last, so the numbers stay in order.", step,
                           "key")

    def check_language(self, step: Step, line: int, language: str) -> None:
        known = list(self.fs.commands.languages) if self.fs.commands else ["en"]
        if language not in known:
            self.error(line, f"language '{language}' is not one of the line's languages",
                       f"Use one of: {', '.join(known)} (commands.yaml lists them).", step,
                       "language")

    def check_language_option(self, step: Step, opt) -> None:
        """A language choice (`language: cy`) is kept apart from the numbered choices: it
        is offered by a say line in that language, and hidden while already in use."""
        self.check_language(step, opt.line, opt.language)
        self.check_target(step, opt.line, opt.goto, opt.call, "goto")
        if opt.key != settings.LANGUAGE_KEY:
            self.error(opt.line, f"a language choice has key {opt.key}",
                       f"Give language choices key {settings.LANGUAGE_KEY}, kept for them.",
                       step, "key")
        if opt.label is not None:
            self.check_text(step, opt.label, [opt.language])

    def check_action(self, step: Step) -> None:
        if step.action is None:
            return
        spec = REGISTRY.get(step.action)
        line = step.line_of("action")
        if spec is None:
            close = difflib.get_close_matches(step.action, list(REGISTRY), n=1)
            fix = f"Did you mean '{close[0]}'?" if close else \
                f"Use one of: {', '.join(sorted(REGISTRY))}."
            self.error(line, f"action '{step.action}' is not known", fix, step, "action")
            return
        for name, value in step.args.items():
            if name not in spec.args:
                allowed = ", ".join(spec.args) or "none"
                self.error(step.line_of("args"), f"action '{step.action}' has no argument "
                           f"'{name}'", f"Its arguments are: {allowed}.", step, "action")
            elif spec.args[name] is not None and value not in spec.args[name]:
                self.error(step.line_of("args"), f"'{value}' is not allowed for {name}",
                           f"Use one of: {', '.join(map(str, spec.args[name]))}.", step, "action")
        for name in spec.required:
            if name not in step.args:
                self.error(line, f"action '{step.action}' needs the argument '{name}'",
                           f"Add args: {{{name}: ...}}.", step, "action")

    def check_text(self, step: Step | None, text: Text, languages=None) -> None:
        languages = languages or self.flow.languages
        for lang in languages:
            if lang not in text.by_language:
                self.error(text.line, f"the text has no '{lang}' version, but the flow declares "
                           f"languages {', '.join(languages)}",
                           f"Add {lang}: \"...\" to this text.", step, "language")
        for _lang, _channel, source in text.sources():
            self.check_template(step, source, text.line)

    def check_template(self, step: Step | None, source: str, line: int, *,
                       expression: bool = False, messages: bool = False) -> None:
        for p in templates.check(str(source), self.saves, expression=expression,
                                 messages=messages):
            self.error(line + p.line_offset, p.message, p.fix, step, "template")

    def edges(self, step: Step, *, only_without_input: bool = False) -> list[str]:
        out = [r.goto for r in step.next if r.goto]
        out += [r.then for r in step.next if r.then and not only_without_input]
        if not only_without_input:
            out += [o.goto for o in step.options if o.goto]
            out += [step.otherwise] if step.otherwise else []
        return [t for t in out if t in self.flow.steps]

    def check_reachable(self) -> None:
        if self.flow.start not in self.flow.steps:
            return
        seen, todo = {self.flow.start}, [self.flow.start]
        while todo:
            for target in self.edges(self.flow.steps[todo.pop()]):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        for step in self.flow.steps.values():
            if step.id not in seen:
                self.error(step.line, "the step can never be reached",
                           "Add a goto: to it from another step, or delete it.", step,
                           "unreachable")

    def check_loops(self) -> None:
        """A circle of steps that never waits for an answer would run for ever."""
        state: dict[str, int] = {}

        def visit(step_id: str, path: list[str]) -> None:
            state[step_id] = 1
            step = self.flow.steps[step_id]
            if not step.asks:
                for target in self.edges(step, only_without_input=True):
                    if state.get(target) == 1:
                        circle = path[path.index(target):] + [target] if target in path \
                            else [step_id, target]
                        self.error(step.line, "these steps go round in a circle without "
                                   f"waiting for an answer ({' -> '.join(circle)})",
                                   "Add an ask: to one of them, or end the circle.", step, "loop")
                    elif target not in state:
                        visit(target, path + [target])
            state[step_id] = 2

        for step_id in self.flow.steps:
            if step_id not in state:
                visit(step_id, [step_id])


class CommandsChecker(FlowChecker):
    """Checks for commands.yaml: every global command, Twilio's words, shared messages."""

    def __init__(self, fs: FlowSet):
        self.fs, self.cmds = fs, fs.commands
        self.saves = set()
        self.flow = Flow(name="", file=self.cmds.file, line=self.cmds.line, start="", steps={},
                         languages=list(self.cmds.languages))

    def error(self, line, message, fix, step=None, code=""):
        self.fs.errors.append(FlowError(self.cmds.file, line, message, fix, code=code))

    def run(self) -> None:
        cmds = self.cmds
        for name in REQUIRED_COMMANDS:
            if name not in cmds.commands:
                self.error(cmds.line, f"the global command '{name}' is missing",
                           f"Add {name}: under commands:.", code="command")
        self._needs_words("stop", TWILIO_STOP_WORDS)
        self._needs_words("start", TWILIO_START_WORDS)
        for name, key in (("repeat", "*"), ("person", "0")):
            cmd = cmds.commands.get(name)
            if cmd and key not in cmd.keys:
                self.error(cmd.line, f"'{name}' must work with the {key} key",
                           f'Add keys: ["{key}"].', code="command")
        for cmd in cmds.commands.values():
            if cmd.name not in ("repeat", "wait") and cmd.call is None:
                self.error(cmd.line, f"command '{cmd.name}' calls no flow",
                           "Add call: and the flow to run.", code="command")
            elif cmd.call is not None and cmd.call not in self.fs.flows:
                self.error(cmd.line, f"command '{cmd.name}' calls '{cmd.call}', which is not "
                           "a flow", "Add the flow or fix the name.", code="call")
        for key in ("on_stuck", "on_silence"):
            name = getattr(cmds, key)
            line = cmds.key_lines.get(key, cmds.line)
            if name is None:
                self.error(cmds.line, f"{key} is missing", f"Add {key}: with a flow name.",
                           code="command")
            elif name not in self.fs.flows:
                self.error(line, f"{key} names '{name}', which is not a flow",
                           "Add the flow or fix the name.", code="call")
        for name in REQUIRED_MESSAGES:
            if name not in cmds.messages:
                self.error(cmds.line, f"the message '{name}' is missing",
                           f"Add {name}: under messages:.", code="command")
        for text in cmds.messages.values():
            self.check_text(None, text, list(cmds.languages))

    def check_template(self, step, source, line, *, expression=False, messages=False):
        super().check_template(step, source, line, expression=expression, messages=True)

    def _needs_words(self, name: str, required: tuple[str, ...]) -> None:
        cmd = self.cmds.commands.get(name)
        if cmd is None:
            return
        have = {w.lower() for ws in cmd.words.values() for w in ws}
        missing = [w for w in required if w.lower() not in have]
        if missing:
            self.error(cmd.line, f"'{name}' is missing Twilio's words {', '.join(missing)}",
                       "Twilio acts on all of them; list every one so the flow agrees.",
                       code="command")
