"""Consent changed on the case page, then lived with: what Joan hears by text, a nightly
re-import that must not undo it, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from bot.importer import import_file
from bot.models import Authority, Interaction, Representative
from tests.conftest import DEMO_FILE
from tests.test_staff import staff  # noqa: F401  (the fixture)

JOAN, JOAN_PIN = "+447700900201", "5937"  # Edith's daughter, R-001
PAGE = "/staff/cases/SG-100101/trusted/R-001"
STATUS = "what Edith wants to happen"  # how her case stands, as Joan may hear it


def _joan(runtime) -> Representative:
    with runtime.session() as session:
        rep = session.exec(select(Representative).where(Representative.ref == "R-001")).one()
        session.expunge(rep)
        return rep


def _joan_hears(phone) -> str:
    joan = phone(JOAN)
    return "\n".join(joan.text("any news?") + joan.text(JOAN_PIN))


def test_consent_withdrawn_on_the_page_is_what_joan_hears_and_what_the_import_keeps(
        staff, phone):  # noqa: F811
    runtime = staff.runtime
    runtime.clock = lambda: datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    before = _joan_hears(phone)
    assert STATUS in before and "Sam" not in before  # status and closure, not the worker
    sam = staff()
    sam.sign_in()
    case = sam.http.get("/staff/cases/SG-100101").get_data(as_text=True)
    assert f'href="{PAGE}"' in case
    form = sam.http.get(PAGE).get_data(as_text=True)
    assert 'value="status" checked' in form and 'value="worker" checked' not in form

    missing_how = sam.post(PAGE, scopes=["status"], authority="none")
    page = missing_how.get_data(as_text=True)
    assert missing_how.status_code == 400 and 'href="#how"' in page
    assert 'value="status" checked' in page and 'value="closure" checked' not in page  # kept
    assert _joan(runtime).consent_scopes == ["closure", "status"]  # nothing was changed

    done = sam.post(PAGE, authority="none",
                    how="Edith asked on the phone on 2 December that Joan be told nothing.")
    assert done.status_code == 302
    joan = _joan(runtime)
    assert joan.consent_scopes == [] and joan.consent_recorded_by == "Worker Person"
    assert joan.consent_recorded_at is not None
    with runtime.session() as session:
        entry = session.exec(select(Interaction).where(
            Interaction.kind == "consent_changed")).one()
        assert "may now be told: nothing" in entry.summary and "2 December" in entry.summary
        assert entry.actor == "Worker Person"
    case = sam.http.get("/staff/cases/SG-100101").get_data(as_text=True)
    assert "consent changed" in case and "Worker Person" in case

    heard = _joan_hears(phone)
    assert STATUS not in heard and "Sam" not in heard  # told nothing about the case

    import_file(DEMO_FILE, runtime.engine, pin_key=runtime.settings.pin_key)  # nightly
    assert _joan(runtime).consent_scopes == []  # the file did not change it: ours stands

    assert sam.post(PAGE, scopes=["status", "worker"], authority="lpa_health_welfare",
                    how="Edith agreed again at the visit on 2 December.").status_code == 302
    joan = _joan(runtime)
    assert joan.consent_scopes == ["status", "worker"]
    assert joan.authority is Authority.LPA_HEALTH_WELFARE
    heard = _joan_hears(phone)
    assert STATUS in heard and "Sam Okafor" in heard


def test_the_same_consent_again_records_nothing(staff):  # noqa: F811
    sam = staff()
    sam.sign_in()
    before = _joan(staff.runtime)
    assert sam.post(PAGE, scopes=before.consent_scopes, authority=before.authority.value,
                    how="Checked with Edith; no change.").status_code == 302
    with staff.runtime.session() as session:
        assert not session.exec(select(Interaction).where(
            Interaction.kind == "consent_changed")).all()


def test_only_the_cases_team_may_change_consent(staff):  # noqa: F811
    other = staff(team="T-SHEFF", worker="W-201")
    other.sign_in()
    assert other.http.get(PAGE).status_code == 403
    assert other.post(PAGE, authority="none", how="x").status_code == 403
    sam = staff()
    sam.sign_in()
    assert sam.http.post(PAGE, data={"authority": "none", "how": "x"}).status_code == 400
    assert sam.http.get("/staff/cases/SG-100101/trusted/R-999").status_code == 404
    assert _joan(staff.runtime).consent_scopes  # unchanged by all of it
