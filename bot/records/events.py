"""Case events and their listeners.

A service that changes a case emits an event *inside* its transaction, so that a
listener (the notices of the scheduling work: closure confirmations, news notices)
writes its outbox rows in the same commit as the change: both happen or neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session


@dataclass(frozen=True)
class CaseEvent:
    kind: str  # "news", "worker", "closed", "paused"
    case_id: int
    actor: str
    details: dict = field(default_factory=dict)


Listener = Callable[[Session, CaseEvent], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Listener:
    """Register a listener (usable as a decorator); registering twice is harmless."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def unsubscribe(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def emit(session: Session, event: CaseEvent) -> None:
    """Call every listener within the caller's transaction; an error rolls it all back."""
    for listener in list(_listeners):
        listener(session, event)
