"""Setting a PIN for a person or a representative."""

from __future__ import annotations

from sqlmodel import Session, select

from bot.records.audit import record_interaction

from ..models import Case, Direction, Person, Representative
from ..pins import InvalidPin, hash_pin, is_weak_pin, validate_pin


class PinChangeError(ValueError):
    """The PIN could not be set; the message says why."""


def set_pin(session: Session, pin: str, *, key: str, person_ref: str | None = None,
            representative_ref: str | None = None, actor: str = "cli") -> tuple[str, bool]:
    """Hash and store a PIN; returns (who, whether the PIN is weak). Never logs the PIN."""
    try:
        pin = validate_pin(pin)
    except InvalidPin as exc:
        raise PinChangeError(str(exc)) from None
    model = Person if person_ref else Representative
    ref = person_ref or representative_ref
    record = session.exec(select(model).where(model.ref == ref)).first()
    if record is None:
        raise PinChangeError(f"There is no {model.__name__.lower()} '{ref}'. Check the reference.")
    record.pin_hash = hash_pin(pin, key, salt=record.ref)
    person_id = record.id if model is Person else record.person_id
    case_id = session.exec(select(Case.id).where(Case.person_id == person_id)
                           .order_by(Case.id.desc())).first()  # on the case's timeline
    record_interaction(
        session, kind="pin_set", direction=Direction.INTERNAL, actor=actor,
        person_id=person_id, case_id=case_id,
        representative_id=record.id if model is Representative else None,
    )
    return f"{record.full_name} ({record.ref})", is_weak_pin(pin)


def new_pin() -> str:
    """A random 4 digit PIN that is not easy to guess (no 1111, no 1234): shown once, for a
    letter to the person, and never stored but as its keyed hash."""
    import secrets

    while True:
        pin = f"{secrets.randbelow(10_000):04d}"
        if not is_weak_pin(pin):
            return pin
