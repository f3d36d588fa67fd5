"""Phone numbers: check what staff type, store it as E.164, and show it to people, logs and speech.

The default region is GB. Ofcom's drama ranges (07700 900xxx mobile, 01632 960xxx and the
city ranges such as 0113 496 0xxx) are accepted explicitly: phonenumbers calls some of them
invalid because they are never allocated, but they are the only numbers safe for tests and demos.
"""

import re
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "InvalidPhoneNumber",
    "LineType",
    "display",
    "is_mobile",
    "is_withheld",
    "line_type",
    "mask",
    "normalise",
    "spoken",
    "spoken_groups",
]

EXAMPLE = "0113 496 0123"
_UK_CODE = 44
_UK_DIGITS = 11  # as typed in the UK, with the leading 0
_ECHO_MAX = 40  # keep error messages readable whatever was pasted in

# Separators people type between groups of digits; everything else except a leading + is refused.
_SEPARATORS = re.compile(r"[\s\-().]")

# What Twilio puts in From when the caller hides their number: words, or the words spelt on a
# keypad (ANONYMOUS, RESTRICTED, UNKNOWN, BLOCKED, UNAVAILABLE).
_WITHHELD_WORDS = frozenset(
    {"anonymous", "restricted", "unknown", "private", "withheld", "blocked", "unavailable"}
)
_WITHHELD_KEYPAD = frozenset({"266696687", "7378742833", "8656696", "2562533", "86282452253"})


class InvalidPhoneNumber(ValueError):
    """A number that cannot be used; the message says what was wrong and how to fix it."""


class LineType(StrEnum):
    """What kind of line a number is: only a mobile can be relied on to receive texts."""

    MOBILE = "mobile"
    LANDLINE = "landline"
    OTHER = "other"


# Ofcom's drama ranges (national significant numbers). phonenumbers 9.0.43 calls 07700 900,
# 01632 960 and 0115 496 0 invalid, so all of them are recognised here rather than trusting
# its metadata, which changes between releases.
_DRAMA_RANGES = (
    (re.compile(r"7700900\d{3}"), LineType.MOBILE),  # 07700 900000-900999
    (re.compile(r"1632960\d{3}"), LineType.LANDLINE),  # 01632 960000-960999, no area
    (re.compile(r"11[3-8]4960\d{3}"), LineType.LANDLINE),  # 0113 ... 0118 496 0000-0999
    (re.compile(r"1[2-6]14960\d{3}"), LineType.LANDLINE),  # 0121 ... 0161 496 0000-0999
    (re.compile(r"2079460\d{3}"), LineType.LANDLINE),  # 020 7946 0000-0999
    (re.compile(r"1914980\d{3}"), LineType.LANDLINE),  # 0191 498 0000-0999
    (re.compile(r"2896496\d{3}"), LineType.LANDLINE),  # 028 9649 6000-6999
)

# FIXED_LINE_OR_MOBILE (some non-UK plans) is "other": it may not take texts.
_LINE_TYPES = {
    PhoneNumberType.FIXED_LINE: LineType.LANDLINE,
    PhoneNumberType.MOBILE: LineType.MOBILE,
}


def normalise(raw: str, region: str = "GB") -> str:
    """Return `raw` in E.164 form, e.g. '+441134960123'; raise InvalidPhoneNumber if unusable."""
    return _e164(_parse(raw, region))


def line_type(e164: str) -> LineType:
    """Return whether the number is a mobile, a landline or something else."""
    number = _parse(e164)
    return _drama_type(number) or _classify(phonenumbers.number_type(number))


def is_mobile(e164: str) -> bool:
    """True if the number is a mobile; False for landlines and for anything unusable."""
    try:
        return line_type(e164) is LineType.MOBILE
    except InvalidPhoneNumber:
        return False


def display(e164: str) -> str:
    """Return the number as people write it: '0113 496 0123' in the UK, international otherwise."""
    number = _parse(e164)
    if number.country_code == _UK_CODE:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def spoken_groups(e164: str) -> list[str]:
    """Return the groups a person reads out: ['0113', '496', '0123'], ['07700', '900', '123']."""
    # Non-UK numbers keep their '+' group so the caller hears the country code.
    first, *rest = re.findall(r"\+?\d+", display(e164))
    # A listener cannot hold '900123' in one breath: read long groups in threes.
    return [first, *(chunk for group in rest for chunk in _threes(group))]


def spoken(e164: str) -> str:
    """Return the number for text-to-speech: digit by digit, with a pause between groups."""
    return ", ".join(_spell(group) for group in spoken_groups(e164))


def mask(e164_or_raw: str | None) -> str:
    """Return a form safe for logs, e.g. '+44 7700 900***'. Never raises."""
    if e164_or_raw is None or not str(e164_or_raw).strip():
        return "(none)"
    text = str(e164_or_raw)
    if is_withheld(text):
        return "withheld"
    try:
        number = _parse(text)
    except ValueError:
        return _mask_unparsed(text)
    return _star_last_digits(phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))


def is_withheld(raw: str | None) -> bool:
    """True if the caller ID Twilio gave is missing or hidden ('anonymous', '+266696687', ...)."""
    if raw is None:
        return True
    text = str(raw).strip()
    if not text or text.lower() in _WITHHELD_WORDS:
        return True
    return _SEPARATORS.sub("", text).removeprefix("+") in _WITHHELD_KEYPAD


def _parse(raw: str | None, region: str = "GB") -> PhoneNumber:
    """Parse and check a number, accepting the drama ranges that phonenumbers rejects."""
    text = "" if raw is None else str(raw).strip()
    if not text:
        raise InvalidPhoneNumber(f"The phone number is empty: type one, e.g. {EXAMPLE}")
    compact = _compact(text, region)
    try:
        number = phonenumbers.parse(compact, region.upper())
    except NumberParseException as exc:
        raise _parse_error(text, exc) from None
    if _drama_type(number) or phonenumbers.is_valid_number(number):
        return number
    raise _invalid(text, number)


def _compact(text: str, region: str) -> str:
    """Strip separators, refusing anything else that is not a digit or a leading '+'."""
    shown = _echo(text)
    if any(ch.isalpha() for ch in text):
        raise InvalidPhoneNumber(
            f"{shown} has letters in it; letters are not allowed: type digits only, e.g. {EXAMPLE}"
        )
    compact = _SEPARATORS.sub("", text)
    body = compact.removeprefix("+")
    if "+" in body:
        raise InvalidPhoneNumber(f"{shown} has a '+' in the middle: put it first, e.g. +44 ...")
    bad = sorted({ch for ch in body if ch not in "0123456789"})
    if bad:
        raise InvalidPhoneNumber(
            f"{shown} contains {' '.join(bad)}: use only digits, spaces, dashes and brackets,"
            f" e.g. {EXAMPLE}"
        )
    # Without a 0 or +44 we cannot tell a UK number from one missing its country code.
    if region.upper() == "GB" and not compact.startswith(("+", "0")):
        raise InvalidPhoneNumber(f"{shown} must start with 0 or +44, e.g. {EXAMPLE}")
    return compact


def _parse_error(text: str, exc: NumberParseException) -> InvalidPhoneNumber:
    """Turn a phonenumbers parse failure into a message for a person."""
    shown = _echo(text)
    if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE:
        return InvalidPhoneNumber(
            f"{shown} does not start with a known country code: UK numbers start with +44 or 0"
        )
    if exc.error_type == NumberParseException.TOO_LONG:
        return InvalidPhoneNumber(f"{shown} is too long to be a phone number, e.g. {EXAMPLE}")
    if exc.error_type == NumberParseException.NOT_A_NUMBER:
        return InvalidPhoneNumber(f"{shown} is not a phone number: type one, e.g. {EXAMPLE}")
    return InvalidPhoneNumber(f"{shown} is too short to be a phone number, e.g. {EXAMPLE}")


def _invalid(text: str, number: PhoneNumber) -> InvalidPhoneNumber:
    """Explain why a parsed number is not valid, as precisely as we can."""
    shown = _echo(text)
    if number.country_code == _UK_CODE:
        digits = len(str(number.national_number)) + 1  # count the 0 people type
        if digits < _UK_DIGITS:
            return InvalidPhoneNumber(
                f"{shown} is too short for a UK number: give all 11 digits, e.g. {EXAMPLE}"
            )
        if digits > _UK_DIGITS:
            return InvalidPhoneNumber(
                f"{shown} is too long for a UK number: give 11 digits, e.g. {EXAMPLE}"
            )
    else:
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason == phonenumbers.ValidationResult.TOO_SHORT:
            return InvalidPhoneNumber(f"{shown} is too short: check for missing digits")
        if reason == phonenumbers.ValidationResult.TOO_LONG:
            return InvalidPhoneNumber(f"{shown} is too long: check for extra digits")
    return InvalidPhoneNumber(f"{shown} is not a valid number: check the digits, e.g. {EXAMPLE}")


def _drama_type(number: PhoneNumber) -> LineType | None:
    """Return the line type of an Ofcom drama number, or None if it is not one."""
    if number.country_code != _UK_CODE:
        return None
    national = str(number.national_number)
    for pattern, kind in _DRAMA_RANGES:
        if pattern.fullmatch(national):
            return kind
    return None


def _classify(number_type: int) -> LineType:
    """Map a phonenumbers PhoneNumberType to a LineType."""
    return _LINE_TYPES.get(number_type, LineType.OTHER)


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _threes(group: str) -> list[str]:
    """'900123' -> ['900', '123']; groups of up to 4 digits stay whole."""
    if len(group) <= 4:
        return [group]
    return [group[i : i + 3] for i in range(0, len(group), 3)]


def _spell(group: str) -> str:
    """'0113' -> '0 1 1 3'; '+44' -> 'plus 4 4'."""
    words = ["plus" if ch == "+" else ch for ch in group]
    return " ".join(words)


def _star_last_digits(text: str, count: int = 3) -> str:
    """Replace the last `count` digits of `text` with '*', keeping the grouping."""
    chars = list(text)
    hidden = 0
    for i in range(len(chars) - 1, -1, -1):
        if hidden == count:
            break
        if chars[i].isdigit():
            chars[i] = "*"
            hidden += 1
    return "".join(chars)


def _mask_unparsed(text: str) -> str:
    """Mask input that is not a usable number: show at most 3 leading characters."""
    kept = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    # Only show a prefix when most of the input stays hidden.
    if sum(ch.isdigit() for ch in kept) >= 6:
        return kept[:3] + "***"
    return "***"


def _echo(text: str) -> str:
    """Quote staff input for an error message, shortened if very long."""
    if len(text) > _ECHO_MAX:
        text = text[: _ECHO_MAX - 1] + "…"
    return f"'{text}'"
