"""Recognise the global commands (commands.yaml) in any answer, on both channels."""

from __future__ import annotations

from . import settings
from .matching import (
    as_key,
    best_phrase,
    contains_phrase,
    looks_like_pin,
    normalise,
    without_fillers,
)
from .model import Commands


def match_command(cmds: Commands, kind: str, raw: str, *, channel: str, language: str,
                  opted_out) -> str | None:
    """The command an answer asks for, or None. `opted_out` is called only when needed.

    Keyed digits are an answer (a PIN may contain 0); only a lone key (0 or *) is a command.
    In a text, asking for news, or a PIN on its own, is the `news` command: it works at any
    point (the runner lets the step's own answer win where the step asks for it).
    """
    def keys(name: str) -> list[str]:
        cmd = cmds.commands.get(name)
        return cmd.keys if cmd else []

    def words(name: str) -> list[str]:
        return cmds.words(name, language)

    stripped = (raw or "").strip()
    if kind in ("digits", "recording"):  # a recording ended by * or 0
        for name in ("repeat", "person"):
            if stripped and stripped in keys(name):
                return name
        return None
    if kind not in ("text", "speech"):
        return None
    for name in ("repeat", "person"):
        if stripped in keys(name):
            return name
    text = normalise(raw)
    if not text:
        return None
    if best_phrase(text, {"danger": words("danger")}):
        return "danger"
    if text in {normalise(w) for w in words("stop")}:
        return "stop"
    # START/YES/UNSTOP opt back in only as a whole text, as Twilio treats them; on a call
    # "yes" answers the question asked (e.g. "did you say you feel unsafe?").
    if channel == "sms" and text in {normalise(w) for w in words("start")} and opted_out():
        return "start"
    if text in {normalise(w) for w in words("help")}:
        return "help" if channel == "sms" else "person"
    for name in ("repeat", "person"):
        if as_key(text) in keys(name):
            return name
    calm = without_fillers(text)  # "erm, can I talk to somebody please" is "talk to somebody"
    for name in ("person", "repeat"):
        if _said(text, words(name)) or (calm and _said(calm, words(name))):
            return name
    if channel == "voice" and "wait" in cmds.commands and (
            _said(text, words("wait")) or (calm and _said(calm, words("wait")))):
        return "wait"
    if channel == "sms" and "news" in cmds.commands and (
            looks_like_pin(raw, settings.PIN_LENGTH) or _said(text, words("news"))):
        return "news"
    if any(contains_phrase(text, w) for w in words("wrong_number")):
        return "wrong_number"
    return None


# How many more words an answer may have around a phrase and still mean it: "could you say
# that again please" is asking to hear it again; "the carer did not come again today and
# mum has not eaten" is a message, not "come again".
AROUND_A_PHRASE = 5


def _said(text: str, phrases: list[str]) -> bool:
    """The whole answer is the word, or a phrase of two or more words appears in a short
    answer."""
    length = len(text.split())
    for phrase in phrases:
        norm = normalise(phrase)
        if text == norm or (" " in norm and length <= len(norm.split()) + AROUND_A_PHRASE
                            and contains_phrase(text, norm)):
            return True
    return False
