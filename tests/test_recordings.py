"""A message left on a call: never Twilio's link, always our own copy, played only to those
who may open the case. Played through the signed webhooks, the staff pages, the scheduled
copy and the REST API, against the fake Twilio on a real port."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot import db
from bot.models import CaseView, Interaction, Recording
from bot.records import recordings
from bot.runtime import Runtime
from bot.services import api_tokens
from bot.services import staff_accounts as accounts
from bot.tryout.fake_twilio.media import silent_mp3
from tests.test_staff import PASSWORD, Pages
from webhooks import create_app

EDITH = "+447700900101"


@pytest.fixture
def line(demo_runtime, fake_twilio):
    """The demo line whose Twilio is the fake on a real port (where its media is)."""
    live = Runtime(replace(demo_runtime.settings, twilio_api_base=fake_twilio.url),
                   _engine=demo_runtime.engine)
    live.app = create_app(live)
    yield live
    live.close()


def _staff(line, email, *, team="T-LEEDS", worker="W-101") -> Pages:
    with line.session() as session:
        accounts.create(session, email=email, name="Pat Example", role="worker",
                        password=PASSWORD, team_ref=team, worker_ref=worker)
    pages = Pages(line.app.test_client(), line, email)
    pages.sign_in()
    return pages


def _leave_a_message(phone, seconds=15):
    edith = phone(EDITH)
    edith.call()
    edith.press("1")
    edith.press("4821")
    assert edith.press("2").record is not None  # leave a message
    edith.leave_message(seconds=seconds)


def _the_recording(line) -> Recording:
    with line.session() as session:
        found = session.exec(select(Recording)).one()
        session.expunge(found)
        return found


def test_a_message_is_played_through_our_server_only_to_its_team(line, phone, fake_twilio):
    _leave_a_message(phone)
    with line.session() as session:
        left = session.exec(select(Interaction).where(Interaction.kind == "message_left")).one()
        assert left.summary == "A recorded message (15s)." and "twilio" not in left.summary
    kept = _the_recording(line)
    assert kept.seconds == 15 and kept.copied_at is None and kept.interaction_id == left.id
    sam = _staff(line, "pat.leeds@example.org")
    page = sam.http.get("/staff/cases/SG-100101").get_data(as_text=True)
    assert f'src="/staff/recordings/{kept.id}"' in page and "<audio controls" in page
    assert "twilio.com" not in page and kept.twilio_sid not in page

    other_team = _staff(line, "pat.sheffield@example.org", team="T-SHEFF", worker="W-201")
    refused = other_team.http.get(f"/staff/recordings/{kept.id}")
    assert refused.status_code == 403 and fake_twilio.state.recording_fetches == []

    heard = sam.http.get(f"/staff/recordings/{kept.id}")
    assert heard.status_code == 200 and heard.mimetype == "audio/mpeg"
    assert heard.get_data() == silent_mp3() and heard.headers["Cache-Control"] == "no-store"
    again = sam.http.get(f"/staff/recordings/{kept.id}?download=1")
    assert again.get_data() == silent_mp3()
    assert "attachment" in again.headers["Content-Disposition"]
    assert fake_twilio.state.recording_fetches == [kept.twilio_sid]  # copied once, then ours
    with line.session() as session:
        views = session.exec(select(CaseView.allowed).where(
            CaseView.case_id == kept.case_id)).all()
        assert False in views and views.count(True) >= 3  # the page and two plays


def test_the_scheduled_copy_takes_each_new_message_once(line, phone, fake_twilio):
    _leave_a_message(phone, seconds=20)
    with line.session() as session:
        assert recordings.copy_new(session, line.settings) == {"copied": 1, "failed": 0}
    with line.session() as session:
        assert recordings.copy_new(session, line.settings) == {"copied": 0, "failed": 0}
        kept = session.exec(select(Recording)).one()
        assert kept.audio == silent_mp3() and kept.content_type == "audio/mpeg"
    assert len(fake_twilio.state.recording_fetches) == 1


def test_a_message_twilio_cannot_give_says_so_plainly_and_is_tried_again(
        line, phone, fake_twilio):
    _leave_a_message(phone)
    kept = _the_recording(line)
    fake_twilio.state.deleted_recordings.add(kept.twilio_sid)  # Twilio has lost it (for now)
    with line.session() as session:
        assert recordings.copy_new(session, line.settings) == {"copied": 0, "failed": 1}
    sam = _staff(line, "pat.leeds@example.org")
    answer = sam.http.get(f"/staff/recordings/{kept.id}")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 502 and "cannot be played just now" in text
    assert "Twilio answered 404" in text and "Traceback" not in text
    fake_twilio.state.deleted_recordings.clear()
    assert sam.http.get(f"/staff/recordings/{kept.id}").status_code == 200


def test_the_api_gives_the_audio_with_the_messages_scope_only(line, phone):
    _leave_a_message(phone)
    with line.session() as session:
        full = api_tokens.create(session, name="mosaic", scopes=["timeline", "messages"]).secret
        notes = api_tokens.create(session, name="notes", scopes=["timeline"]).secret
    http = line.app.test_client()

    def get(path, token):
        return http.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {token}"})

    entries = get("/cases/SG-100101/timeline", full).get_json()["items"]
    [left] = [e for e in entries if e["kind"] == "message_left"]
    assert left["recording"] and "twilio.com" not in str(entries)
    audio = get(f"/recordings/{left['recording']}", full)
    assert audio.status_code == 200 and audio.get_data() == silent_mp3()
    hidden = get("/cases/SG-100101/timeline", notes).get_json()["items"]
    assert all(e["recording"] is None for e in hidden)
    assert get(f"/recordings/{left['recording']}", notes).status_code == 403
    assert get("/recordings/999999", full).status_code == 404


def test_the_migration_moves_old_links_out_of_the_timeline(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    db.upgrade(engine, "0006")
    sid = "RE" + "a" * 32
    link = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{sid}"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO interaction (kind, direction, number, twilio_sid, summary, actor, "
            "created_at) VALUES ('message_left', 'inbound', '', '', :s, 'caller', "
            "'2026-11-30 10:00:00')"),
            {"s": f"A recorded message (9s): {link}\nTranscription: Ring me."})
    db.upgrade(engine)
    with Session(engine) as session:
        left = session.exec(select(Interaction)).one()
        kept = session.exec(select(Recording)).one()
    assert left.summary == "A recorded message (9s).\nTranscription: Ring me."
    assert (kept.twilio_sid, kept.twilio_url, kept.seconds) == (sid, link, 9)
    engine.dispose()
