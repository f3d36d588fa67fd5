"""What staff write for callers (news, a closure summary), checked as the flows are.

The line reads these words aloud and texts them, to the person and to the relatives and
friends they trust, so the same rules apply as to the flows (guides/accessibility.md 8, 10):
plain words, short sentences, a low reading grade, and characters a text carries cheaply.
`clean` is what every service applies (it refuses what cannot be sent well); `advice`
is what a person writing the words is shown before they are posted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine import readability, settings
from bot.engine.lint import CONTRACTION_RE, JARGON, JARGON_SOFT, WORKER_WORDS
from bot.engine.matching import normalise
from bot.engine.sms import cost, gsm_safe, non_gsm_chars

# Welsh letters are spelling, not decoration: allowed, though a text then costs more.
WELSH_LETTERS = set("âêîôûŵŷÂÊÎÔÛŴŶáéíóúẃýÁÉÍÓÚẂÝàèìòùẁỳÀÈÌÒÙẀỲäëïöüẅÿÄËÏÖÜẄŸ")
_YOU = re.compile(r"\b(you|your|yours|yourself)\b", re.IGNORECASE)


class WordingError(ValueError):
    """Words that cannot be sent as they are; the message says what to change."""


@dataclass(frozen=True)
class Advice:
    warnings: list[str]
    parts: int  # text message parts the words take on their own
    encoding: str


def clean(text: str, what: str) -> str:
    """The words as they will be sent: spaces tidied, curly quotes and dashes made plain.

    Raises WordingError for a character a text cannot carry cheaply (an emoji, a symbol):
    one makes every text of it UCS-2, about three times the cost, and some phones show a box.
    """
    plain = gsm_safe(" ".join(text.split()))
    odd = [ch for ch in non_gsm_chars(plain) if ch not in WELSH_LETTERS]
    if odd:
        shown = ", ".join(f"'{ch}'" for ch in odd)
        raise WordingError(
            f"The {what} has {shown}, which a text cannot carry cheaply: it would make every"
            " text of it cost about three times as much, and some phones show a box instead."
            " Remove it, or say it in words.")
    return plain


def advice(text: str, what: str, *, about: str | None = None) -> Advice:
    """What to improve before posting: jargon, long sentences, the reading grade, and
    "you" in words that are read to the person and to those they trust (`about`)."""
    plain = gsm_safe(" ".join(text.split()))
    lower = normalise(plain)
    warnings = []
    if plain != " ".join(text.split()):
        warnings.append("Curly quotes or dashes were made plain, so the text costs less.")
    for term in JARGON + JARGON_SOFT + WORKER_WORDS:
        if re.search(rf"\b{re.escape(term)}\b", lower):
            better = "say 'worker'" if term in WORKER_WORDS else "say what it means instead"
            warnings.append(f"'{term}' is a word callers may not know: {better}.")
    if match := CONTRACTION_RE.search(plain):
        warnings.append(f"'{match.group(0)}' is a contraction: write the words in full.")
    for sentence in readability.sentences(plain):
        count = len(readability.words(sentence))
        if count > settings.SENTENCE_WORDS_WARN:
            warnings.append(f"A sentence has {count} words (\"{sentence[:40]}...\"): keep each"
                            f" under {settings.SENTENCE_WORDS_WARN + 1}, one idea at a time.")
    words = readability.words(plain)
    grade = readability.grade(plain)
    if len(words) >= settings.GRADE_MIN_WORDS and grade > settings.MAX_GRADE:
        warnings.append(f"The reading grade is {grade:.1f}; aim for {settings.MAX_GRADE:g} or"
                        " less with shorter words and sentences.")
    if about and _YOU.search(plain):
        warnings.append(f"The {what} is read to {about} and to the people {about} trusts, so"
                        f" 'you' would mean different people: write '{about}' instead.")
    needed = cost(plain)
    if any(ch in WELSH_LETTERS for ch in plain):
        warnings.append("Welsh letters (such as ŵ) make a text UCS-2: it costs"
                        f" {needed.parts} part(s).")
    return Advice(warnings=warnings, parts=needed.parts, encoding=needed.encoding)
