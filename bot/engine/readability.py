"""Reading grade offline: our own syllable counter and the Flesch-Kincaid grade formula.

(textstat 0.7.9+ downloads a word list on first use, which fails offline.)
"""

from __future__ import annotations

import re

_EXCEPTIONS = {
    "the": 1, "are": 1, "were": 1, "where": 1, "there": 1, "here": 1, "one": 1, "once": 1,
    "someone": 2, "somebody": 3, "every": 2, "everyone": 3, "area": 3, "idea": 3, "people": 2,
    "business": 2, "different": 3, "evening": 2, "being": 2, "doing": 2, "going": 2,
    "seeing": 2, "toward": 2, "really": 2, "create": 2, "period": 3, "police": 2, "safe": 1,
    "whose": 1, "phone": 1, "done": 1, "gone": 1, "come": 1, "some": 1, "give": 1, "live": 1,
    "have": 1, "move": 1, "lose": 1, "whole": 1, "sure": 1, "voice": 1, "please": 1,
    "ok": 2, "okay": 2, "pin": 1, "relay": 2, "uk": 2, "december": 3, "wednesday": 2,
    "tuesday": 2, "thursday": 2, "saturday": 3, "february": 4, "january": 4,
}
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+")
_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|\n+")


def syllables(word: str) -> int:
    """Estimate the syllables in one English word (at least 1)."""
    word = word.lower().strip("'’-")
    if not word:
        return 0
    if word.isdigit():
        return max(1, len(word))  # read digit by digit on a call
    if word in _EXCEPTIONS:
        return _EXCEPTIONS[word]
    if word.endswith("'s") or word.endswith("’s"):
        word = word[:-2]
    if "-" in word:
        return sum(syllables(part) for part in word.split("-") if part)
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups)
    if word.endswith("e") and not word.endswith(("le", "ee", "ye")) and count > 1:
        count -= 1
    if word.endswith(("ed",)) and not word.endswith(("ted", "ded")) and count > 1:
        count -= 1
    if word.endswith("es") and not word.endswith(("ses", "zes", "ces", "ges", "ches", "shes")) \
            and count > 1:
        count -= 1
    return max(1, count)


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text)


def sentences(text: str) -> list[str]:
    """Split on sentence ends and line breaks; drop empty pieces."""
    return [s.strip() for s in _SENTENCE_RE.split(text) if words(s)]


def grade(text: str) -> float:
    """Flesch-Kincaid grade level of a text (0 for no words)."""
    sents = sentences(text)
    ws = [w for s in sents for w in words(s)]
    if not ws:
        return 0.0
    syl = sum(syllables(w) for w in ws)
    return round(0.39 * len(ws) / len(sents) + 11.8 * syl / len(ws) - 15.59, 1)
