"""What a sweep already read for a whole chunk of cases, so each case's turn asks nothing again.

A turn reads who is at a number, each person's case, the numbers that opted out and the
conversation a text will wait in. Taken one case at a time that is a dozen queries a case;
a sweep reads them for its whole chunk in a handful (`prefetch`) and leaves them in the
session (`session.info`), where `LineContext`, `identity` and `outreach.contact` look first.
Only a sweep's own session carries it, and only for the length of its transaction; what the
sweep writes as it goes (a new conversation) is noted here too, so the next case sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlmodel import Session, select

from bot.db import among
from bot.models import (
    Case,
    ConversationState,
    OptOut,
    OutboxMessage,
    Person,
    PersonPhone,
    Representative,
    Team,
    Worker,
)

KEY = "caseline_known"


@dataclass
class Known:
    at_number: dict[str, list]  # number -> the people (PersonAt), then representatives
    cases: dict[int, Case | None]  # person id -> their open case, else latest closed
    opted_out: set[str]
    conversations: dict[str, ConversationState | None]  # "sms:<number>" -> row or None
    phones: dict[int, list[PersonPhone]]  # person id -> numbers, primary first
    representatives: dict[int, list[Representative]]  # person id -> in id order
    outbox_keys: dict[int, set[str]]  # case id -> keys of its outbox rows
    held: list = field(default_factory=list)  # the identity map is weak: keep them alive
    mobile: dict[str, bool] = field(default_factory=dict)  # number -> takes texts (asked)


class PersonAt(NamedTuple):
    """A person at a number, as far as telling who is calling needs (identity.Candidate)."""

    id: int
    ref: str
    first_name: str
    pin_hash: str | None


def known(session: Session) -> Known | None:
    return session.info.get(KEY)


def prefetch(session: Session, cases: list[Case]) -> Known:
    """Read, in a few queries, what the turns for these cases will ask."""
    person_ids = sorted({c.person_id for c in cases})
    people = list(session.exec(select(Person).where(among(session, Person.id, person_ids))))
    phones = list(session.exec(select(PersonPhone).where(
        among(session, PersonPhone.person_id, person_ids))
        .order_by(PersonPhone.is_primary.desc(), PersonPhone.id)))
    reps = list(session.exec(select(Representative).where(
        among(session, Representative.person_id, person_ids)).order_by(Representative.id)))
    numbers = sorted({p.number for p in phones} | {r.number for r in reps})
    # Everyone else at those numbers too (a couple's landline, a son for both parents):
    # only what tells them apart, since a number may be shared by many (a care home's).
    at_numbers = list(session.exec(select(
        Person.id, Person.ref, Person.first_name, Person.pin_hash, PersonPhone.number).join(
        PersonPhone, PersonPhone.person_id == Person.id).where(
        among(session, PersonPhone.number, numbers), Person.deceased.is_(False))
        .order_by(Person.id)))
    reps_at = list(session.exec(select(Representative).where(
        among(session, Representative.number, numbers)).order_by(Representative.id)))
    # The cases of the chunk's people and of their representatives' people; another
    # person's at a shared number is read only if a turn asks (LineContext._case_of).
    their_cases = list(session.exec(select(Case).where(among(
        session, Case.person_id, person_ids + [r.person_id for r in reps_at]))
        .order_by(Case.opened_at.desc(), Case.id.desc())))
    workers = list(session.exec(select(Worker).where(among(
        session, Worker.id, {c.worker_id for c in their_cases}))))
    teams = list(session.exec(select(Team).where(among(
        session, Team.id, {w.team_id for w in workers}))))
    conversations = {f"sms:{n}": None for n in numbers}
    # Locked in key order: two chunks sharing numbers (a couple's landline) then wait for
    # each other instead of each holding a row the other wants (a deadlock, and a retry).
    for row in session.exec(select(ConversationState).where(
            among(session, ConversationState.key, conversations))
            .order_by(ConversationState.key).with_for_update()):
        conversations[row.key] = row
    memo = Known(at_number={n: [] for n in numbers}, cases={},
                 opted_out=set(session.exec(select(OptOut.number))),
                 conversations=conversations, phones={}, representatives={},
                 outbox_keys={c.id: set() for c in cases},
                 held=[*people, *phones, *reps, *reps_at, *their_cases, *workers, *teams])
    for person_id, ref, first_name, pin_hash, number in at_numbers:
        memo.at_number[number].append(PersonAt(person_id, ref, first_name, pin_hash))
    for rep in reps_at:
        memo.at_number[rep.number].append(rep)
    by_person: dict[int, list[Case]] = {}
    for case in their_cases:  # newest first
        by_person.setdefault(case.person_id, []).append(case)
    for person_id in {*person_ids, *by_person}:
        theirs = by_person.get(person_id, [])  # the same rule as LineContext._case_of
        memo.cases[person_id] = next((c for c in theirs if not c.is_closed),
                                     theirs[0] if theirs else None)
    for case_id, key in session.exec(select(OutboxMessage.case_id, OutboxMessage.key).where(
            among(session, OutboxMessage.case_id, [c.id for c in cases]))):
        memo.outbox_keys[case_id].add(key)
    for phone in phones:
        memo.phones.setdefault(phone.person_id, []).append(phone)
    for rep in reps:
        memo.representatives.setdefault(rep.person_id, []).append(rep)
    session.info[KEY] = memo
    return memo


def forget(session: Session) -> None:
    session.info.pop(KEY, None)
