"""What a turn says: rendering texts with what the caller may know, and the wait for an answer.

A mixin for `runner.Turn`; it owns the template values, the disclosure guard and the replies.
"""

from __future__ import annotations

import re

from jinja2 import TemplateError

from . import effects as fx
from . import settings, templates
from .actions import caller_values, choice_values, last_values
from .context import Verified
from .disclosure import GuardedCase, filter_case, may_from_fields
from .errors import NotDisclosed
from .forms import press
from .io import Expect, Pause, Say, Segment, reply_to_dict
from .model import Step, Text
from .render import render_text


class Output:
    """Replies and effects of one turn, and the values templates see.

    Uses the turn's `ctx`, `st`, `cmds`, `lang`, `channel`, `replies`, `effects` and `guards`.
    """

    def expect(self, kind: str, *, keys=(), hints=(), step: Step | None = None,
               num_digits=None, record=False) -> None:
        keypad_only = self.st.misheard >= settings.MISHEARD_BEFORE_KEYPAD
        extra = self.ctx.needs.extra_time or self.ctx.needs.relay or self.st.more_time
        globals_ = tuple(self.cmds.words("repeat", self.lang) + self.cmds.words("person",
                                                                                self.lang))
        self.replies.append(Expect(
            kind=kind, keys=tuple(keys) + ("*", "0"), hints=tuple(hints) + globals_,
            timeout=self.timeout(step), num_digits=num_digits,
            speech_end=settings.SPEECH_END_SECONDS * (2 if extra else 1),
            keypad=not record, speech=not (keypad_only or record), record=record,
            max_seconds=settings.RECORDING_MAX_SECONDS if record else 0,
            locale=self.cmds.locale(self.lang)))
        if not self.keep_last:  # a "sorry" re-prompt keeps the full prompt for * to repeat
            prompt = self.replies[self.prompt_from:]
            while prompt and isinstance(prompt[0], Pause):
                prompt = prompt[1:]
            self.st.last = [reply_to_dict(r) for r in prompt]
            # What the prompt told, so that a repeat (*) is audited like the first telling.
            shown = sorted(set().union(*(g.shown for g, _c in self.guards)))
            self.st.values["_last_shown"] = shown

    def timeout(self, step: Step | None) -> int:
        base = (step.timeout if step and step.timeout else settings.NO_INPUT_TIMEOUT_SECONDS)
        needs = self.ctx.needs
        longer = needs.extra_time or needs.relay or self.st.more_time
        return base * (settings.EXTRA_TIME_FACTOR if longer else 1)

    def message(self, name: str, **extra) -> None:
        text = self.cmds.messages.get(name)
        if text is not None:
            self.say(text, name, extra=extra)

    def say(self, text: Text | None, step_id: str, *, new_line: bool = False,
            suffix: str | None = None, extra: dict | None = None,
            language: str | None = None) -> None:
        """Say `text` in the conversation's language (or `language`, for the offer of
        another one); a text not yet written in it is said in English, by an English voice."""
        lang = language or self.lang
        if text is not None and text.source(lang, self.channel, fallback=lang) is None:
            lang = "en"
        rendered = self.render(text, self.channel, extra, language=lang)
        if not rendered:
            return
        if suffix is not None:
            rendered = f"{rendered.rstrip(' .,')}, {press(suffix, lang, self.channel)}."
        rate = min(self.ctx.needs.speech_rate or 100, settings.MAX_SPEECH_RATE)
        # On a call each sentence is said on its own, with a short pause after it (rule 5):
        # run together, two or three sentences are hard to follow for a slower listener.
        sentences = sentences_of(rendered) if self.channel == "voice" else [rendered]
        for sentence in sentences:
            if self.channel == "voice" and self.replies and isinstance(self.replies[-1], Say):
                self.replies.append(Pause(settings.PAUSE_BETWEEN_SENTENCES_SECONDS))
            segments = tuple(Segment(number=v) if kind == "number" else Segment(text=v)
                             for kind, v in templates.split_numbers(sentence))
            self.replies.append(Say(segments, step_id, new_line, rate, lang))

    def render(self, text: Text | None, channel: str, extra: dict | None = None,
               language: str | None = None) -> str:
        lang = language or self.lang
        source = text.source(lang, channel) if text else None
        if not source:
            return ""
        values = self.values(channel, track=True)
        values.update(extra or {})
        try:
            return templates.render(source, values, lang, channel)
        except NotDisclosed as exc:
            self.flow_problem(f"a text tried to show '{exc.field}', which this caller may not "
                              "be told; the sentence was left out")
        except TemplateError as exc:
            self.flow_problem(f"a text could not be filled in ({exc}); it was left out")
        return ""

    def send_text(self, step: Step) -> None:
        who = self.st.values.get("_who") or {}
        number = who.get("text_number")
        if not who and self.values(self.channel)["caller"]["number_is_mobile"]:
            number = self.ctx.caller_number  # nothing about a case can be in this text
        if not number:
            return
        body = self.render(step.send_text, "sms")
        if body:
            segments = tuple(Segment(number=v) if k == "number" else Segment(text=v)
                             for k, v in templates.split_numbers(body))
            self.effects.append(fx.SendText(to=number, body=render_text([Say(segments)]),
                                            purpose=f"{self.st.flow}.{step.id}"))

    def values(self, channel: str, track: bool = False) -> dict:
        """What templates and conditions see: saved answers and the known objects."""
        stored = self.st.values
        out = {k: v for k, v in stored.items() if not k.startswith("_")}
        out["caller"] = stored.get("caller") or self.default_caller()
        case = stored.get("case", {})
        may = {**may_from_fields(()), **stored.get("may", {})}
        last = last_values(stored.get("last"))
        if channel != self.channel and stored.get("_who"):
            # A text sent during a call: what may be texted is decided again, for texts.
            allowed = self.ctx.allowed_fields(Verified(**stored["_who"]), channel)
            case, may = filter_case(case, allowed), may_from_fields(allowed)
            if not may["worker"]:
                last["passed_to"] = ""
        guard = GuardedCase(case, track)
        if track:
            self.guards.append((guard, channel))
            self.who_seen = stored.get("_who") or self.who_seen
        out["case"] = guard
        out["may"] = may
        out["service"] = self.service()
        out["pin_check"] = {"ok": False, "locked": False, **stored.get("pin_check", {})}
        out["dial"] = {"answered": False, "status": "", **stored.get("dial", {})}
        out["choice"] = {**choice_values(), **stored.get("choice", {})}
        out["last"] = last
        out["channel"], out["language"] = self.channel, self.lang
        return out

    def default_caller(self) -> dict:
        """Before identify_caller runs: what the number alone says (nothing about a case)."""
        if self._caller is None:
            self._caller = caller_values(self.ctx.identify_caller())
        return self._caller

    def service(self) -> dict:
        """The numbers and hours to say: asked again once someone gives their PIN in this
        turn, since after it they are their case's team's, not the line's front door's."""
        verified = self.st.verified
        if self._service is None or self._service_for != (verified or {}).get("id"):
            who = Verified(**verified) if verified else None
            self._service = self.ctx.service(who)
            self._service_for = who.id if who else None
            self._service_dicts = {}
        # Every template and condition reads it: made into a dict once per language.
        if self.lang not in self._service_dicts:
            self._service_dicts[self.lang] = self._service.to_dict(self.lang)
        return self._service_dicts[self.lang]

    def cond(self, expression: str, *, told: bool = False) -> bool:
        """Evaluate a condition. With `told`, it decides whether a sentence is said, so the
        case fields it reads count as disclosed when it holds ("if case.stage == 'plan'"
        tells the caller the stage as surely as saying it)."""
        before = len(self.guards)
        try:
            holds = templates.evaluate(expression, self.values(self.channel, track=told),
                                       self.lang, self.channel)
            if not holds:
                del self.guards[before:]
            return holds
        except NotDisclosed:
            del self.guards[before:]
            return False
        except TemplateError as exc:
            del self.guards[before:]
            self.flow_problem(f"the condition '{expression}' could not be worked out ({exc})")
            return False

    def flow_problem(self, summary: str) -> None:
        self.effects.append(fx.RaiseAction(action="flow_problem", urgency=fx.HIGH,
                                           summary=f"{self.st.flow}: {summary}"))


# A sentence ends at . ! or ? followed by a space and what starts a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\u2018\u201c\u00c0-\u00dd])")


def sentences_of(text: str) -> list[str]:
    """The sentences of a rendered text, in order (one, if it has no sentence break)."""
    return [part for part in _SENTENCE_END.split(text.strip()) if part]
