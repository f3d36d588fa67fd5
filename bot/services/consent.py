"""What a person's representative may be told, changed by staff: who recorded it, when, how.

Consent belongs to the person (DESIGN §2): staff record what they agreed to, with how it was
given, and the change goes on the timeline of each of their open cases. A change made here
is kept by the nightly import unless the case system changes the same field too (the
ownership rules, bot/importer/ownership.py), so the two never silently undo each other.
"""

from __future__ import annotations

from sqlmodel import Session, select

from bot.models import Authority, Case, ConsentScope, Direction, Representative, Stage, utcnow
from bot.records.audit import record_interaction

SCOPE_WORDS = {
    ConsentScope.STATUS: "how the case stands",
    ConsentScope.NEWS: "the latest news",
    ConsentScope.WORKER: "who the named worker is, and their number",
    ConsentScope.NEXT_CONTACT: "when they will next hear from us",
    ConsentScope.CLOSURE: "that the case is closed, and what happened",
}
AUTHORITY_WORDS = {
    Authority.NONE: "None: a relative or friend they trust",
    Authority.LPA_HEALTH_WELFARE: "Lasting power of attorney for health and welfare",
    Authority.LPA_PROPERTY_FINANCE: "Lasting power of attorney for property and financial "
                                    "affairs",
    Authority.DEPUTY: "Deputy appointed by the Court of Protection",
    Authority.ADVOCATE: "Advocate (for example an independent advocate under the Care Act)",
}
MAX_HOW = 500


class ConsentError(ValueError):
    """The change cannot be recorded; the message says what to fix, `field` which field."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def set_consent(session: Session, rep_ref: str, *, scopes: list[str], authority: str,
                how: str, actor: str) -> Representative | None:
    """Record what `rep_ref` may be told; None if nothing changed. `how` (required) says
    how the person gave or withdrew consent, for the timeline."""
    rep = session.exec(select(Representative).where(Representative.ref == rep_ref)).first()
    if rep is None:
        raise ConsentError(f"There is no representative '{rep_ref}'. Check the reference.")
    unknown = [s for s in scopes if s not in {c.value for c in ConsentScope}]
    if unknown:
        raise ConsentError(f"'{unknown[0]}' is not something a representative may be told.",
                           "scopes")
    if authority not in {a.value for a in Authority}:
        raise ConsentError("Choose their legal authority, or 'None'.", "authority")
    how = " ".join(how.split())
    if not how:
        raise ConsentError(f"Say how and when the person gave (or withdrew) consent for "
                           f"{rep.first_name}: it is what the next worker will rely on.", "how")
    if len(how) > MAX_HOW:
        raise ConsentError(f"Say how consent was given in at most {MAX_HOW} characters.",
                           "how")
    new_scopes = sorted(set(scopes))
    if new_scopes == sorted(rep.consent_scopes) and authority == rep.authority.value:
        return None
    before = scopes_in_words(rep.consent_scopes)
    rep.consent_scopes, rep.authority = new_scopes, Authority(authority)
    rep.consent_recorded_by, rep.consent_recorded_at = actor, utcnow()
    session.add(rep)
    summary = (f"{rep.full_name} ({rep.relationship}) may now be told: "
               f"{scopes_in_words(new_scopes)} (before: {before}). Authority: "
               f"{AUTHORITY_WORDS[rep.authority]}. How: {how}")
    for case in session.exec(select(Case).where(Case.person_id == rep.person_id,
                                                Case.stage != Stage.CLOSED)):
        record_interaction(session, kind="consent_changed", direction=Direction.INTERNAL,
                           case_id=case.id, person_id=rep.person_id, summary=summary,
                           actor=actor)  # the staff member is the "who"; the summary names them
    return rep


def scopes_in_words(scopes: list[str]) -> str:
    return ", ".join(SCOPE_WORDS[ConsentScope(s)] for s in sorted(scopes)) or "nothing"
