"""Subject access and erasure, over a case's whole life: Edith and her daughter use the line
(texts, a PIN, a message left on a call), staff read and write the case, the case system
calls the API; then her bundle holds all of it with third-party content marked, erasure is
refused while the case is open and within retention, and years later it leaves nothing of
her in any table (Twilio's copy of her message deleted first), keeping the SG4a figures."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import SQLModel, select

from bot.models import Case, Interaction, Person, PersonPhone, PinGuard, Recording, StaffAction
from bot.records import recordings
from bot.records.reports import msp_report
from bot.services import actions, api_tokens, people, subject_access
from bot.services import cases as case_services
from bot.tryout.fake_twilio.media import silent_mp3
from tests.conftest import DEMO_FILE
from tests.test_escalation import Clock
from tests.test_recordings import _leave_a_message, line  # noqa: F401  (the fixture)
from tests.test_staff import staff  # noqa: F401  (the fixture)

LONDON = ZoneInfo("Europe/London")
EDITH, JOAN, ARTHUR = "+447700900101", "+447700900201", "+447700900102"
NOTE = "Joan Marsh rang: she is worried about the carer rota."
NEWS = "The new carer rota starts on Friday."


def _token(runtime, scopes) -> dict:
    with runtime.session() as session:
        secret = api_tokens.create(session, name=f"t-{'-'.join(scopes)}", scopes=scopes).secret
    return {"Authorization": f"Bearer {secret}"}


def _edith_uses_the_line(line, phone, staff):  # noqa: F811
    """A fortnight of Edith's case: the line, the staff pages, the API."""
    edith, joan = phone(EDITH), phone(JOAN)
    edith.text("news")
    assert "Sam" in " ".join(edith.text("4821"))
    joan.text("news")
    joan.text("5937")
    _leave_a_message(phone)
    with line.session() as session:
        recordings.copy_new(session, line.settings)
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        actions.add_note(session, case, NOTE, actor="Sam Okafor")
        case_services.post_news(session, "SG-100101", NEWS, actor="Sam Okafor")
    pages = staff()
    pages.sign_in()
    assert pages.http.get("/staff/cases/SG-100101").status_code == 200
    api = line.app.test_client()
    assert api.get("/api/v1/cases/SG-100101", headers=_token(line, ["read"])).status_code == 200


def _a_text_the_line_failed_on(runtime) -> None:
    """A text stored but never answered (the web process died on it): the outbox sweep
    raises an action for no case that gives her number."""
    from bot.delivery import sending
    from bot.models import Channel, InboundEvent

    with runtime.session() as session:
        session.add(InboundEvent(key="sms:SMfailed", channel=Channel.SMS, number=EDITH,
                                 params={"Body": "help"}, received_at=runtime.now()
                                 - timedelta(minutes=10)))
    assert sending._unprocessed_inbound(runtime, runtime.now()) == 1
    with runtime.session() as session:
        assert session.exec(select(StaffAction).where(StaffAction.kind == "inbound_failed",
                                                      StaffAction.case_id.is_(None))).one()


def _everything(engine) -> list[tuple[str, dict]]:
    """Every row of every table, as (table, values)."""
    with engine.connect() as conn:
        return [(table.name, dict(row)) for table in SQLModel.metadata.sorted_tables
                for row in conn.execute(table.select()).mappings()]


def _left_of(rows, needles, audio: bytes) -> list[str]:
    found = []
    for table, values in rows:
        if table == "interaction" and values["kind"] == "person_erased":
            assert "Edith" not in values["summary"] and "900101" not in values["summary"]
            continue  # the audit of the erasure itself: the reference, who, when and why
        text = " ".join(str(v) for v in values.values() if not isinstance(v, bytes)).lower()
        found += [f"{table}: {needle}" for needle in needles if needle.lower() in text]
        found += [f"{table}: the audio" for v in values.values() if v == audio]
    return found


def test_her_whole_life_exported_then_erased_when_the_law_allows(
        line, phone, staff, fake_twilio, caseline, monkeypatch):  # noqa: F811
    clock = Clock(line, datetime(2026, 11, 2, 10, 0, tzinfo=LONDON))
    _edith_uses_the_line(line, phone, staff)
    phone(ARTHUR).text("news")  # someone else's record, which must not be touched
    _a_text_the_line_failed_on(line)
    with line.session() as session:  # a withheld caller tried her case's reference
        session.add(PinGuard(number="ref:SG-100101", failures=1))
    with line.session() as session:
        pin_hashes = [p.pin_hash for p in session.exec(select(Person).where(
            Person.ref == "P-001"))]
        sid = session.exec(select(Recording.twilio_sid)).one()

    # Subject access: everything, with what is not hers to receive marked.
    bundle = subject_access.export(line, "SG-100101", actor="Pat Example")  # by her case
    data = json.loads(bundle.files["export.json"])
    assert data["person"]["ref"] == "P-001" and data["person"]["first_name"] == "Edith"
    assert data["person"]["pin_set"] is True and "pin_hash" not in data["person"]
    assert [n["number"] for n in data["numbers"]] == [EDITH]
    joan = data["people_they_trust"][0]
    assert joan["name"] == "Joan Marsh" and "a third party" in joan["review"][0]
    assert data["cases"][0]["latest_news"] == NEWS
    kinds = {entry["what"] for entry in data["timeline"]}
    assert {"text received", "message left", "staff note", "news posted"} <= kinds
    note = next(e for e in data["timeline"] if e["what"] == "staff note")
    assert any("Joan Marsh (daughter), a third party" in r for r in note["review"])
    assert any("written by staff" in r for r in note["review"])
    from_joan = [e for e in data["timeline"] if e["who"] == "Joan Marsh (daughter)"]
    assert from_joan and all(e["review"] for e in from_joan)
    assert {d["to"] for d in data["disclosures"]} == {"them", "Joan Marsh"}
    assert any(NEWS in m["words"] and m["to"] == EDITH for m in data["texts_and_calls_sent"])
    [message] = data["recordings"]
    assert bundle.files[message["file"]] == silent_mp3() and bundle.missing_recordings == 0
    texted = [r["text"] for r in data["received_as_twilio_sent_it"] if r["channel"] == "sms"]
    assert texted == ["news", "[digits not kept]", "help"]  # a PIN is never kept
    assert data["case_page_views"] and data["for_review"]
    summary = bundle.files["summary.html"].decode()
    assert "What the update line holds about Edith Marsh" in summary
    assert f"For staff review before release: {bundle.for_review} items" in summary
    assert "Joan Marsh" in summary and message["file"] in summary
    with zipfile.ZipFile(io.BytesIO(bundle.zipped())) as archive:
        assert {"P-001/export.json", "P-001/summary.html", f"P-001/{message['file']}"} \
            == set(archive.namelist())

    # Erasure is refused while the case is open, and within retention once closed.
    monkeypatch.setenv("TWILIO_API_BASE", fake_twilio.url)
    refused = caseline("people", "erase", "P-001", "--reason", "asked", "--yes", code=1)
    assert "SG-100101 (enquiry)" in refused and "Nothing was erased" in refused.replace(
        "nothing", "Nothing")
    clock.at = datetime(2026, 11, 20, 15, 0, tzinfo=LONDON)
    with line.session() as session:
        case_services.close_case(session, "SG-100101", summary="The rota is settled.",
                                 outcomes="fully", risk="reduced", actor="Sam Okafor")
    refused = caseline("people", "erase", "P-001", "--reason", "asked", "--yes", code=1)
    assert "closed on 20 November 2026" in refused and "until 18 November 2034" in refused
    assert "--early" in refused and fake_twilio.state.deleted_recordings == set()

    # Eight years on, the retention period has passed.
    clock.at = datetime(2034, 11, 20, 10, 0, tzinfo=LONDON)
    arthur_before = [(t, v) for t, v in _everything(line.engine) if "900102" in str(v)]
    done = caseline("people", "erase", "P-001", "--reason", "retention period ended", "--yes")
    assert "P-001 erased, with 1 case(s) kept as statistics only" in done
    assert fake_twilio.state.deleted_recordings == {sid}  # Twilio's copy went first
    needles = ["Edith", "Marsh", "Joan", "900101", "900201", "SG-100101", "P-001", "R-001",
               "carer rota", "rota is settled", *pin_hashes]
    assert _left_of(_everything(line.engine), needles, silent_mp3()) == []
    assert [(t, v) for t, v in _everything(line.engine) if "900102" in str(v)] == arthur_before
    with line.session() as session:
        report = msp_report(session, datetime(2026, 11, 1, tzinfo=LONDON),
                            datetime(2026, 12, 1, tzinfo=LONDON))
        assert report.closed >= 1 and report.achieved["Fully Achieved"] >= 1
        erased = session.exec(select(Interaction).where(
            Interaction.kind == "person_erased")).one()
        assert "P-001" in erased.summary and "retention period ended" in erased.summary
        assert session.exec(select(PersonPhone).where(PersonPhone.number == EDITH)).all() == []
    gone = caseline("people", "export", "P-001", code=1)
    assert "There is no person or case 'P-001'" in gone

    # The case system still holds her: its nightly file and its API do not bring her back.
    again = caseline("import", DEMO_FILE)
    assert "person 'P-001' was erased here, so it is not imported again" in again
    assert "case 'SG-100101' was erased here" in again
    assert "representative 'R-001' was erased here" in again
    assert "3 record(s) erased here not imported again" in again
    assert _left_of(_everything(line.engine), needles, silent_mp3()) == []
    put = line.app.test_client().put("/api/v1/people/P-001", headers=_token(line, ["write"]),
                                     json={"first_name": "Edith", "last_name": "Marsh"})
    assert put.status_code == 409 and "allow-again P-001" in put.get_data(as_text=True)
    assert phone(EDITH).text("news")  # her number is now unknown to the line: no error
    # Years later she comes back with a new concern: staff let her record in again.
    assert "P-001 may be imported again" in caseline("people", "allow-again", "P-001")
    assert "3 record(s) erased" not in caseline("import", DEMO_FILE)
    with line.session() as session:
        assert session.exec(select(Person).where(Person.ref == "P-001")).one().first_name \
            == "Edith"


def test_the_api_exports_for_an_admin_and_refuses_an_open_case(line, phone):  # noqa: F811
    admin, reader = _token(line, ["admin"]), _token(line, ["read"])
    api = line.app.test_client()
    phone(ARTHUR).text("news")
    assert api.get("/api/v1/people/P-002/export", headers=reader).status_code == 403
    got = api.get("/api/v1/people/P-002/export", headers=admin)
    assert got.status_code == 200 and got.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.get_data())) as archive:
        data = json.loads(archive.read("P-002/export.json"))
    assert data["person"]["last_name"] == "Pennington" and data["exported_by"].startswith(
        "api:t-admin")
    with line.session() as session:
        assert session.exec(select(Interaction).where(
            Interaction.kind == "subject_access_export")).one().actor == "api:t-admin"
    refused = api.post("/api/v1/people/P-002/erase", json={"reason": "asked"}, headers=admin)
    assert refused.status_code == 409 and "SG-100102 (plan)" in refused.json["detail"]
    missing = api.get("/api/v1/people/P-999/export", headers=admin)
    assert missing.status_code == 404


def test_an_agreed_request_erases_a_closed_case_early(line):  # noqa: F811
    api = line.app.test_client()
    admin = _token(line, ["admin"])
    refused = api.post("/api/v1/people/P-003/erase", json={"reason": "asked"}, headers=admin)
    assert refused.status_code == 409 and "RETAIN_CASE_RECORDS_YEARS=8" in refused.json[
        "detail"]
    done = api.post("/api/v1/people/P-003/erase", headers=admin,
                    json={"reason": "erasure request agreed on 2 December 2026", "early": True})
    assert done.status_code == 200 and done.json["ref"] == "P-003"
    assert done.json["cases"] == ["SG-100103"] and done.json["removed"]["numbers"] == 1
    needles = ["Margaret", "Holloway", "900103", "SG-100103", "P-003", "pension"]
    assert _left_of(_everything(line.engine), needles, b"-") == []
    with line.session() as session:
        case = session.exec(select(Case).where(Case.ref.like("erased-%"))).one()
        assert (case.msp_achieved.value, case.risk_result.value) == ("Partially Achieved",
                                                                     "Risk reduced")


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_erasure_needs_a_reason(line, reason):  # noqa: F811
    with pytest.raises(people.ErasureRefused, match="Say why"):
        people.erase(line, "P-003", actor="cli", reason=reason, early=True)


def test_everything_from_a_withheld_details_case_is_marked_for_review(line, phone):  # noqa: F811
    with line.session() as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        case.withhold_details = True  # e.g. a police inquiry
    edith = phone(EDITH)
    edith.text("news")
    edith.text("4821")
    data = json.loads(subject_access.export(line, "P-001", actor="cli").files["export.json"])
    items = [data["cases"][0], *data["timeline"], *data["disclosures"]]
    assert len(items) >= 4
    assert all(any("details are withheld" in r for r in item["review"]) for item in items
               if item.get("case", "SG-100101") == "SG-100101")
    assert "whose details are withheld" in json.dumps(data["for_review"])


def test_what_came_from_a_shared_landline_is_marked(line, phone):  # noqa: F811
    """Harold and Jean Brigg share a landline: a call from it before any PIN belongs to no
    one's timeline, and in Harold's bundle it is marked as perhaps Jean's."""
    phone("+441144960707").call()
    data = json.loads(subject_access.export(line, "P-007", actor="cli").files["export.json"])
    calls = [e for e in data["timeline"] if e["what"] == "call received"]
    assert calls and all(any("someone else on file also uses" in r for r in e["review"])
                         for e in calls)
    assert data["received_as_twilio_sent_it"] and all(
        any("someone else on file" in r for r in e["review"])
        for e in data["received_as_twilio_sent_it"])
