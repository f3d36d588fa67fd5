"""Accessibility and cost lint (guides/accessibility.md rules 1-11 and 15).

Every message is rendered on both channels with the longest realistic values (SMS cost) and
with typical values (reading grade, sentence length). Errors fail `flows check`; warnings
report. Thresholds live in `settings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jinja2 import TemplateError

from . import forms, readability, schema, settings, templates
from .errors import ERROR, WARNING, FlowError
from .io import Say, Segment
from .matching import TWILIO_STOP_WORDS, normalise
from .model import Flow, FlowSet, Step, Text
from .render import render_text, say_text, sms_messages
from .sms import cost, non_gsm_chars

JARGON = ("section 42", "s42", "s.42", "enquiry", "enquiries", "strategy meeting", "mash",
          "nfa", "no further action", "referral", "safeguarding adults board", "threshold")
JARGON_SOFT = ("safeguarding", "vulnerable", "alleged", "perpetrator", "capacity assessment")
WORKER_WORDS = ("social worker", "caseworker", "case worker", "practitioner", "case officer",
                "key worker")
CONTRACTION_RE = re.compile(
    r"\b\w+(n['’]t|['’]re|['’]ve|['’]ll|['’]m|['’]d)\b|"
    r"\b(it|that|what|there|here|he|she|let|who|where)['’]s\b", re.IGNORECASE)
PRESS_FOR_RE = re.compile(r"\b(press|reply|say)\s+\S+\s+for\b", re.IGNORECASE)
LITERAL_KEY_RE = re.compile(r"\b(press|reply)\s+(\d|star|hash)\b", re.IGNORECASE)
# Welsh words written without their accent to keep a text GSM-7: cheaper, but misspelt.
# The accents stay (issue 13) and `flows check` counts the UCS-2 cost honestly.
WELSH_ACCENTS = {"tim": "tîm", "ol": "ôl", "nol": "nôl", "ffon": "ffôn", "ty": "tŷ",
                 "dwr": "dŵr", "gwr": "gŵr", "siwr": "siŵr", "a phosib": "â phosib",
                 "a phosibl": "â phosibl", "cysylltu a": "cysylltu â"}
WELSH_ACCENT_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(
    WELSH_ACCENTS, key=len, reverse=True)) + r")(?![\w'’])", re.IGNORECASE)
STOP_ASK_RE = re.compile(r"\b(reply|text|send|say)\s+[\"'“‘]?(" + "|".join(TWILIO_STOP_WORDS)
                         + r")\b", re.IGNORECASE)


@dataclass
class SmsRow:
    flow: str
    step: str
    language: str
    chars: int
    encoding: str
    texts: int
    parts: int  # the most parts any one text takes
    budget: int
    ok: bool


@dataclass
class GradeRow:
    flow: str
    grade: float
    words: int
    sentences: int
    longest: int  # words in the longest sentence


@dataclass
class LintReport:
    problems: list[FlowError] = field(default_factory=list)
    sms: list[SmsRow] = field(default_factory=list)
    grades: list[GradeRow] = field(default_factory=list)


def lint(fs: FlowSet) -> LintReport:
    report = LintReport()
    for flow in fs.flows.values():
        FlowLint(fs, flow, report).run()
    if fs.commands is not None:
        CommandsLint(fs, report).run()
    return report


class FlowLint:
    def __init__(self, fs: FlowSet, flow: Flow, report: LintReport):
        self.fs, self.flow, self.report = fs, flow, report
        self.saves = {s.save for s in flow.steps.values() if s.save}
        self.english: list[str] = []

    # ---- reporting --------------------------------------------------------------------
    def add(self, severity: str, line: int, message: str, fix: str, step: Step | None = None,
            code: str = "lint") -> None:
        self.report.problems.append(FlowError(self.flow.file, line, message, fix,
                                              self.flow.name or None,
                                              step.id if step else None, severity, code))

    # ---- rendering with sample values -------------------------------------------------
    def values(self, which: str, channel: str) -> dict:
        out = schema.sample(which)
        out.update({name: schema.SAVED.longest if which == "longest" else schema.SAVED.typical
                    for name in self.saves})
        out["channel"] = channel
        return out

    def render(self, text: Text | None, lang: str, channel: str, which: str,
               suffix: str | None = None, step: Step | None = None) -> Say | None:
        source = text.source(lang, channel, fallback=lang) if text else None
        if not source:
            return None
        try:
            rendered = templates.render(source, self.values(which, channel), lang, channel)
        except (TemplateError, TypeError, ValueError) as exc:
            self.add(ERROR, text.line, f"the text cannot be filled in with sample values ({exc})",
                     "Check the placeholders and helpers used.", step, "template")
            return None
        if suffix is not None:
            rendered = f"{rendered.rstrip(' .,')}, {forms.press(suffix, lang, channel)}."
        segments = tuple(Segment(number=v) if k == "number" else Segment(text=v)
                         for k, v in templates.split_numbers(rendered))
        return Say(segments, new_line=suffix is not None)

    def step_says(self, step: Step, lang: str, channel: str, which: str) -> list[Say]:
        says = [self.render(line.text, line.language or lang, channel, which, step=step)
                for line in step.say if line.language in (None, *self.other_languages(lang))]
        says.append(self.render(step.ask, lang, channel, which, step=step))
        says += [self.render(o.label, lang, channel, which, o.key, step) for o in step.options
                 if o.language != lang]
        says.append(self.render(step.after, lang, channel, which, step=step))
        return [s for s in says if s is not None]

    def other_languages(self, lang: str) -> list[str]:
        """The languages a conversation in `lang` is offered (lines with `language:`)."""
        cmds = self.fs.commands
        return [other for other in (cmds.languages if cmds else ["en"]) if other != lang]

    # ---- the checks -------------------------------------------------------------------
    def run(self) -> None:
        for step in self.flow.steps.values():
            for lang in self.flow.languages:
                self.check_sms(step, lang)
            self.check_wording(step)
            self.check_options(step)
        self.check_greeting()
        self.grade_row(self.flow.name)

    def budget(self, lang: str) -> int:
        if self.flow.one_text_parts(lang):
            return self.flow.one_text_parts(lang)
        cmds = self.fs.commands
        if cmds and lang in cmds.languages:
            return int(cmds.languages[lang].get("sms_parts", 2))
        return settings.SMS_PARTS_BUDGET.get(lang, 2)

    def check_sms(self, step: Step, lang: str) -> None:
        budget = self.budget(lang)
        says = self.step_says(step, lang, "sms", "longest")
        first = step.say[0].line if step.say else (step.ask.line if step.ask else step.line)
        spoken = " ".join(say_text(s, "voice") for s in self.step_says(step, lang, "voice",
                                                                          "longest"))
        if len(spoken) > settings.VOICE_STEP_MAX_CHARS:
            self.add(ERROR, first, f"the step says {len(spoken)} characters on a call",
                     f"Keep a step under {settings.VOICE_STEP_MAX_CHARS}; split it.", step, "voice")
        if says:
            self.sms_row(step, lang, says, budget, bool(self.flow.one_text_parts(lang)), first)
        if step.send_text is not None:
            say = self.render(step.send_text, lang, "sms", "longest", step=step)
            if say is not None:
                self.sms_row(step, lang, [say], budget, True, step.send_text.line,
                             label=f"{step.id} (sent)")

    def sms_row(self, step: Step, lang: str, says: list[Say], budget: int, one_text: bool,
                line: int, label: str | None = None) -> None:
        body = render_text(says)
        if not body:
            return
        # Welsh is costed as UCS-2 even without an accent of its own: the names, news and
        # service name said in it may carry one (Siân, Dŵr), and then the text is UCS-2.
        ucs2 = lang != "en"
        whole = cost(body, ucs2)
        texts = sms_messages(says, budget, ucs2)
        parts = max(cost(t, ucs2).parts for t in texts)
        ok = True
        if lang == "en" and whole.encoding != "GSM-7":
            ok = False
            chars = "".join(non_gsm_chars(body))
            self.add(ERROR, line, f"the text needs UCS-2 because of {chars!r}",
                     "English texts must be GSM-7: use plain quotes, dashes and letters.", step,
                     "sms")
        for say in says:
            if cost(render_text([say]), ucs2).parts > budget:
                ok = False
                self.add(ERROR, line, f"a sentence takes {cost(render_text([say]), ucs2).parts} "
                         f"parts with the longest values ({lang}), over the budget of {budget}",
                         "Shorten it, or split it into two steps.", step, "sms")
        if ucs2 and parts > budget and ok:
            ok = False
            self.add(ERROR, line, f"a text takes {parts} parts with the longest values ({lang}, "
                     f"costed as UCS-2), over the budget of {budget}",
                     "Shorten it, or split it into two steps.", step, "sms")
        if one_text and len(texts) > 1:
            ok = False
            self.add(ERROR, line, f"this text must fit in one message of {budget} part(s) "
                     f"but takes {whole.parts} with the longest values ({lang})",
                     "Shorten the words, or the sample longest values they use.", step, "sms")
        self.report.sms.append(SmsRow(self.flow.name or "(commands)", label or step.id, lang,
                                      whole.chars, whole.encoding, len(texts), parts, budget, ok))

    def check_wording(self, step: Step) -> None:
        texts = [line.text for line in step.say] + [step.ask, step.after, step.send_text]
        texts += [o.label for o in step.options]
        for text in texts:
            if text is None:
                continue
            for _lang, _channel, source in text.sources():
                if LITERAL_KEY_RE.search(source):
                    self.add(WARNING, text.line, "the text names a key directly",
                             "Write {{ press(1) }} so a text says 'reply 1' and a call "
                             "'press 1'.", step, "wording")
            for channel in ("voice", "sms"):
                say = self.render(text, "en", channel, "typical", step=step)
                if say is not None:
                    self.check_english(_words(say), text.line, step)
            for lang in text.by_language:
                if lang != "en":
                    self.check_other_language(text, lang, step)

    def check_other_language(self, text: Text, lang: str, step: Step | None) -> None:
        """Welsh (and any other language): its accents kept, its sentences as short."""
        sources = text.by_language[lang].values() if lang == "cy" else ()
        lost = dict.fromkeys(m.group(1) for src in sources for m in WELSH_ACCENT_RE.finditer(src))
        for word in lost:
            if word:
                self.add(ERROR, text.line, f"'{word}' has lost its accent",
                         f"Write '{WELSH_ACCENTS[word.lower()]}': Welsh keeps its accents "
                         "(the text's cost is counted as UCS-2).", step, "accent")
        for channel in text.channels(lang):
            say = self.render(text, lang, channel, "typical", step=step)
            if say is None:
                continue
            for sentence in readability.sentences(_words(say)):
                n = len(readability.words(sentence))
                if n > settings.SENTENCE_WORDS_FAIL:
                    self.add(ERROR, text.line, f"a sentence has {n} words ({lang})",
                             f"Split it: at most {settings.SENTENCE_WORDS_FAIL} words.", step,
                             "sentence")

    def check_english(self, text: str, line: int, step: Step | None) -> None:
        if text not in self.english:
            self.english.append(text)
        lower = normalise(text)
        for term in JARGON:
            if re.search(rf"\b{re.escape(term)}\b", lower):
                self.add(ERROR, line, f"'{term}' is jargon callers may not know",
                         "Say what happens in everyday words.", step, "jargon")
        for term in JARGON_SOFT + WORKER_WORDS:
            if re.search(rf"\b{re.escape(term)}\b", lower):
                fix = "Always say 'worker'." if term in WORKER_WORDS else \
                    "Prefer everyday words, e.g. 'keep adults safe'."
                self.add(WARNING, line, f"'{term}' is not a plain word", fix, step, "jargon")
        match = CONTRACTION_RE.search(text)
        if match:
            self.add(ERROR, line, f"'{match.group(0)}' is a contraction",
                     "Write the words in full, e.g. 'do not', 'it is'.", step, "contraction")
        if PRESS_FOR_RE.search(text):
            self.add(ERROR, line, "the text says 'press 1 for ...'",
                     "Say the action first: 'To hear this again, press 1.'", step, "wording")
        if STOP_ASK_RE.search(text):
            self.add(ERROR, line, "the text asks for a Twilio stop word",
                     "Twilio blocks the number on that word; ask for a number instead.", step,
                     "stopword")
        for sentence in readability.sentences(text):
            n = len(readability.words(sentence))
            if n > settings.SENTENCE_WORDS_FAIL:
                self.add(ERROR, line, f"a sentence has {n} words",
                         f"Split it: at most {settings.SENTENCE_WORDS_FAIL} words, better "
                         f"{settings.SENTENCE_WORDS_WARN}.", step, "sentence")
            elif n > settings.SENTENCE_WORDS_WARN:
                self.add(WARNING, line, f"a sentence has {n} words",
                         f"Aim for {settings.SENTENCE_WORDS_WARN} words or fewer.", step,
                         "sentence")

    def check_options(self, step: Step) -> None:
        cmds = self.fs.commands
        command_words = set()
        if cmds:
            # START only counts after an opt-out; news yields to a step's own answer.
            command_words = {normalise(w) for c in cmds.commands.values()
                             if c.name not in ("start", "news")
                             for ws in c.words.values() for w in ws}
        for option in step.options:
            if option.label is not None:
                label = option.label.source("en", "voice") or ""
                if not label.strip().lower().startswith("to "):
                    self.add(WARNING, option.line, "a choice should read 'To ..., press 1'",
                             "Start its say: with 'To', e.g. 'To leave a message'.", step,
                             "wording")
            for lang in self.flow.languages:
                if not option.words.get(lang) and not (lang != "en" and option.words.get("en")):
                    self.add(WARNING, option.line, f"choice {option.key} has no words in '{lang}'",
                             "Add words: so callers can say it as well as press it.", step,
                             "speech")
            for words in option.words.values():
                for word in words:
                    norm = normalise(word)
                    if norm.upper() in TWILIO_STOP_WORDS:
                        self.add(ERROR, option.line, f"'{word}' is a Twilio stop word",
                                 "Twilio blocks the number on it; choose another word.", step,
                                 "stopword")
                    elif norm in command_words and not option.confirm:
                        # A choice marked confirm: answers its own question before a command.
                        self.add(WARNING, option.line, f"'{word}' is a global command word, so "
                                 "this choice never hears it", "Remove it from words:.", step,
                                 "speech")

    def check_greeting(self) -> None:
        """The first thing a call hears says how to repeat and how to reach a person."""
        if self.flow.kind not in ("inbound", "outbound") or self.flow.start not in self.flow.steps:
            return
        heard = " ".join(self.walk_voice(self.flow, self.flow.start, 0)).lower()
        for key, what in (("*", "repeat"), ("0", "a person")):
            if forms.press(key, "en", "voice") not in heard:
                self.add(ERROR, self.flow.line, f"the greeting does not say how to reach {what}",
                         f"Say '{{{{ press('{key}') }}}}' in the first thing a caller hears.",
                         None, "a11y")

    def walk_voice(self, flow: Flow, step_id: str, depth: int) -> list[str]:
        out: list[str] = []
        values = self.values("typical", "voice")
        for _ in range(20):
            step = flow.steps.get(step_id)
            if step is None or depth > 4:
                return out
            out += [say_text(s, "voice") for s in self.step_says(step, "en", "voice", "typical")]
            if step.asks:
                return out
            rule = next((r for r in step.next if r.when is None or _true(r.when, values)), None)
            if rule is None:
                return out
            if rule.call and rule.call in self.fs.flows:
                called = self.fs.flows[rule.call]
                return out + self.walk_voice(called, called.start, depth + 1)
            step_id = rule.goto
        return out

    def grade_row(self, name: str) -> None:
        text = "\n".join(self.english)
        sents = readability.sentences(text)
        if not sents:
            return
        g = readability.grade(text)
        longest = max(len(readability.words(s)) for s in sents)
        self.report.grades.append(GradeRow(name, g, len(readability.words(text)), len(sents),
                                           longest))
        if g > settings.MAX_GRADE and len(readability.words(text)) >= settings.GRADE_MIN_WORDS:
            self.add(WARNING, self.flow.line, f"the reading grade is {g}, above "
                     f"{settings.MAX_GRADE}", "Use shorter sentences and shorter words.", None,
                     "grade")


def _words(say: Say) -> str:
    """The words of a rendered text; a phone number counts as one plain word (it is read in
    digit groups)."""
    return "".join(s.text if not s.number else "number" for s in say.segments)


def _true(expression: str, values: dict) -> bool:
    try:
        return templates.evaluate(expression, values, "en", "voice")
    except TemplateError:
        return False


class CommandsLint(FlowLint):
    """The shared messages and commands: cost, wording and Relay UK (rule 14)."""

    def __init__(self, fs: FlowSet, report: LintReport):
        cmds = fs.commands
        flow = Flow(name="", file=cmds.file, line=cmds.line, start="", steps={},
                    languages=list(cmds.languages))
        super().__init__(fs, flow, report)

    def run(self) -> None:
        cmds = self.fs.commands
        for name, text in cmds.messages.items():
            step = Step(id=name, line=cmds.message_lines.get(name, text.line))
            step.say = [_line(text)]
            for lang in cmds.languages:
                self.check_sms(step, lang)
            self.check_wording(step)
        closing = cmds.messages.get("closing")
        if closing is not None and "relay uk" not in (closing.source("en", "voice") or "").lower():
            self.add(ERROR, closing.line, "the closing words do not name Relay UK",
                     "Add: If you use Relay UK, dial 18001 then our number.", None, "a11y")
        help_cmd = cmds.commands.get("help")
        help_flow = self.fs.flows.get(help_cmd.call) if help_cmd and help_cmd.call else None
        if help_flow is not None:
            said = " ".join(t.source("en", "sms") or "" for s in help_flow.steps.values()
                            for t in [line.text for line in s.say])
            if "relay uk" not in said.lower():
                self.add(ERROR, help_flow.line, "the HELP text does not name Relay UK",
                         "Add how to call through Relay UK (18001 then our number).", None,
                         "a11y")
        self.grade_row("(commands)")


def _line(text: Text):
    from .model import Line

    return Line(text, None, text.line)
