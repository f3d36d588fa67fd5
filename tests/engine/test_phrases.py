"""Natural speech is understood: every phrase in tests/data/phrases.yaml, said on a call (or
texted, for messages and STOP), must mean what the corpus says. The count is printed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.engine import Input
from bot.engine.io import Expect

CORPUS = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "phrases.yaml")
                        .read_text(encoding="utf-8"))
CASES = [(meaning, phrase) for meaning, phrases in CORPUS.items() for phrase in phrases]


def _at_the_menu(converse):
    conv = converse(channel="voice")
    conv.send(Input.start())
    return conv


def _meant(converse, meaning: str, phrase: str) -> bool:
    """Play the phrase where it would be said and judge what the line did with it."""
    if meaning in ("repeat", "person", "more_time"):
        conv = _at_the_menu(converse)
        out = conv.send(Input.speech(phrase, 0.9))
        if meaning == "repeat":
            return "To hear about your case, press 1" in out and "did not understand" not in out
        if meaning == "person":
            return "connect_person" in conv.kinds() or "putting you through" in out
        waits = [r.timeout for r in conv.replies if isinstance(r, Expect)]
        return "Take your time" in out and waits == [30]
    if meaning in ("yes", "no"):
        conv = _at_the_menu(converse)
        conv.send(Input.speech("I feel unsafe", 0.3))  # unsure: read back, then confirmed
        out = conv.send(Input.speech(phrase, 0.9))
        danger = any(getattr(e, "action", "") == "danger" for e in conv.effects)
        if meaning == "yes":
            return danger and "putting you through to a person" in out
        return not danger and "putting you through" not in out
    if meaning == "message":
        conv = converse()
        conv.text("news")
        conv.text("1357")
        conv.text("2")  # leave a message
        conv.text(phrase)
        return "record_message" in conv.kinds()
    if meaning == "not_stop":
        conv = converse()
        conv.text("hi")
        conv.text(phrase)
        return "opt_out" not in conv.kinds()
    raise AssertionError(f"unknown meaning '{meaning}' in phrases.yaml")


@pytest.mark.parametrize(("meaning", "phrase"), CASES, ids=[f"{m}: {p}" for m, p in CASES])
def test_each_phrase_means_what_the_corpus_says(converse, phrase_tally, meaning, phrase):
    phrase_tally["total"] = len(CASES)
    assert _meant(converse, meaning, phrase), f"'{phrase}' was not understood as {meaning}"
    phrase_tally["understood"] += 1


def test_the_corpus_covers_what_callers_say_and_reports_the_count():
    asked = {"repeat that", "say that again", "sorry?", "what?", "pardon", "come again",
             "I don't understand", "can I talk to somebody please", "erm, yes please",
             "no thank you", "hang on", "wait", "more time"}
    assert asked <= {phrase for _, phrase in CASES}  # the count is printed at the end
