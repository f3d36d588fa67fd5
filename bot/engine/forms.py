"""People's forms of keys, dates, times and phone numbers, per language and channel.

Pure helpers used by templates: `press(1)` is "press 1" on a call and "reply 1" in a text;
dates read "Friday 12 December"; times "2pm"; phone numbers are shown as people write them
and read aloud digit by digit in groups.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

import phonenumbers
from phonenumbers import PhoneNumberFormat

_PRESS = {
    ("en", "voice"): "press {key}",
    ("en", "sms"): "reply {key}",
    ("cy", "voice"): "pwyswch {key}",
    ("cy", "sms"): "anfonwch {key}",
}
_KEY_WORDS = {
    "en": {"*": "star", "#": "hash"},
    "cy": {"*": "seren", "#": "hash"},
}
_DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "cy": ["dydd Llun", "dydd Mawrth", "dydd Mercher", "dydd Iau", "dydd Gwener", "dydd Sadwrn",
           "dydd Sul"],
}
_OR = {"en": "or", "cy": "neu"}
_MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "cy": ["Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst",
           "Medi", "Hydref", "Tachwedd", "Rhagfyr"],
}


# A date said in Welsh: "y deuddegfed o Ragfyr" (the ordinal, then "o" and the month with a
# soft mutation); written, "12 Rhagfyr" as in English.
_CY_ORDINALS = ["cyntaf", "ail", "trydydd", "pedwerydd", "pumed", "chweched", "seithfed",
                "wythfed", "nawfed", "degfed", "unfed ar ddeg", "deuddegfed", "trydydd ar ddeg",
                "pedwerydd ar ddeg", "pymthegfed", "unfed ar bymtheg", "ail ar bymtheg",
                "deunawfed", "pedwerydd ar bymtheg", "ugeinfed", "unfed ar hugain",
                "ail ar hugain", "trydydd ar hugain", "pedwerydd ar hugain", "pumed ar hugain",
                "chweched ar hugain", "seithfed ar hugain", "wythfed ar hugain",
                "nawfed ar hugain", "degfed ar hugain", "unfed ar ddeg ar hugain"]
_CY_MONTHS_AFTER_O = ["Ionawr", "Chwefror", "Fawrth", "Ebrill", "Fai", "Fehefin", "Orffennaf",
                      "Awst", "Fedi", "Hydref", "Dachwedd", "Ragfyr"]


def _cy_day_of_month(day: date) -> str:
    ordinal = _CY_ORDINALS[day.day - 1]
    article = "yr" if ordinal[0] in "aeiouwy" else "y"
    return f"{article} {ordinal} o {_CY_MONTHS_AFTER_O[day.month - 1]}"


def press(key, language: str = "en", channel: str = "voice") -> str:
    """'press 1' on a call, 'reply 1' in a text; '*' is 'press star' on a call."""
    key = str(key)
    lang = language if (language, channel) in _PRESS else "en"
    if channel == "voice":
        key = _KEY_WORDS.get(lang, _KEY_WORDS["en"]).get(key, key)
    return _PRESS[(lang, channel)].format(key=key)


def the_case(case: dict, language: str = "en") -> str:
    """'your case' to the person, 'Rose's case' to anyone else; in Welsh 'eich achos' and
    'achos Rose' (the owner follows the noun, so English's 'whose' cannot be reused)."""
    whose, name = _field(case, "whose"), _field(case, "person_first_name") or ""
    if not whose:
        return ""
    if language == "cy":
        return "eich achos" if whose == "your" else f"achos {name}"
    return f"{whose} case"


def _field(case, name: str):
    """A field of a plain dict or of the runner's guarded view (which records it as shown)."""
    try:
        return case[name]
    except (KeyError, AttributeError):
        return None


def either(names, language: str = "en") -> str:
    """'Harold or Jean'; 'Harold, Jean or Ivy' (no comma before 'or')."""
    names = [str(n) for n in names if n]
    if len(names) < 2:
        return "".join(names)
    word = _OR.get(language, _OR["en"])
    return f"{', '.join(names[:-1])} {word} {names[-1]}"


def as_date(value) -> date | None:
    """Accept a date, a datetime or an ISO string (as stored in conversation state)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return datetime.fromisoformat(str(value)).date()


def spoken_date(value, language: str = "en", today=None, channel: str = "sms") -> str:
    """'Friday 12 December' (no year, no 'th'); 'today', 'yesterday' or 'tomorrow' when
    `today` (a date or ISO string) makes it so. Welsh: 'dydd Gwener 12 Rhagfyr' in a text,
    'dydd Gwener, y deuddegfed o Ragfyr' on a call, as a Welsh speaker says it."""
    day = as_date(value)
    if day is None:
        return ""
    lang = language if language in _DAYS else "en"
    near = _near(day, today, lang)
    if near:
        return near
    if lang == "cy" and channel == "voice":
        return f"{_DAYS[lang][day.weekday()]}, {_cy_day_of_month(day)}"
    return f"{_DAYS[lang][day.weekday()]} {day.day} {_MONTHS[lang][day.month - 1]}"


def on_date(value, language: str = "en", today=None, channel: str = "sms") -> str:
    """'on Friday 12 December', or 'today': a date as it follows a verb."""
    said = spoken_date(value, language, today, channel)
    lang = language if language in _DAYS else "en"
    if not said or said in _NEAR[lang].values():
        return said
    if lang == "cy":  # "ddydd Gwener 12 Rhagfyr": the day's name takes a soft mutation
        return "d" + said
    return f"on {said}"


_NEAR = {"en": {0: "today", -1: "yesterday", 1: "tomorrow"},
         "cy": {0: "heddiw", -1: "ddoe", 1: "yfory"}}


def _near(day: date, today, lang: str) -> str:
    today = as_date(today)
    if today is None:
        return ""
    return _NEAR[lang].get((day - today).days, "")


def spoken_time(value, language: str = "en") -> str:
    """'2pm', '2:30pm', '12pm' from a time, a datetime or an ISO string; in Welsh
    '2 y prynhawn', '10:30 y bore' (morning, afternoon, evening: yb, yp, yh in writing)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = value.time()
    elif isinstance(value, str):
        value = time.fromisoformat(value) if "T" not in value else datetime.fromisoformat(
            value).time()
    hour = value.hour % 12 or 12
    minutes = f":{value.minute:02d}" if value.minute else ""
    if language == "cy":
        part = "y bore" if value.hour < 12 else "y prynhawn" if value.hour < 18 else "yr hwyr"
        return f"{hour}{minutes} {part}"
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{minutes}{suffix}"


def e164(raw: str) -> str:
    """'07700 900123' -> '+447700900123' (UK by default; drama ranges are not refused)."""
    parsed = phonenumbers.parse(str(raw), "GB")
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def display_number(number: str) -> str:
    """'+441134960123' -> '0113 496 0123'; short numbers ('999', '18001') stay as they are."""
    number = str(number).strip()
    if not number.startswith("+"):
        return number
    parsed = phonenumbers.parse(number, "GB")
    uk = parsed.country_code == 44
    fmt = PhoneNumberFormat.NATIONAL if uk else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, fmt)


def spoken_groups(number: str) -> list[str]:
    """The groups a listener can hold: ['0113', '496', '0123'], ['07700', '900', '123']."""
    first, *rest = re.findall(r"\+?\d+", display_number(number))
    groups = [first]
    for group in rest:
        if len(group) <= 4:
            groups.append(group)
        else:
            groups.extend(group[i : i + 3] for i in range(0, len(group), 3))
    return groups


def spoken_number(number: str) -> str:
    """'0 1 1 3, 4 9 6, 0 1 2 3': digit by digit, a pause (comma) between groups."""
    return ", ".join(" ".join("plus" if c == "+" else c for c in g) for g in spoken_groups(number))
