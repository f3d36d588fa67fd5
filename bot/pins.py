"""PINs: check them, store them as a keyed hash, and verify them.

A PIN is 4 to 6 digits. It is stored as HMAC-SHA256 under PIN_KEY, a secret kept outside the
database, so a copy of the database alone does not let anyone try PINs. A per-person salt
(e.g. the person's external reference) stops two people with the same PIN having the same hash.
Nothing here logs, prints or echoes a PIN, not even in error messages.
"""

import hashlib
import hmac
import re
from itertools import pairwise

__all__ = ["InvalidPin", "hash_pin", "is_weak_pin", "validate_pin", "verify_pin"]

SCHEME = "hmac-sha256"
MIN_DIGITS = 4
MAX_DIGITS = 6
_PIN = re.compile(r"[0-9]+")  # ASCII digits only: a keypad cannot send anything else
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")
_WHITESPACE = re.compile(r"\s+")


class InvalidPin(ValueError):
    """Not a PIN. The message says what a PIN looks like and never contains the input."""


def validate_pin(pin: str) -> str:
    """Return the PIN without spaces, or raise InvalidPin if it is not 4 to 6 digits."""
    if not isinstance(pin, str):
        raise InvalidPin("A PIN is 4 to 6 digits, e.g. 4821")
    cleaned = _WHITESPACE.sub("", pin)
    if not cleaned:
        raise InvalidPin("No PIN was given: a PIN is 4 to 6 digits, e.g. 4821")
    if not _PIN.fullmatch(cleaned):
        raise InvalidPin("A PIN is 4 to 6 digits, e.g. 4821: use only digits")
    if not MIN_DIGITS <= len(cleaned) <= MAX_DIGITS:
        raise InvalidPin(f"A PIN is 4 to 6 digits, e.g. 4821: that one has {_count(cleaned)}")
    return cleaned


def hash_pin(pin: str, key: str | bytes, salt: str = "") -> str:
    """Return 'hmac-sha256$<hex>' for storing; InvalidPin for a bad PIN, ValueError for no key."""
    return f"{SCHEME}${_digest(validate_pin(pin), _key_bytes(key), salt)}"


def verify_pin(pin: str, stored_hash: str, key: str | bytes, salt: str = "") -> bool:
    """True if `pin` matches `stored_hash`. Never raises: anything malformed is simply False."""
    try:
        expected = _digest(validate_pin(pin), _key_bytes(key), salt)
    except (ValueError, TypeError):
        return False
    stored = _stored_digest(stored_hash)
    if stored is None:
        return False
    return hmac.compare_digest(expected, stored)


def is_weak_pin(pin: str) -> bool:
    """True for easily guessed PINs: one digit repeated (0000) or a run up or down (1234, 9876).

    Runs wrap round (7890, 2109) because that is how they sit on a keypad's top row.
    Raises InvalidPin if `pin` is not a PIN at all.
    """
    digits = [int(ch) for ch in validate_pin(pin)]
    steps = {(b - a) % 10 for a, b in pairwise(digits)}
    return steps in ({0}, {1}, {9})


def _digest(pin: str, key: bytes, salt: str) -> str:
    # A PIN is digits only, so the NUL separator keeps (salt, pin) pairs from colliding.
    message = f"{salt}\x00{pin}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _key_bytes(key: str | bytes) -> bytes:
    """The key as bytes; an empty or missing key is a configuration error, not a PIN error."""
    if isinstance(key, str):
        key = key.encode()
    if not isinstance(key, bytes):
        raise TypeError("PIN_KEY must be str or bytes")
    if not key:
        raise ValueError("PIN_KEY is empty: set it in the settings before storing PINs")
    return key


def _stored_digest(stored_hash: object) -> str | None:
    """The hex digest from 'hmac-sha256$<hex>', or None if the stored value is malformed."""
    if not isinstance(stored_hash, str):
        return None
    scheme, sep, digest = stored_hash.partition("$")
    if scheme != SCHEME or not sep or not _HEX_DIGEST.fullmatch(digest):
        return None
    return digest


def _count(digits: str) -> str:
    return "1 digit" if len(digits) == 1 else f"{len(digits)} digits"


# --- a PIN carried between two turns of one conversation -----------------------------------
# A caller from a withheld number types their PIN, then their case reference; the PIN must
# wait in the stored conversation state between the two requests. It is sealed there: its
# digits are shifted by a keyed stream (HMAC with PIN_KEY and a fresh nonce), authenticated,
# and the seal expires, so the state alone never reveals the PIN.

def seal_pin(pin: str, key: str | bytes, *, now: float, nonce: str, ttl: int = 600) -> str:
    """A short-lived, keyed token for `pin`; `nonce` must be fresh (e.g. a random hex)."""
    pin = validate_pin(pin)
    expires = int(now) + ttl
    stream = _stream(key, nonce, expires, len(pin))
    sealed = "".join(str((int(d) + s) % 10) for d, s in zip(pin, stream, strict=True))
    return f"{nonce}.{expires}.{sealed}.{_tag(key, nonce, expires, sealed)}"


def open_pin(token: str | None, key: str | bytes, *, now: float) -> str | None:
    """The PIN sealed in `token`, or None if it is malformed, tampered with or expired."""
    try:
        nonce, expires_text, sealed, tag = (token or "").split(".")
        expires = int(expires_text)
    except ValueError:
        return None
    if not hmac.compare_digest(tag, _tag(key, nonce, expires, sealed)) or now > expires:
        return None
    stream = _stream(key, nonce, expires, len(sealed))
    return "".join(str((int(c) - s) % 10) for c, s in zip(sealed, stream, strict=True))


def _stream(key: str | bytes, nonce: str, expires: int, length: int) -> list[int]:
    digest = hmac.new(_key_bytes(key), f"seal\x00{nonce}\x00{expires}".encode(),
                      hashlib.sha256).digest()
    return [b % 10 for b in digest[:length]]


def _tag(key: str | bytes, nonce: str, expires: int, sealed: str) -> str:
    message = f"tag\x00{nonce}\x00{expires}\x00{sealed}".encode()
    return hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()[:32]
