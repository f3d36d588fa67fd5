"""SMS cost, matching answers, reading grade."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.engine import matching, readability
from bot.engine.sms import cost, gsm_safe


@pytest.mark.parametrize("text,encoding,parts", [
    ("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2), ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3), ("[" * 80, "GSM-7", 1), ("[" * 81, "GSM-7", 2),
    ("ŵ" * 70, "UCS-2", 1), ("ŵ" * 71, "UCS-2", 2), ("ŷ" * 134, "UCS-2", 2),
    ("🙂" * 35, "UCS-2", 1), ("", "GSM-7", 1),
    # A character never straddles two parts: the escape of € stays with its septet.
    ("x" * 152 + "€" + "x" * 152, "GSM-7", 3), ("x" * 152 + "€" + "x" * 151, "GSM-7", 2),
    ("ŵ" * 66 + "🙂" + "ŵ" * 66, "UCS-2", 3), ("ŵ" * 65 + "🙂" + "ŵ" * 67, "UCS-2", 2),
])
def test_sms_cost(text, encoding, parts):
    c = cost(text)
    assert (c.encoding, c.parts) == (encoding, parts)


# Characters that matter at part boundaries: plain, extended (two septets), Welsh (UCS-2),
# an emoji (a surrogate pair, two UTF-16 units).
_SMS_ALPHABET = "ax €[~^ŵŷâ🙂"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=_SMS_ALPHABET, max_size=420))
def test_sms_parts_agree_with_an_independent_splitter(text):
    import smsutil

    assert cost(text).parts == max(1, len(smsutil.split(text).parts)), text


def test_gsm_safe_replaces_quotes_and_dashes():
    assert gsm_safe("Rose’s “case” – closed…") == "Rose's \"case\" - closed..."


@pytest.mark.parametrize("text,key", [
    ("1", "1"), (" 2. ", "2"), ("three", "3"), ("number one", "1"), ("press 4", "4"),
    ("star", "*"), ("*", "*"), ("zero", "0"), ("dau", "2"), ("call me", None), ("12", None),
])
def test_as_key(text, key):
    assert matching.as_key(text) == key


@pytest.mark.parametrize("text,digits", [
    ("4821", "4821"), ("4 8 2 1", "4821"), ("four eight two one", "4821"),
    ("my pin is 4821", "4821"), ("oh four two one", "0421"),
])
def test_digits_in(text, digits):
    assert matching.digits_in(text) == digits


def test_best_phrase_prefers_the_longest_match():
    words = {"ok": ["ok", "fine"], "call": ["not ok", "call me"]}
    assert matching.best_phrase(matching.normalise("I'm not OK"), words) == "call"
    assert matching.best_phrase(matching.normalise("I'm OK thanks"), words) == "ok"
    assert matching.best_phrase(matching.normalise("banana"), words) is None


def test_yes_or_no():
    assert matching.yes_or_no("yes") is True
    assert matching.yes_or_no("1") is True
    assert matching.yes_or_no("no that is wrong") is False
    assert matching.yes_or_no("not right") is False
    assert matching.yes_or_no("maybe") is None


@pytest.mark.parametrize("word,count", [
    ("cat", 1), ("worker", 2), ("December", 3), ("safe", 1), ("people", 2), ("table", 2),
    ("called", 1), ("wanted", 2), ("someone", 2), ("Rose's", 1), ("0113", 4),
])
def test_syllables(word, count):
    assert readability.syllables(word) == count


def test_grade_of_plain_and_hard_text():
    assert readability.grade("We will call you. Your worker is Sam.") < 2
    assert readability.grade("Multidisciplinary safeguarding considerations necessitate "
                             "comprehensive documentation.") > 12


def test_a_turn_is_split_into_texts_that_keep_a_menu_together():
    from bot.engine import Say, Segment, sms_messages

    def say(text, step, new_line=False):
        return Say((Segment(text=text),), step, new_line)

    replies = [say("x" * 250 + ".", "info"), say("What now?", "menu"),
               say("To hear it again, reply 1.", "menu", True),
               say("To ask for a call back, reply 2.", "menu", True)]
    texts = sms_messages(replies)
    assert texts == ["x" * 250 + ".", "What now?\nTo hear it again, reply 1.\n"
                     "To ask for a call back, reply 2."]
    assert all(cost(t).parts <= 2 for t in texts)
