"""Understanding answers: keys, digits said as words, and an option's words in free text."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

TWILIO_STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                     "OPTOUT")
TWILIO_START_WORDS = ("START", "YES", "UNSTOP")

DIGIT_WORDS = {
    "zero": "0", "oh": "0", "nought": "0", "none": "0", "one": "1", "won": "1", "two": "2",
    "to": "2", "too": "2", "three": "3", "four": "4", "for": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "star": "*", "hash": "#",
    # Welsh
    "dim": "0", "un": "1", "dau": "2", "dwy": "2", "tri": "3", "tair": "3", "pedwar": "4",
    "pump": "5", "chwech": "6", "saith": "7", "wyth": "8", "naw": "9", "seren": "*",
}
YES_WORDS = ("yes", "yeah", "yep", "yes that is right", "that is right", "right", "correct",
             "go on", "ie", "ydw", "ydy")
NO_WORDS = ("no", "nope", "not right", "not really", "wrong", "that is wrong", "na", "nage",
            "naddo")
_CONTRACTIONS = {"i'm": "i am", "don't": "do not", "can't": "cannot", "won't": "will not",
                 "it's": "it is", "i've": "i have", "i'd": "i would", "isn't": "is not",
                 "that's": "that is", "doesn't": "does not", "didn't": "did not"}


_CONTRACTION = re.compile(r"\b(" + "|".join(re.escape(c) for c in _CONTRACTIONS) + r")\b")
_PUNCTUATION = re.compile(r"[^\w\s*#]")


@lru_cache(maxsize=8192)  # every option's and command's words are normalised on every turn
def normalise(text: str) -> str:
    """Lower case, plain apostrophes, contractions spelt out, punctuation to spaces."""
    text = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    # "ffonio'n ol" typed without its accent still means "ffonio'n ôl": fold accents.
    text = "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
    text = _CONTRACTION.sub(lambda found: _CONTRACTIONS[found.group(1)], text)
    text = _PUNCTUATION.sub(" ", text)
    return " ".join(text.split())


# Words people put around an answer ("erm, yes please", "no thank you"). Only repeat,
# a person, more time and yes/no look past them: never STOP or START, which Twilio reads
# as whole texts, so a looser match could never end someone's check-ins.
_FILLERS = re.compile(r"\b(erm+|um+|uh+|er|ah+|hmm+|please|thank you|thanks|ok|okay|well)\b")


def without_fillers(text: str) -> str:
    """A normalised answer without its fillers: 'erm yes please' -> 'yes'."""
    return " ".join(_FILLERS.sub(" ", text).split())


def contains_phrase(text: str, phrase: str) -> bool:
    """True when the normalised phrase appears in the normalised text as whole words."""
    pattern = _phrase_pattern(phrase)
    return pattern is not None and pattern.search(text) is not None


@lru_cache(maxsize=8192)
def _phrase_pattern(phrase: str) -> re.Pattern | None:
    phrase = normalise(phrase)
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)") if phrase else None


def is_phrase(text: str, phrase: str) -> bool:
    return text == normalise(phrase)


def as_key(text: str) -> str | None:
    """'1', ' 1. ', 'one', 'number one', 'press 1' -> '1'; '*' and 'star' -> '*'."""
    words = [w for w in normalise(text).split() if w not in ("number", "press", "reply", "option")]
    if len(words) != 1:
        stripped = (text or "").strip()
        return stripped if stripped in ("*", "#") else None
    word = words[0]
    if re.fullmatch(r"[0-9*#]", word):
        return word
    return DIGIT_WORDS.get(word)


def digits_in(text: str) -> str:
    """The digits typed or said: '4 8 2 1', 'four eight two one', 'my pin is 4821' -> '4821'."""
    out = []
    for word in normalise(text).split():
        if word.isdigit():
            out.append(word)
        elif word in DIGIT_WORDS and DIGIT_WORDS[word].isdigit() and word not in ("to", "for"):
            out.append(DIGIT_WORDS[word])
    return "".join(out)


_PIN_WORDS = {"my", "pin", "is", "it", "the", "here", "number", "code"}


def looks_like_pin(text: str, length: int) -> bool:
    """A text that is a PIN and nothing else: '4821', '48 21', 'PIN 4821', 'my pin is 4821'.
    Digits inside a longer message ('call me at 4 pm on 12 May') are not a PIN."""
    words = normalise(text).split()
    digits = "".join(w for w in words if w.isdigit())
    others = [w for w in words if not w.isdigit()]
    return len(digits) == length and all(w in _PIN_WORDS for w in others)


def best_phrase(text: str, candidates: dict[str, list[str]]) -> str | None:
    """The candidate whose longest matching phrase is longest; None when none or a tie."""
    scores: dict[str, int] = {}
    for name, phrases in candidates.items():
        for phrase in phrases:
            if contains_phrase(text, phrase):
                scores[name] = max(scores.get(name, 0), len(normalise(phrase).split()))
    if not scores:
        return None
    top = max(scores.values())
    winners = [n for n, s in scores.items() if s == top]
    return winners[0] if len(winners) == 1 else None


def yes_or_no(text: str) -> bool | None:
    """Understand a yes/no answer said, typed or keyed (1 yes, 2 no)."""
    key = as_key(text)
    if key == "1":
        return True
    if key == "2":
        return False
    words = {"yes": list(YES_WORDS), "no": list(NO_WORDS)}
    found = best_phrase(without_fillers(normalise(text)), words)
    return None if found is None else found == "yes"
