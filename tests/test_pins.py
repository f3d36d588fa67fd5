"""Tests for bot.pins."""

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.pins import InvalidPin, hash_pin, is_weak_pin, validate_pin, verify_pin

KEY = "test-pin-key-not-a-real-secret"
OTHER_KEY = "another-test-pin-key"
SALT = "CASE-0001"

pins = st.text(alphabet="0123456789", min_size=4, max_size=6)


# --- validate_pin ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4821", "4821"),
        ("48213", "48213"),
        ("482139", "482139"),
        ("0000", "0000"),
        ("0482", "0482"),
        (" 4821 ", "4821"),
        ("48 21", "4821"),
        ("482 139", "482139"),
        ("4821\n", "4821"),
    ],
)
def test_validate_pin_accepts_and_normalises(raw: str, expected: str) -> None:
    assert validate_pin(raw) == expected


@pytest.mark.parametrize("raw", ["", "   "])
def test_validate_pin_rejects_empty(raw: str) -> None:
    with pytest.raises(InvalidPin, match="No PIN was given"):
        validate_pin(raw)


@pytest.mark.parametrize(
    ("raw", "count"), [("4", "1 digit"), ("482", "3 digits"), ("4821394", "7 digits")]
)
def test_validate_pin_rejects_wrong_length(raw: str, count: str) -> None:
    with pytest.raises(InvalidPin, match="A PIN is 4 to 6 digits, e.g. 4821") as info:
        validate_pin(raw)
    assert count in str(info.value)


@pytest.mark.parametrize(
    "raw", ["48a1", "abcd", "48-21", "4821#", "+4821", "48.21", "٤٨٢١", "４８２１"]
)
def test_validate_pin_rejects_non_digits(raw: str) -> None:
    with pytest.raises(InvalidPin, match="A PIN is 4 to 6 digits, e.g. 4821: use only digits"):
        validate_pin(raw)


@pytest.mark.parametrize("raw", [None, 4821, b"4821"])
def test_validate_pin_rejects_non_strings(raw: object) -> None:
    with pytest.raises(InvalidPin, match="A PIN is 4 to 6 digits"):
        validate_pin(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["739", "9507213", "73x9", "97#31", "975"])
def test_invalid_pin_messages_never_contain_the_pin(raw: str) -> None:
    with pytest.raises(InvalidPin) as info:
        validate_pin(raw)
    assert raw not in str(info.value)


def test_invalid_pin_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_pin("12")


# --- hash_pin -------------------------------------------------------------------------------


def test_hash_format() -> None:
    stored = hash_pin("4821", KEY)
    scheme, digest = stored.split("$")
    assert scheme == "hmac-sha256"
    assert len(digest) == 64
    assert set(digest) <= set("0123456789abcdef")


def test_hash_is_hmac_sha256_of_salt_nul_pin() -> None:
    expected = hmac.new(KEY.encode(), b"CASE-0001\x004821", hashlib.sha256).hexdigest()
    assert hash_pin("4821", KEY, salt=SALT) == f"hmac-sha256${expected}"
    unsalted = hmac.new(KEY.encode(), b"\x004821", hashlib.sha256).hexdigest()
    assert hash_pin("4821", KEY) == f"hmac-sha256${unsalted}"


def test_hash_is_deterministic() -> None:
    assert hash_pin("4821", KEY, SALT) == hash_pin("4821", KEY, SALT)


def test_hash_accepts_str_or_bytes_key() -> None:
    assert hash_pin("4821", KEY) == hash_pin("4821", KEY.encode())


def test_hash_normalises_the_pin_first() -> None:
    assert hash_pin(" 48 21 ", KEY) == hash_pin("4821", KEY)


def test_hash_depends_on_key_salt_and_pin() -> None:
    base = hash_pin("4821", KEY, SALT)
    assert hash_pin("4821", OTHER_KEY, SALT) != base
    assert hash_pin("4821", KEY, "CASE-0002") != base
    assert hash_pin("4822", KEY, SALT) != base


def test_same_pin_for_two_people_looks_different() -> None:
    assert hash_pin("4821", KEY, salt="CASE-0001") != hash_pin("4821", KEY, salt="CASE-0002")


def test_salt_and_pin_cannot_be_shifted_into_each_other() -> None:
    # Without the separator, salt "CASE-1" + PIN "2345" would equal salt "CASE-12" + PIN "345".
    assert hash_pin("12345", KEY, salt="CASE-") != hash_pin("2345", KEY, salt="CASE-1")


@pytest.mark.parametrize("pin", ["4821", "48213", "482139", "0000", "1234"])
def test_pin_does_not_appear_in_stored_hash(pin: str) -> None:
    assert pin not in hash_pin(pin, KEY, SALT)
    assert pin not in hash_pin(pin, KEY)


@pytest.mark.parametrize("raw", ["", "482", "48a1", "4821394"])
def test_hash_rejects_invalid_pins(raw: str) -> None:
    with pytest.raises(InvalidPin):
        hash_pin(raw, KEY)


@pytest.mark.parametrize("key", ["", b""])
def test_hash_refuses_an_empty_key(key: str | bytes) -> None:
    with pytest.raises(ValueError, match="PIN_KEY is empty"):
        hash_pin("4821", key)


def test_hash_refuses_a_key_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="PIN_KEY"):
        hash_pin("4821", None)  # type: ignore[arg-type]


# --- verify_pin -----------------------------------------------------------------------------


def test_verify_right_pin() -> None:
    stored = hash_pin("4821", KEY, SALT)
    assert verify_pin("4821", stored, KEY, SALT) is True
    assert verify_pin(" 48 21", stored, KEY, SALT) is True
    assert verify_pin("4821", stored, KEY.encode(), SALT) is True


def test_verify_wrong_pin() -> None:
    stored = hash_pin("4821", KEY, SALT)
    assert verify_pin("4822", stored, KEY, SALT) is False
    assert verify_pin("48210", stored, KEY, SALT) is False
    assert verify_pin("1284", stored, KEY, SALT) is False


def test_hash_made_with_another_key_does_not_verify() -> None:
    stored = hash_pin("4821", OTHER_KEY, SALT)
    assert verify_pin("4821", stored, KEY, SALT) is False


def test_hash_made_with_another_salt_does_not_verify() -> None:
    stored = hash_pin("4821", KEY, salt="CASE-0002")
    assert verify_pin("4821", stored, KEY, salt=SALT) is False
    assert verify_pin("4821", stored, KEY) is False


def test_verify_is_strict_about_the_stored_format() -> None:
    stored = hash_pin("4821", KEY)
    assert verify_pin("4821", stored.upper(), KEY) is False


@pytest.mark.parametrize(
    "stored",
    [
        None,
        "",
        "$",
        "hmac-sha256$",
        "hmac-sha256",
        "4821",
        "hmac-sha256$not-hex",
        "hmac-sha256$" + "0" * 63,
        "hmac-sha256$" + "0" * 65,
        "hmac-sha256$" + "g" * 64,
        "hmac-sha256$" + "é" * 64,
        "sha256$" + "0" * 64,
        "bcrypt$2b$12$abcdefghijklmnopqrstuv",
        b"hmac-sha256$" + b"0" * 64,
        12345,
    ],
)
def test_verify_never_raises_on_malformed_stored_hash(stored: object) -> None:
    assert verify_pin("4821", stored, KEY) is False  # type: ignore[arg-type]


def test_verify_rejects_extra_dollar_fields() -> None:
    stored = hash_pin("4821", KEY)
    assert verify_pin("4821", stored + "$x", KEY) is False


@pytest.mark.parametrize("pin", [None, "", "482", "48a1", "4821394", 4821, "٤٨٢١"])
def test_verify_never_raises_on_malformed_pin(pin: object) -> None:
    stored = hash_pin("4821", KEY)
    assert verify_pin(pin, stored, KEY) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["", b"", None, 42])
def test_verify_never_raises_on_a_bad_key(key: object) -> None:
    stored = hash_pin("4821", KEY)
    assert verify_pin("4821", stored, key) is False  # type: ignore[arg-type]


def test_verify_uses_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.pins

    calls: list[tuple[object, object]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(bot.pins.hmac, "compare_digest", spy)
    assert verify_pin("4821", hash_pin("4821", KEY), KEY)
    assert len(calls) == 1


@settings(database=None)  # write nothing into the working tree
@given(pin=pins, salt=st.text(max_size=20))
def test_any_valid_pin_round_trips(pin: str, salt: str) -> None:
    stored = hash_pin(pin, KEY, salt)
    assert verify_pin(pin, stored, KEY, salt)
    assert not verify_pin(pin, stored, OTHER_KEY, salt)


@settings(database=None)
@given(pin=pins, other=pins)
def test_a_different_pin_never_verifies(pin: str, other: str) -> None:
    stored = hash_pin(pin, KEY, SALT)
    assert verify_pin(other, stored, KEY, SALT) is (other == pin)


# --- is_weak_pin ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pin",
    [
        "0000",
        "1111",
        "999999",
        "1234",
        "123456",
        "3456",
        "4321",
        "654321",
        "9876",
        "0123",
        "7890",
        "67890",
        "3210",
        "2109",
    ],
)
def test_weak_pins(pin: str) -> None:
    assert is_weak_pin(pin) is True


@pytest.mark.parametrize("pin", ["4821", "1235", "1243", "1122", "0001", "135790", "2468", "1212"])
def test_pins_that_are_not_weak(pin: str) -> None:
    assert is_weak_pin(pin) is False


def test_is_weak_pin_normalises_spaces() -> None:
    assert is_weak_pin(" 12 34 ") is True


@pytest.mark.parametrize("raw", ["", "123", "12a4"])
def test_is_weak_pin_rejects_non_pins(raw: str) -> None:
    with pytest.raises(InvalidPin):
        is_weak_pin(raw)


def test_weak_pins_are_still_valid() -> None:
    # Weakness is a warning for the CLI, not a reason to refuse the PIN.
    assert validate_pin("1234") == "1234"
    assert verify_pin("1234", hash_pin("1234", KEY), KEY)
