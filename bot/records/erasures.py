"""Remembering what was erased here, so the case system cannot quietly bring it back.

The case system may keep a record for longer than the line does (its own retention), and a
nightly file or an API call would then create the erased person again. Each erased
reference is kept only as an HMAC digest under PIN_KEY, which lives outside the database and
its backups: the table says nothing about who was erased, but an import can still ask "was
P-001 erased?". `caseline people allow-again REF` forgets one (someone who comes back with a
new concern).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.models import ErasedRecord

KINDS = ("people", "representatives", "cases")


def digest(pin_key: str, kind: str, ref: str) -> str:
    return hmac.new(pin_key.encode(), f"erased:{kind}:{ref}".encode(),
                    hashlib.sha256).hexdigest()


def remember(session: Session, pin_key: str, refs: dict[str, Iterable[str]]) -> None:
    """Note each {kind: refs} as erased (again is harmless)."""
    wanted = {digest(pin_key, kind, ref): kind for kind, kind_refs in refs.items()
              for ref in kind_refs}
    known = set(session.exec(select(ErasedRecord.digest).where(
        ErasedRecord.digest.in_(list(wanted)))))
    for value, kind in wanted.items():
        if value not in known:
            session.add(ErasedRecord(kind=kind, digest=value))


def erased(session: Session, pin_key: str, kind: str, refs: Iterable[str]) -> set[str]:
    """Which of these refs of `kind` were erased here."""
    by_digest = {digest(pin_key, kind, ref): ref for ref in refs}
    if not by_digest:
        return set()
    found = session.exec(select(ErasedRecord.digest).where(
        ErasedRecord.digest.in_(list(by_digest))))
    return {by_digest[value] for value in found}


def forget(session: Session, pin_key: str, ref: str) -> list[str]:
    """Allow `ref` to be imported again; the kinds it was erased as."""
    digests = {digest(pin_key, kind, ref): kind for kind in KINDS}
    rows = session.exec(select(ErasedRecord).where(
        ErasedRecord.digest.in_(list(digests)))).all()
    session.execute(sa.delete(ErasedRecord).where(ErasedRecord.digest.in_(list(digests))))
    return sorted(digests[row.digest] for row in rows)
