"""Text message cost: GSM-7 or UCS-2, and how many parts a body takes."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each) and its extension table (two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")

# What GOV.UK Notify replaces before counting; we do the same before sending.
REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2012": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u200b": "",
}


@dataclass(frozen=True)
class SmsCost:
    """The encoding a body needs, its length in that encoding's units, and its parts."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int
    parts: int
    chars: int


# Every text passes through both, character by character: done in C, not in a loop here.
_PLAIN_FORMS = str.maketrans(REPLACEMENTS)
_GSM7 = frozenset(GSM7_BASIC | GSM7_EXTENDED)


def gsm_safe(text: str) -> str:
    """Replace curly quotes, dashes and other look-alikes with their plain forms."""
    return text.translate(_PLAIN_FORMS)


def is_gsm7(text: str) -> bool:
    return _GSM7.issuperset(text)


def cost(text: str, ucs2: bool = False) -> SmsCost:
    """Count parts as a handset would: 160/153 septets for GSM-7, 70/67 units for UCS-2.

    A character is never split between parts: an extended GSM-7 character (an escape
    and its septet, e.g. €) or a UCS-2 surrogate pair (an emoji) that does not fit in what
    is left of a part starts the next one, so 152 x, €, 152 x is 3 parts, not 2.
    `ucs2` costs the text as UCS-2 whatever it holds (Welsh: a name or news with an accent
    will make it so).
    """
    if is_gsm7(text) and not ucs2:
        sizes = [2 if ch in GSM7_EXTENDED else 1 for ch in text]
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]  # UTF-16 code units
        single, multi, encoding = 70, 67, "UCS-2"
    units = sum(sizes)
    parts = 1
    if units > single:
        used = 0
        for size in sizes:
            if used + size > multi:
                parts, used = parts + 1, 0
            used += size
    return SmsCost(encoding=encoding, units=units, parts=parts, chars=len(text))


def non_gsm_chars(text: str) -> list[str]:
    """The characters that force UCS-2, in order of first appearance."""
    seen: list[str] = []
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENDED and ch not in seen:
            seen.append(ch)
    return seen
