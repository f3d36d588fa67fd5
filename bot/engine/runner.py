"""Run one turn: `advance(flow, state, input, context) -> (state, replies, effects)`.

Pure: everything outside (data, time, the caller's needs) comes through `context`; nothing is
read from a clock or chance. See flows/README.md for the order a step runs in.
"""

from __future__ import annotations

from jinja2 import TemplateError

from . import effects as fx
from . import settings, templates
from .actions import PIN_TYPED, REGISTRY, ActionCall
from .commands import match_command
from .errors import NotDisclosed
from .io import Input, Pause, State, plain, reply_from_dict
from .matching import as_key, best_phrase, digits_in, looks_like_pin, normalise, yes_or_no
from .model import Flow, Option, Step
from .output import Output

WAIT, END = "wait", "end"


class EngineError(RuntimeError):
    """A flow did something the validator should have caught (e.g. ran too many steps)."""


def advance(flow: Flow, state, inp: Input, context, *, fresh: Flow | None = None):
    """Take one input; return the new state, what to say, and what the world must do.

    `fresh` is where a new request starts (the line's entry flow): a text that does not
    answer a question the line sent by itself starts there (default: `flow`).
    """
    if state is None:
        st = State(flow=flow.name)
    else:  # a copy: the caller's state is never changed (plain data, rebuilt cheaply)
        st = State.from_dict(plain(state))
    turn = Turn(flow, st, context, fresh=fresh)
    turn.handle(inp)
    return turn.finish()


class Turn(Output):
    """One turn of one conversation: takes the input, runs steps until it must wait."""

    def __init__(self, entry: Flow, st: State, ctx, fresh: Flow | None = None):
        self.entry, self.st, self.ctx = entry, st, ctx
        self.fresh = fresh or entry
        self.flows = entry.flowset
        if self.flows is None or self.flows.commands is None:
            raise EngineError("flows were loaded without commands.yaml; load the whole directory")
        self.cmds = self.flows.commands
        self.channel = ctx.channel
        self.lang = self.usable(st.language or ctx.language)
        self.replies: list = []
        self.effects: list = []
        self.scratch: dict = {}
        self.guards: list = []  # (GuardedCase, channel) per rendered text
        self.prefill: Input | None = None
        self.prompt_from = 0
        self.keep_last = False
        self._service = None
        self._service_dicts: dict[str, dict] = {}
        self._service_for: str | None = None
        self._caller: dict | None = None
        self.who_seen: dict | None = None  # the verified caller, kept for the audit effect

    # ---- entry points -------------------------------------------------------------------
    def handle(self, inp: Input) -> None:
        st = self.st
        st.turn += 1
        if inp.kind in ("digits", "speech") and not inp.text.strip():
            inp = Input.silence()  # Twilio's empty Digits/SpeechResult after a timeout
        if st.ended and inp.kind in ("silence", "dial", "recording"):
            return  # the call is over; only a new call or a new text starts again
        if inp.kind == "start" or st.ended or (st.step is None and st.pending is None):
            self.st = State(flow=self.entry.name, turn=st.turn, verified=st.verified,
                            language=st.language)
            if inp.kind in ("text", "speech", "digits"):
                command = self.command_in(inp)
                if command == "news":  # a new conversation opens with the entry flow's
                    command = None     # words; its menu takes the request (or the PIN)
                    self.mark_pin(inp)
                if command and command != "repeat":
                    return self.run_command(command, inp)
                self.prefill = inp if inp.kind == "text" else None
            return self.run(self.entry.name, self.entry.start)
        if inp.kind == "silence":
            return self.on_silence()
        st.silent_seconds, st.silences = 0, 0
        if st.pending:
            return self.on_pending(inp)
        step = self.current_step()
        if step.input == "dial":
            return self.on_dial(step, inp)
        command = self.command_in(inp)
        if command == "news" and self.step_takes(step, inp):
            command = None  # the step asked for this very answer (a PIN, a choice, a message)
        if command == "danger" and step.input == "choice":
            option, _key = self.match_option(step, inp)
            if option is not None and option.confirm:
                command = None  # the step asks this very question: its own answer wins
        if command:
            return self.run_command(command, inp)
        self.on_answer(step, inp)

    def finish(self):
        shown: dict[str, set[str]] = {}
        for guard, channel in self.guards:
            shown.setdefault(channel, set()).update(guard.shown)
        for channel, fields in shown.items():
            if fields:
                who = self.who_seen or {}
                self.effects.append(fx.Disclosed(
                    fields=tuple(sorted(fields)), channel=channel,
                    person_id=who.get("id"), case_id=who.get("case_id")))
        return self.st, self.replies, self.effects

    # ---- commands ---------------------------------------------------------------------
    def command_in(self, inp: Input) -> str | None:
        return match_command(self.cmds, inp.kind, inp.text, channel=self.channel,
                             language=self.lang,
                             opted_out=lambda: self.ctx.identify_caller().opted_out)

    def run_command(self, name: str, inp: Input) -> None:
        if name == "repeat":
            return self.repeat()
        if name == "wait":
            return self.more_time()
        if name == "news":  # a fresh request: nothing to return to
            return self.start_request(self.cmds.commands[name].call, inp)
        if name == "danger" and self.low_confidence(inp):
            # Read back our own words for what we think was said, never the caller's: speech
            # may carry a PIN, and words echoed into <Say> are the caller's to control.
            self.st.pending = {"kind": "command", "name": name,
                               "heard": self.read_back(self.cmds.words(name, self.lang))}
            return self.confirm_prompt("confirm_danger")
        target = self.cmds.commands[name].call
        self.push_return()
        self.run(target, self.flows[target].start)

    def more_time(self) -> None:
        """The caller asked for longer: every wait from now on is longer; ask again."""
        self.st.more_time = True
        self.message("more_time")
        if self.st.step:
            self.keep_last = True
            self.ask(self.current_step(), reprompt=True)

    def repeat(self) -> None:
        if self.st.last:
            self.replies += [reply_from_dict(r) for r in self.st.last]
            shown = self.st.values.get("_last_shown") or []
            who = self.st.values.get("_who") or {}
            if shown and who:
                self.effects.append(fx.Disclosed(fields=tuple(shown), channel=self.channel,
                                                 person_id=who.get("id"),
                                                 case_id=who.get("case_id")))
        elif self.st.step:
            self.ask(self.current_step(), reprompt=True)

    def start_request(self, flow_name: str, inp: Input) -> None:
        """Start `flow_name` afresh for this text, keeping who proved themselves. A PIN on
        its own is checked (never skipped) at the flow's PIN step; other words are offered
        to its first menu."""
        self.st = State(flow=flow_name, turn=self.st.turn, verified=self.st.verified,
                        language=self.st.language)
        self.prefill = inp if inp.kind == "text" else None
        self.mark_pin(inp)
        self.run(flow_name, self.flows[flow_name].start)

    def mark_pin(self, inp: Input) -> None:
        if inp.kind == "text" and looks_like_pin(inp.text, settings.PIN_LENGTH):
            self.scratch[PIN_TYPED] = True

    def step_takes(self, step: Step, inp: Input) -> bool:
        """Whether the waiting step itself takes this input as its answer."""
        if step.input == "pin":
            return bool(digits_in(inp.text))
        if step.input == "number":
            return len(digits_in(inp.text)) == step.digits
        if step.input == "message":  # a message is taken as written, unless it is only a
            text = normalise(inp.text)  # request for news, or a PIN on its own
            return not (looks_like_pin(inp.text, settings.PIN_LENGTH) or text in {
                normalise(w) for w in self.cmds.words("news", self.lang)})
        if step.input == "choice":
            return self.match_option(step, inp)[0] is not None
        return False

    def push_return(self) -> None:
        if self.st.step and not self.st.ended:
            self.st.stack.append({"flow": self.st.flow, "step": self.st.step})
            del self.st.stack[: -settings.MAX_CALL_DEPTH]

    # ---- answers ----------------------------------------------------------------------
    def on_answer(self, step: Step, inp: Input) -> None:
        if step.input == "choice":
            option, key = self.match_option(step, inp)
            if option is None:
                return self.no_match(step, inp, key)
            if option.confirm and self.low_confidence(inp):
                self.st.pending = {"kind": "option", "key": option.key,
                                   "heard": self.read_back(self.option_words(option))}
                return self.confirm_prompt("confirm")
            return self.choose(step, option)
        value = self.read_value(step, inp)
        if value is None:
            return self.no_match(step, inp, None)
        if step.input == "pin":
            self.scratch[step.save or "pin"] = value
        elif step.save:
            self.st.values[step.save] = value
        self.answered(step)

    def read_value(self, step: Step, inp: Input):
        if step.input in ("pin", "number"):
            want = settings.PIN_LENGTH if step.input == "pin" else step.digits
            digits = inp.text.strip() if inp.kind == "digits" else digits_in(inp.text)
            return digits if digits.isdigit() and len(digits) == want else None
        if inp.kind == "recording" and inp.url:
            return {"url": inp.url, "seconds": inp.seconds}
        if inp.kind in ("text", "speech") and inp.text.strip():
            return inp.text.strip()
        return None

    def match_option(self, step: Step, inp: Input) -> tuple[Option | None, str | None]:
        visible = self.visible_options(step)
        by_key = {o.key: o for o in visible}
        if inp.kind == "digits":
            key = inp.text.strip()
            return by_key.get(key), key
        if inp.kind not in ("text", "speech"):
            return None, None
        key = as_key(inp.text)
        if key is not None:
            return by_key.get(key), key
        words = {o.key: self.option_words(o) for o in visible}
        found = best_phrase(normalise(inp.text), words)
        return (by_key[found], None) if found else (None, None)

    def option_words(self, option: Option) -> list[str]:
        langs = ["en"] if self.lang == "en" else [self.lang, "en"]
        words = [w for lang in langs for w in option.words.get(lang, [])]
        if any("{" in w for w in words):  # e.g. "{{ choice.name_1 }}": say the name to choose
            words = [self.fill_word(w) if "{" in w else w for w in words]
        return [w for w in words if w]

    def fill_word(self, source: str) -> str:
        try:
            return templates.render(source, self.values(self.channel), self.lang, self.channel)
        except (NotDisclosed, TemplateError):
            return ""

    def visible_options(self, step: Step) -> list[Option]:
        """The choices offered now; a language choice only while another language is used."""
        return [o for o in step.options if (o.when is None or self.cond(o.when))
                and o.language != self.lang]

    def choose(self, step: Step, option: Option) -> None:
        self.answered(step, go=False)
        if option.language:  # from now on this conversation is in the language chosen
            self.st.language = self.lang = self.usable(option.language)
        if option.call:
            self.st.stack.append({"flow": self.st.flow, "step": step.id})
            return self.run(option.call, self.flows[option.call].start)
        self.run(self.st.flow, option.goto)

    def answered(self, step: Step, go: bool = True) -> None:
        self.st.tries, self.st.misheard = 0, 0
        self.st.step = None
        if self.channel == "voice":
            self.replies.append(Pause(settings.PAUSE_AFTER_ENTRY_SECONDS))
        if go:
            self.follow(step)

    def low_confidence(self, inp: Input) -> bool:
        return inp.kind == "speech" and (inp.confidence or 0) < settings.CONFIRM_BELOW_CONFIDENCE

    # ---- failures ---------------------------------------------------------------------
    def no_match(self, step: Step, inp: Input, key: str | None) -> None:
        st = self.st
        if self.channel == "sms" and inp.kind == "text" and \
                self.flows[st.flow].kind == "outbound":
            # Not an answer to the question the line sent by itself: a text of its own.
            return self.start_request(self.fresh.name, inp)
        st.tries += 1
        if inp.kind == "speech":
            st.misheard += 1
        if step.otherwise:
            st.tries, st.step = 0, None
            return self.run(st.flow, step.otherwise)
        if st.tries >= settings.MAX_TRIES:
            return self.stuck()
        if key is not None and step.input == "choice":
            self.message("not_a_choice")  # never read back what was keyed or said
        else:
            self.message("no_match")
        if self.channel == "voice" and st.misheard >= settings.MISHEARD_BEFORE_KEYPAD:
            self.message("keypad_only")
        self.keep_last = True
        self.ask(step, reprompt=True)

    def on_silence(self) -> None:
        st = self.st
        if self.channel != "voice" or st.step is None or self.current_step().input == "dial":
            return
        st.silent_seconds += self.timeout(self.current_step())
        st.silences += 1
        st.tries += 1
        st.more_time = True  # silence may be someone who needs longer: give it, unasked
        # Three tries at one step offer another way first (a person, a call back, a text);
        # only then does a long silence end the call, kindly.
        if st.tries >= settings.MAX_TRIES and st.flow != self.cmds.on_stuck:
            st.pending = None
            return self.stuck()
        if (st.silent_seconds >= settings.SILENCE_LIMIT_SECONDS and st.silences >= 3
                and st.flow != self.cmds.on_silence):
            st.pending = None
            return self.run(self.cmds.on_silence, self.flows[self.cmds.on_silence].start)
        if st.pending:
            return self.pending_failed()
        if st.tries >= settings.MAX_TRIES:
            return self.stuck()
        self.message("no_input")
        self.keep_last = True
        self.ask(self.current_step(), reprompt=True)

    def stuck(self) -> None:
        """After repeated failures: offer a person, a call back or a text instead."""
        st = self.st
        st.tries, st.misheard = 0, 0
        if st.flow == self.cmds.on_stuck:
            target = self.cmds.commands["person"].call
            st.step = None
        else:
            target = self.cmds.on_stuck
            self.push_return()
        self.run(target, self.flows[target].start)

    # ---- read-back confirmation -------------------------------------------------------
    @staticmethod
    def read_back(words: list[str]) -> str:
        """The flow's own first phrase for what we think was meant ('I feel unsafe')."""
        phrase = next((w for w in words if w.strip()), "")
        return phrase[:1].upper() + phrase[1:]

    def confirm_prompt(self, message: str) -> None:
        heard = (self.st.pending or {}).get("heard", "")
        self.prompt_from = len(self.replies)
        self.message(message, heard=heard)
        self.expect("confirm", keys=("1", "2"), hints=("yes", "no"))

    def on_pending(self, inp: Input) -> None:
        command = self.command_in(inp)
        if command and command not in ("repeat", "danger"):
            self.st.pending = None
            return self.run_command(command, inp)
        answer = yes_or_no(inp.text) if inp.kind != "recording" else None
        if answer is None:
            return self.pending_failed()
        pending, self.st.pending = self.st.pending, None
        self.st.tries = 0
        if answer:
            if pending["kind"] == "command":
                return self.run_command(pending["name"], Input.digits("1"))
            step = self.current_step()
            return self.choose(step, next(o for o in step.options if o.key == pending["key"]))
        self.message("no_match")
        if self.st.step:
            self.ask(self.current_step(), reprompt=True)

    def pending_failed(self) -> None:
        """No clear yes or no. After the limit, danger is treated as real: safety first."""
        self.st.tries += 1
        pending = self.st.pending
        if self.st.tries < settings.MAX_TRIES:
            self.message("no_match")
            return self.confirm_prompt("confirm_danger" if pending["kind"] == "command"
                                       else "confirm")
        self.st.pending, self.st.tries = None, 0
        if pending["kind"] == "command":
            return self.run_command(pending["name"], Input.digits("1"))
        self.stuck()

    # ---- connecting to a person -------------------------------------------------------
    def on_dial(self, step: Step, inp: Input) -> None:
        status = inp.text if inp.kind == "dial" else "failed"
        self.st.values["dial"] = {"answered": status == "completed", "status": status}
        self.st.step = None
        self.follow(step)

    # ---- running steps ----------------------------------------------------------------
    def run(self, flow_name: str, step_id: str) -> None:
        self.st.flow, self.st.step = flow_name, None
        self.prompt_from = len(self.replies)
        for _ in range(settings.MAX_STEPS_PER_TURN):
            step = self.flows[self.st.flow].steps[step_id]
            outcome = self.execute(step)
            if outcome in (WAIT, END) or outcome is None:
                return
            step_id = outcome
        raise EngineError(f"flow '{flow_name}' ran more than {settings.MAX_STEPS_PER_TURN} "
                          "steps in one turn")

    def execute(self, step: Step) -> str | None:
        if step.action:
            self.call_action(step)
        for line in step.say:
            if line.language == self.lang:
                continue  # the offer of a language is not made in that language
            if line.when is None or self.cond(line.when, told=True):
                self.say(line.text, step.id, language=line.language)
        if step.send_text:
            self.send_text(step)
        if step.input == "dial":
            if any(isinstance(e, fx.ConnectPerson) for e in self.effects):
                self.st.step = step.id
                return WAIT
            self.st.values["dial"] = {"answered": False, "status": "not-connected"}
        elif step.asks:
            return self.ask(step)
        if step.end:
            self.end()
            return END
        if step.returns:
            return self.pop()
        return self.follow(step, run=False)

    def follow(self, step: Step, run: bool = True) -> str | None:
        """Take the first `next` branch whose condition holds; `call` pushes this step."""
        for rule in step.next:
            if rule.when is None or self.cond(rule.when):
                if rule.call:
                    if rule.then:
                        self.st.stack.append({"flow": self.st.flow, "step": rule.then,
                                              "mode": "run"})
                    self.run(rule.call, self.flows[rule.call].start)
                    return None
                if run:
                    self.run(self.st.flow, rule.goto)
                    return None
                return rule.goto
        return None

    def pop(self) -> str | None:
        st = self.st
        if not st.stack:
            self.end()
            return END
        back = st.stack.pop()
        if back.get("mode") == "run":
            self.run(back["flow"], back["step"])
            return None
        st.flow = back["flow"]
        self.ask(self.flows[back["flow"]].steps[back["step"]], reprompt=True)
        return WAIT

    def end(self) -> None:
        if self.channel == "voice":
            self.message("closing")
            self.effects.append(fx.EndCall())
        self.st.ended, self.st.step, self.st.stack = True, None, []
        self.st.values, self.st.last = {}, []  # `verified` and `language` stay

    def call_action(self, step: Step) -> None:
        call = ActionCall(self.ctx, self.st.values, self.scratch, step.args, state=self.st)
        REGISTRY[step.action].run(call)
        self.effects += call.effects
        if self.st.language is None and self.st.verified:
            # After the PIN the person's own language, unless the caller chose one.
            self.lang = self.usable(self.st.verified.get("language"))

    def usable(self, language: str | None) -> str:
        return language if language in self.cmds.languages else "en"

    # ---- asking -----------------------------------------------------------------------
    def ask(self, step: Step, reprompt: bool = False) -> str | None:
        if self.prefill is not None and step.input == "pin" and not reprompt \
                and self.scratch.get(PIN_TYPED):
            inp, self.prefill = self.prefill, None
            self.st.step = step.id
            self.on_answer(step, inp)  # the PIN came with the request: check it now
            return None
        if self.prefill is not None and step.input == "choice" and not reprompt:
            if self.scratch.get(PIN_TYPED):  # the PIN goes on to the step that checks it
                option = next((o for o in self.visible_options(step) if o.pin), None)
            else:
                option, _key = self.match_option(step, self.prefill)
                self.prefill = None
            if option is not None:
                self.choose(step, option)
                return None
        self.prefill = None
        if reprompt:
            self.prompt_from = len(self.replies)
        self.st.step = step.id
        self.say(step.ask, step.id)
        for option in self.visible_options(step) if step.input == "choice" else []:
            self.say(option.label, step.id, new_line=True, suffix=option.key)
        if step.input == "choice":
            self.say(step.after, step.id, new_line=True)
        if step.input == "choice":
            keys = tuple(o.key for o in self.visible_options(step))
            hints = tuple(w for o in self.visible_options(step) for w in self.option_words(o))
            self.expect("choice", keys=keys, hints=hints, step=step)
        elif step.input == "message":
            self.expect("message", step=step, record=self.channel == "voice")
        else:
            digits = settings.PIN_LENGTH if step.input == "pin" else step.digits
            self.expect(step.input, step=step, num_digits=digits)
        return WAIT

    def current_step(self) -> Step:
        return self.flows[self.st.flow].steps[self.st.step]
