"""Recognise the global commands (commands.yaml) in any answer, on both channels."""

from __future__ import annotations

from . import settings
from .matching import as_key, best_phrase, contains_phrase, looks_like_pin, normalise
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
    if kind == "digits":
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
    for name in ("person", "repeat"):
        if _said(text, words(name)):
            return name
    if channel == "sms" and "news" in cmds.commands and (
            looks_like_pin(raw, settings.PIN_LENGTH) or _said(text, words("news"))):
        return "news"
    if any(contains_phrase(text, w) for w in words("wrong_number")):
        return "wrong_number"
    return None


def _said(text: str, phrases: list[str]) -> bool:
    """The whole answer is the word, or a phrase of two or more words appears in it."""
    for phrase in phrases:
        norm = normalise(phrase)
        if text == norm or (" " in norm and contains_phrase(text, norm)):
            return True
    return False
