"""Tests for bot.phones. Only Ofcom drama-range numbers appear here."""

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from bot import phones
from bot.phones import (
    InvalidPhoneNumber,
    LineType,
    display,
    is_mobile,
    is_withheld,
    line_type,
    mask,
    normalise,
    spoken,
    spoken_groups,
)

LEEDS = "+441134960123"
LONDON = "+442079460123"
BELFAST = "+442896496123"
MOBILE = "+447700900123"
NO_AREA = "+441632960123"


# --- normalise: valid spellings -------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "0113 496 0123",
        "01134960123",
        "0113-496-0123",
        "(0113) 496 0123",
        "(0113) 496-0123",
        "0113.496.0123",
        "  0113 496 0123  ",
        "0113\t496\t0123",
        "+44 113 496 0123",
        "+441134960123",
        "+44 (0)113 496 0123",
        "+44 (0) 113 496 0123",
        "0044 113 496 0123",
        "00441134960123",
        "00 44 113 496 0123",
    ],
)
def test_normalise_accepts_common_spellings(raw: str) -> None:
    assert normalise(raw) == LEEDS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07700 900123", MOBILE),
        ("07700900123", MOBILE),
        ("+44 7700 900123", MOBILE),
        ("0044 7700 900 123", MOBILE),
        ("07700 900000", "+447700900000"),
        ("07700 900999", "+447700900999"),
        ("01632 960123", NO_AREA),
        ("+44 1632 960 123", NO_AREA),
        ("01632 960000", "+441632960000"),
        ("01632 960999", "+441632960999"),
        ("0115 496 0123", "+441154960123"),
        ("0115 496 0000", "+441154960000"),
        ("0115 496 0999", "+441154960999"),
    ],
)
def test_normalise_accepts_drama_ranges_that_phonenumbers_rejects(raw: str, expected: str) -> None:
    # The premise of the special case: phonenumbers alone calls these invalid.
    assert not phonenumbers.is_valid_number(phonenumbers.parse(raw, "GB"))
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0113 496 0000", "+441134960000"),
        ("0113 496 0999", "+441134960999"),
        ("0114 496 0123", "+441144960123"),
        ("0116 496 0123", "+441164960123"),
        ("0117 496 0123", "+441174960123"),
        ("0118 496 0123", "+441184960123"),
        ("0121 496 0123", "+441214960123"),
        ("0131 496 0123", "+441314960123"),
        ("0141 496 0123", "+441414960123"),
        ("0151 496 0123", "+441514960123"),
        ("0161 496 0999", "+441614960999"),
        ("020 7946 0123", LONDON),
        ("020 7946 0000", "+442079460000"),
        ("0191 498 0123", "+441914980123"),
        ("0191 498 0999", "+441914980999"),
        ("028 9649 6123", BELFAST),
        ("028 9649 6000", "+442896496000"),
        ("028 9649 6999", "+442896496999"),
    ],
)
def test_normalise_accepts_geographic_drama_ranges(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


DRAMA_BLOCKS = [
    ("07700 900", LineType.MOBILE),
    ("01632 960", LineType.LANDLINE),
    *((f"011{d} 496 0", LineType.LANDLINE) for d in "345678"),
    *((f"01{d}1 496 0", LineType.LANDLINE) for d in "23456"),
    ("020 7946 0", LineType.LANDLINE),
    ("0191 498 0", LineType.LANDLINE),
    ("028 9649 6", LineType.LANDLINE),
]


@pytest.mark.parametrize(("prefix", "expected"), DRAMA_BLOCKS)
def test_every_number_in_every_drama_range_is_accepted(prefix: str, expected: LineType) -> None:
    for n in range(1000):
        raw = f"{prefix}{n:03d}"
        e164 = normalise(raw)
        assert e164 == "+44" + raw.replace(" ", "")[1:]
        assert line_type(e164) is expected


def test_normalise_is_idempotent() -> None:
    for number in (LEEDS, LONDON, BELFAST, MOBILE, NO_AREA):
        assert normalise(normalise(number)) == number


def test_normalise_with_another_region_still_reads_international_form() -> None:
    assert normalise("+44 113 496 0123", region="FR") == LEEDS
    assert normalise("+44 7700 900123", region="fr") == MOBILE


def test_normalise_region_is_case_insensitive() -> None:
    assert normalise("0113 496 0123", region="gb") == LEEDS


def test_drama_mobile_just_outside_range_is_still_rejected() -> None:
    # One digit more than the range is too long: only the exact 07700 900xxx block is special.
    with pytest.raises(InvalidPhoneNumber):
        normalise("07700 9001234")


# --- normalise: invalid input, each with a message a person can act on ----------------------


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_empty_is_rejected(raw: str | None) -> None:
    with pytest.raises(InvalidPhoneNumber, match="empty"):
        normalise(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["0113 496 0123 ext 4", "07700 900123x", "O113 496 0123", "abc"])
def test_letters_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="letters are not allowed") as info:
        normalise(raw)
    assert raw in str(info.value)


def test_vanity_letters_are_not_turned_into_digits() -> None:
    # phonenumbers would read letters as keypad digits; staff typing letters made a mistake.
    with pytest.raises(InvalidPhoneNumber, match="letters"):
        normalise("07700 9OO123")


@pytest.mark.parametrize(("raw", "symbol"), [("0113#496#0123", "#"), ("0113 496 0123*", "*")])
def test_other_symbols_are_rejected(raw: str, symbol: str) -> None:
    with pytest.raises(
        InvalidPhoneNumber, match="only digits, spaces, dashes and brackets"
    ) as info:
        normalise(raw)
    assert symbol in str(info.value)


def test_non_ascii_digits_are_rejected() -> None:
    with pytest.raises(InvalidPhoneNumber, match="only digits"):
        normalise("０１１３ ４９６ ０１２３")


def test_plus_in_the_middle_is_rejected() -> None:
    with pytest.raises(InvalidPhoneNumber, match=r"'\+' in the middle"):
        normalise("0113 +496 0123")


@pytest.mark.parametrize("raw", ["1134960123", "7700 900123", "441134960123"])
def test_missing_leading_zero_or_plus_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match=r"must start with 0 or \+44"):
        normalise(raw)


def test_too_short_message_matches_the_brief() -> None:
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise("0113 496")
    assert str(info.value) == (
        "'0113 496' is too short for a UK number: give all 11 digits, e.g. 0113 496 0123"
    )


@pytest.mark.parametrize("raw", ["0113 496 012", "07700 9001", "+44 1632 96012", "+44 113"])
def test_too_short_uk_numbers(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="too short"):
        normalise(raw)


@pytest.mark.parametrize("raw", ["0113 496 01234", "+44 7700 9001234", "0044 1632 9601234"])
def test_too_long_uk_numbers(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="too long for a UK number"):
        normalise(raw)


@pytest.mark.parametrize("raw", ["0", "00", "0044", "+", "+44"])
def test_fragments_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber, match="phone number"):
        normalise(raw)


def test_huge_input_is_rejected_with_a_short_message() -> None:
    raw = "0113 496 0123 " * 30
    with pytest.raises(InvalidPhoneNumber) as info:
        normalise(raw)
    assert len(str(info.value)) < 150


def test_unknown_country_code_is_rejected() -> None:
    with pytest.raises(InvalidPhoneNumber, match="known country code"):
        normalise("+0 113 496 0123")


def test_number_phonenumbers_calls_invalid_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only drama numbers may appear here: treat one as an ordinary number phonenumbers rejects.
    monkeypatch.setattr(phones, "_DRAMA_RANGES", ())
    monkeypatch.setattr(phones.phonenumbers, "is_valid_number", lambda number: False)
    with pytest.raises(InvalidPhoneNumber, match="is not a valid number: check the digits"):
        normalise("0113 496 0123")


def test_drama_ranges_are_accepted_whatever_phonenumbers_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phones.phonenumbers, "is_valid_number", lambda number: False)
    for number in (LEEDS, LONDON, BELFAST, MOBILE, NO_AREA):
        assert normalise(number) == number


def test_drama_ranges_need_a_uk_country_code() -> None:
    # The same digits after another country code are not the UK's drama numbers.
    assert phones._drama_type(phonenumbers.parse("+33 7700 900123")) is None


def test_invalid_phone_number_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        normalise("not a number")


def test_error_messages_give_an_example() -> None:
    for raw in ("", "abc", "0113 496", "0113 496 01234", "1134960123"):
        with pytest.raises(InvalidPhoneNumber, match="e.g."):
            normalise(raw)


# --- line types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (MOBILE, LineType.MOBILE),
        ("+447700900000", LineType.MOBILE),
        ("+447700900999", LineType.MOBILE),
        (NO_AREA, LineType.LANDLINE),
        ("+441632960000", LineType.LANDLINE),
        (LEEDS, LineType.LANDLINE),
        (LONDON, LineType.LANDLINE),
        (BELFAST, LineType.LANDLINE),
        ("+441914980123", LineType.LANDLINE),
        ("0161 496 0123", LineType.LANDLINE),
        ("0115 496 0123", LineType.LANDLINE),
    ],
)
def test_line_type(number: str, expected: LineType) -> None:
    assert line_type(number) is expected


def test_line_type_values_are_strings() -> None:
    assert LineType.MOBILE == "mobile"
    assert LineType.LANDLINE == "landline"
    assert LineType.OTHER == "other"
    assert {t.value for t in LineType} == {"mobile", "landline", "other"}


@pytest.mark.parametrize(
    ("number_type", "expected"),
    [
        (PhoneNumberType.FIXED_LINE, LineType.LANDLINE),
        (PhoneNumberType.MOBILE, LineType.MOBILE),
        (PhoneNumberType.FIXED_LINE_OR_MOBILE, LineType.OTHER),
        (PhoneNumberType.VOIP, LineType.OTHER),
        (PhoneNumberType.PERSONAL_NUMBER, LineType.OTHER),
        (PhoneNumberType.UAN, LineType.OTHER),
        (PhoneNumberType.TOLL_FREE, LineType.OTHER),
        (PhoneNumberType.PREMIUM_RATE, LineType.OTHER),
        (PhoneNumberType.SHARED_COST, LineType.OTHER),
        (PhoneNumberType.PAGER, LineType.OTHER),
        (PhoneNumberType.VOICEMAIL, LineType.OTHER),
        (PhoneNumberType.UNKNOWN, LineType.OTHER),
    ],
)
def test_line_type_maps_every_phonenumbers_type(
    monkeypatch: pytest.MonkeyPatch, number_type: int, expected: LineType
) -> None:
    # Only drama numbers may appear here: treat one as an ordinary number of each type.
    monkeypatch.setattr(phones, "_DRAMA_RANGES", ())
    monkeypatch.setattr(phones.phonenumbers, "number_type", lambda number: number_type)
    assert line_type(LEEDS) is expected


def test_drama_ranges_are_typed_even_if_phonenumbers_disagrees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phones.phonenumbers, "number_type", lambda number: PhoneNumberType.VOIP)
    assert line_type(MOBILE) is LineType.MOBILE
    assert line_type(NO_AREA) is LineType.LANDLINE
    assert line_type(LEEDS) is LineType.LANDLINE


def test_line_type_rejects_invalid_numbers() -> None:
    with pytest.raises(InvalidPhoneNumber):
        line_type("0113 496")


def test_is_mobile() -> None:
    assert is_mobile(MOBILE)
    assert is_mobile("07700 900456")
    assert not is_mobile(LEEDS)
    assert not is_mobile(NO_AREA)


@pytest.mark.parametrize("raw", ["", "anonymous", "0113 496", "07700 9001234"])
def test_is_mobile_is_false_for_unusable_input(raw: str) -> None:
    assert is_mobile(raw) is False


# --- mask -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (MOBILE, "+44 7700 900***"),
        (LEEDS, "+44 113 496 0***"),
        (LONDON, "+44 20 7946 0***"),
        (NO_AREA, "+44 1632 960***"),
        (BELFAST, "+44 28 9649 6***"),
        ("07700 900123", "+44 7700 900***"),
        ("(0113) 496-0123", "+44 113 496 0***"),
    ],
)
def test_mask(number: str, expected: str) -> None:
    assert mask(number) == expected


@pytest.mark.parametrize("raw", ["", "   ", None])
def test_mask_of_nothing(raw: str | None) -> None:
    assert mask(raw) == "(none)"


@pytest.mark.parametrize("raw", ["anonymous", "Anonymous", "+266696687", "restricted"])
def test_mask_of_withheld(raw: str) -> None:
    assert mask(raw) == "withheld"


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "0113 496",
        "07700 9001234",
        "0113 496 0123 ext 9",
        "+0 113 496 0123",
        "!!!",
        "0" * 300,
        "0113\x00496",
    ],
)
def test_mask_never_raises_and_hides_garbage(raw: str) -> None:
    masked = mask(raw)
    assert "*" in masked
    # At most three leading characters of the input survive.
    assert len(masked.replace("*", "")) <= 3
    assert masked.replace("*", "") == raw.replace(" ", "")[: len(masked.replace("*", ""))]


def test_mask_of_non_string_does_not_raise() -> None:
    assert mask(1134960123) == "113***"  # type: ignore[arg-type]


def test_mask_hides_the_last_three_digits() -> None:
    for number in (LEEDS, LONDON, BELFAST, MOBILE, NO_AREA):
        assert number[-3:] not in mask(number).replace(" ", "")[-6:]
        assert mask(number).endswith("***")


# --- display and speech ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (LEEDS, "0113 496 0123"),
        (MOBILE, "07700 900123"),
        (LONDON, "020 7946 0123"),
        (NO_AREA, "01632 960123"),
        (BELFAST, "028 9649 6123"),
        ("+44 (0)113 4960123", "0113 496 0123"),
    ],
)
def test_display(number: str, expected: str) -> None:
    assert display(number) == expected


@pytest.mark.parametrize(
    ("number", "groups", "said"),
    [
        (LEEDS, ["0113", "496", "0123"], "0 1 1 3, 4 9 6, 0 1 2 3"),
        (MOBILE, ["07700", "900", "123"], "0 7 7 0 0, 9 0 0, 1 2 3"),
        (NO_AREA, ["01632", "960", "123"], "0 1 6 3 2, 9 6 0, 1 2 3"),
        (LONDON, ["020", "7946", "0123"], "0 2 0, 7 9 4 6, 0 1 2 3"),
        (BELFAST, ["028", "9649", "6123"], "0 2 8, 9 6 4 9, 6 1 2 3"),
        ("+441914980456", ["0191", "498", "0456"], "0 1 9 1, 4 9 8, 0 4 5 6"),
    ],
)
def test_spoken_and_groups(number: str, groups: list[str], said: str) -> None:
    assert spoken_groups(number) == groups
    assert spoken(number) == said


def test_spoken_groups_rejoin_to_the_national_number() -> None:
    for number in (LEEDS, LONDON, BELFAST, MOBILE, NO_AREA):
        assert "".join(spoken_groups(number)) == "0" + number.removeprefix("+44")


def test_spoken_rejects_invalid_numbers() -> None:
    with pytest.raises(InvalidPhoneNumber):
        spoken("0113 496")


# --- withheld caller IDs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "  ",
        "anonymous",
        "Anonymous",
        "ANONYMOUS",
        "+266696687",
        "266696687",
        "restricted",
        "Restricted",
        "unknown",
        "private",
        "Private",
        "withheld",
        "+7378742833",
    ],
)
def test_is_withheld(raw: str | None) -> None:
    assert is_withheld(raw) is True


@pytest.mark.parametrize("raw", [MOBILE, LEEDS, "07700 900123", "0113 496", "client:caseworker"])
def test_is_not_withheld(raw: str) -> None:
    assert is_withheld(raw) is False


def test_withheld_numbers_are_not_valid_numbers() -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalise("anonymous")
