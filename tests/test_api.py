"""The REST API (/api/v1) on the real database: tokens and scopes, team limits, upserts
through the importer's rules, notices once, problems that name the field, the audit."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.models import ApiCall, Case, OutboxMessage
from bot.services import api_tokens
from webhooks import create_app


@pytest.fixture
def api(demo_runtime):
    """api(scopes, team=None) -> a client that sends that token on every request."""
    app = create_app(demo_runtime)

    def client(scopes="read,write,timeline,messages,actions", team=None, name=None):
        with demo_runtime.session() as session:
            made = api_tokens.create(session, name=name or f"t-{scopes.replace(',', '.')}-{team}",
                                     scopes=scopes.split(","), team_ref=team)
        return Client(app.test_client(), made.secret)

    client.runtime = demo_runtime
    return client


class Client:
    def __init__(self, http, token):
        self.http, self.headers = http, {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        def call(path, **kw):
            return getattr(self.http, method)(f"/api/v1{path}", headers=self.headers, **kw)
        return call


def _problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def _calls(runtime):
    with runtime.session() as session:
        return [(c.method, c.path, c.status, c.subject) for c in session.exec(
            select(ApiCall).order_by(ApiCall.id))]


def test_no_token_or_a_bad_one_is_401_and_audited(api):
    http = create_app(api.runtime).test_client()
    body = _problem(http.get("/api/v1/cases"), 401)
    assert "Authorization: Bearer" in body["detail"]
    assert _problem(http.get("/api/v1/cases", headers={"Authorization": "Bearer cl_nope"}),
                    401)["title"] == "Not signed in"
    good = api("read")
    with api.runtime.session() as session:
        api_tokens.revoke(session, "t-read-None")
    assert good.get("/cases").status_code == 401
    assert [c[2] for c in _calls(api.runtime)] == [401, 401, 401]


def test_a_scope_the_token_lacks_is_403(api):
    reader = api("read")
    assert reader.get("/cases/SG-100101").status_code == 200
    body = _problem(reader.put("/cases/SG-100101", json={"person": "P-001",
                                                           "worker": "W-101"}), 403)
    assert "needs the 'write' scope" in body["detail"]


def test_a_team_token_sees_only_its_team(api):
    sheffield = api("read,write", team="T-SHEFF")
    refs = [c["ref"] for c in sheffield.get("/cases").get_json()["items"]]
    with api.runtime.session() as session:
        assert refs and all(session.exec(select(Case).where(Case.ref == r)).first()
                            for r in refs)
    leeds_case = "SG-100101"
    assert leeds_case not in refs
    body = _problem(sheffield.get(f"/cases/{leeds_case}"), 403)
    assert "limited to one team" in body["detail"]
    _problem(sheffield.put("/workers/W-101", json={
        "first_name": "Sam", "last_name": "Okafor", "direct_number": "0113 496 0123",
        "team": "T-LEEDS"}), 403)
    assert ("GET", f"/api/v1/cases/{leeds_case}", 403, f"case {leeds_case}") in \
        _calls(api.runtime)


def test_put_creates_then_updates_and_a_repeat_changes_nothing(api):
    client = api("read,write")
    person = {"first_name": "Iris", "last_name": "Moss", "phones": ["07700 900456"],
              "language": "en", "extra_time": True}
    created = client.put("/people/P-900", json=person)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["phones"] == ["+447700900456"]
    case = {"person": "P-900", "worker": "W-101", "stage": "enquiry",
            "latest_news": "Sam has met Iris at home.", "next_contact_by": "2026-12-20"}
    assert client.put("/cases/SG-900", json=case).status_code == 201
    again = client.put("/cases/SG-900", json=case)
    assert again.status_code == 200 and again.get_json()["latest_news"] == \
        "Sam has met Iris at home."
    with api.runtime.session() as session:
        assert session.exec(select(OutboxMessage).where(
            OutboxMessage.purpose == "news")).all() == []  # a new case: nothing to announce


def test_news_from_the_case_system_is_told_once(api):
    client = api("read,write")
    case = client.get("/cases/SG-100101").get_json()
    body = {"person": case["person"], "worker": case["worker"],
            "latest_news": "Sam has spoken to the bank. Your money is safe."}
    assert client.put("/cases/SG-100101", json=body).status_code == 200
    assert client.put("/cases/SG-100101", json=body).status_code == 200
    with api.runtime.session() as session:
        sent = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "news")).all()
    assert sent and len({row.to_number for row in sent}) == len(sent)  # one each, once


def test_an_upsert_that_would_undo_a_closure_made_here_is_refused(api, caseline):
    caseline("cases", "close", "SG-100101", "--summary", "Edith is safe at home now.",
             "--outcomes", "fully", "--risk", "reduced")
    client = api("read,write")
    refused = _problem(client.put("/cases/SG-100101", json={
        "person": "P-001", "worker": "W-101", "stage": "enquiry",
        "latest_news": "An old note."}), 409)
    assert refused["errors"] and refused["errors"][0]["pointer"] in ("/stage", "")
    assert client.get("/cases/SG-100101").get_json()["stage"] == "closed"
    assert client.get("/cases/SG-100101").get_json()["latest_news"] != "An old note."


def test_a_bad_value_is_a_problem_naming_the_field_and_nothing_is_written(api):
    client = api("read,write")
    body = _problem(client.put("/people/P-901", json={
        "first_name": "Ivy", "last_name": "Lane", "phones": ["not a number"]}), 422)
    assert body["errors"][0]["pointer"] == "/phones"
    assert "number" in body["errors"][0]["detail"]
    assert client.get("/people/P-901").status_code == 404
    typed = _problem(client.put("/people/P-901", json={
        "first_name": "Ivy", "last_name": "Lane", "extra_time": "yes", "colour": "red"}), 422)
    assert {e["pointer"] for e in typed["errors"]} == {"/extra_time", "/colour"}


def test_lists_are_paged_with_a_cursor(api):
    client = api("read")
    first = client.get("/people?limit=3").get_json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    seen = [p["ref"] for p in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/people?limit=3&cursor={cursor}").get_json()
        seen += [p["ref"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 8
    _problem(client.get("/people?cursor=bogus"), 422)


def test_the_description_is_openapi_31_and_the_docs_come_from_the_package(api):
    http = create_app(api.runtime).test_client()
    spec = http.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    from openapi_spec_validator import validate

    validate(spec)
    docs = http.get("/api/v1/docs", follow_redirects=True)
    page = docs.get_data(as_text=True)
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in page
    assert "https://" not in page.split("<body>")[0]  # no CDN
    asset = http.get("/api/v1/swagger/js/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.get_data()) > 100_000
    asset.close()


EDITH = "+447700900101"  # P-001, case SG-100101 (Sam Okafor), PIN 4821


def _outbox(runtime, purpose):
    with runtime.session() as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.purpose == purpose)).all()


def test_news_close_worker_pause_and_notes_go_through_the_case_services(api):
    client = api("read,write,timeline")
    news = client.post("/cases/SG-100101/news", json={
        "text": "Sam has spoken to the care home manager.", "next_contact_by": "2099-01-08"})
    assert news.status_code == 200, news.get_json()
    assert news.get_json()["latest_news"] == "Sam has spoken to the care home manager."
    assert news.get_json()["next_contact_by"] == "2099-01-08"
    assert _outbox(api.runtime, "news")  # told, through the outbox
    past = _problem(client.post("/cases/SG-100101/news", json={
        "text": "Old.", "next_contact_by": "2001-01-01"}), 409)
    assert "in the past" in past["detail"]
    moved = client.put("/cases/SG-100101/worker", json={"worker": "W-103"})
    assert moved.status_code == 200 and moved.get_json()["worker"] == "W-103"
    assert _outbox(api.runtime, "worker_change")
    assert client.post("/cases/SG-100101/pause", json={"until": "2099-02-01"}).status_code == 200
    assert client.post("/cases/SG-100101/notes", json={
        "text": "Edith's daughter rang the office; she knows about the visit."}).status_code \
        == 200
    closed = client.post("/cases/SG-100101/close", json={
        "summary": "Edith is safe and her money is back.", "outcomes": "fully",
        "risk": "removed"})
    assert closed.status_code == 200 and closed.get_json()["stage"] == "closed"
    again = _problem(client.post("/cases/SG-100101/close", json={
        "summary": "Again.", "outcomes": "fully", "risk": "removed"}), 409)
    assert "closed" in again["detail"]
    kinds = [e["kind"] for e in client.get("/cases/SG-100101/timeline").get_json()["items"]]
    for kind in ("case_news", "case_worker", "case_paused", "staff_note", "case_closed"):
        assert kind in kinds, kinds
    _problem(client.post("/cases/SG-100101/close", json={
        "summary": "x", "outcomes": "perhaps", "risk": "removed"}), 422)


def test_a_request_by_text_reaches_the_queue_and_its_handling_the_timeline(api, phone):
    edith = phone(EDITH)
    edith.text("news")
    edith.text("9999")  # a wrong PIN: on her timeline, with its sid, though nothing was said
    edith.text("news")
    edith.text("4821")
    edith.text("1")  # ask for a call back
    staff = api("read,timeline,actions")
    queue = staff.get("/actions?kind=call_back").get_json()["items"]
    if not queue:
        queue = staff.get("/actions").get_json()["items"]
    action = next(a for a in queue if a["case"] == "SG-100101")
    assert action["status"] == "open" and action["waited_minutes"] >= 0
    assigned = staff.post(f"/actions/{action['id']}/assign", json={"worker": "W-103"})
    assert assigned.get_json()["worker"] == "W-103"
    done = staff.post(f"/actions/{action['id']}/done", json={"note": "Rang Edith back."})
    assert done.get_json()["status"] == "done"
    _problem(staff.post(f"/actions/{action['id']}/done", json={"note": "Twice"}), 409)
    _problem(staff.post("/actions/999999/done", json={"note": "x"}), 404)

    entries = staff.get("/cases/SG-100101/timeline").get_json()["items"]
    kinds = [e["kind"] for e in entries]
    assert kinds.count("text_in") == 5 and "pin_failed" in kinds
    assert all(e["twilio_sid"] for e in entries if e["kind"] in ("text_in", "pin_failed"))
    told = next(e for e in entries if e["kind"] == "disclosure")
    assert "latest_news" in told["disclosed"] and told["who"].startswith("Edith")
    assert kinds.index("action_raised") < kinds.index("action_assigned") < \
        kinds.index("action_done")
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)


def test_message_bodies_only_for_a_token_that_may_read_them(api, phone):
    edith = phone(EDITH)
    edith.text("news")
    edith.text("4821")
    edith.text("2")
    edith.text("The man from the bank came back today.")
    plain = api("timeline").get("/cases/SG-100101/timeline").get_json()["items"]
    left = next(e for e in plain if e["kind"] == "message_left")
    assert left["withheld"] and left["summary"] == "" and left["body"] is None
    reader = api("timeline,messages", name="with-messages")
    full = reader.get("/cases/SG-100101/timeline").get_json()["items"]
    left = next(e for e in full if e["kind"] == "message_left")
    assert "bank came back" in left["summary"] and not left["withheld"]
    texts = [e for e in full if e["kind"] == "text_out"]
    assert all(e["body"] for e in texts) or texts == []


@pytest.mark.one_backend  # PostgreSQL: SQLite has one writer at a time, so nothing interleaves
def test_the_timeline_cursor_skips_nothing_and_repeats_nothing_with_late_commits(api):
    """An entry that commits after a later one (a lower id, committed late) is still
    read exactly once: numbers are given in commit order."""
    from bot.models import Direction, Interaction
    from bot.records.audit import record_interaction

    engine = api.runtime.engine
    client = api("timeline")
    case_id = _case_id(api.runtime, "SG-100101")
    start = client.get("/timeline").get_json()["next_since"]
    seen = []

    def pull(since):
        page = client.get(f"/timeline?since={since}&limit=2").get_json()
        seen.extend(e["summary"] for e in page["items"])
        return page["next_since"]

    from sqlmodel import Session

    with Session(engine) as late:  # takes its id now, commits after the others
        record_interaction(late, kind="staff_note", direction=Direction.INTERNAL,
                           case_id=case_id, summary="late", actor="a")
        with api.runtime.session() as early:
            for n in range(3):
                record_interaction(early, kind="staff_note", direction=Direction.INTERNAL,
                                   case_id=case_id, summary=f"early {n}", actor="b")
        since = start
        for _ in range(3):
            since = pull(since)
        late.commit()
    for _ in range(3):
        since = pull(since)
    notes = [s for s in seen if s == "late" or s.startswith("early")]
    assert sorted(notes) == ["early 0", "early 1", "early 2", "late"], seen
    assert notes.index("late") == 3  # read after the early ones: numbered at its commit
    with Session(engine) as session:
        assert session.exec(select(Interaction).where(Interaction.seq.is_(None))).all() == []


def _case_id(runtime, ref):
    with runtime.session() as session:
        return session.exec(select(Case.id).where(Case.ref == ref)).one()


@pytest.mark.parametrize("kind,ref,body", [
    ("teams", "T-NEW", {"name": "Bradford Adult Safeguarding", "duty_number": "0113 496 0700",
                        "out_of_hours_number": "0113 496 0799", "office_days": ["mon", "tue"],
                        "office_opens": "08:00", "office_closes": "16:00"}),
    ("workers", "W-NEW", {"first_name": "Alex", "last_name": "Green",
                          "direct_number": "0113 496 0124", "team": "T-LEEDS",
                          "away_until": "2099-01-31", "cover": "W-103"}),
    ("representatives", "R-NEW", {
        "person": "P-001", "first_name": "Ruth", "last_name": "Marsh",
        "relationship": "niece", "number": "07700 900777", "consent": ["status", "news"],
        "authority": "none", "consent_recorded_by": "Sam Okafor",
        "consent_recorded_at": "2026-11-30T10:00:00+00:00", "pin": "2468"}),
])
def test_every_kind_is_listed_read_and_upserted(api, kind, ref, body):
    client = api("read,write")
    listed = client.get(f"/{kind}").get_json()
    assert listed["items"] and ref not in [item["ref"] for item in listed["items"]]
    made = client.put(f"/{kind}/{ref}", json=body)
    assert made.status_code == 201, made.get_json()
    shown = client.get(f"/{kind}/{ref}").get_json()
    assert shown == made.get_json()
    assert client.put(f"/{kind}/{ref}", json=body).get_json() == shown  # idempotent
    if kind == "representatives":
        assert shown["has_pin"] and "pin" not in shown and shown["consent"] == ["news", "status"]
        assert shown["consent_recorded_by"] == "Sam Okafor"
    if kind == "workers":
        assert shown["cover"] == "W-103" and shown["away_until"] == "2099-01-31"
    _problem(client.get(f"/{kind}/NOPE"), 404)


def test_the_rate_limit_answers_429_with_retry_after(api, monkeypatch):
    from dataclasses import replace

    api.runtime.settings = replace(api.runtime.settings, api_calls_per_minute=3)
    client = api("read")
    answers = [client.get("/teams").status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and 429 in answers[3:]
    limited = client.get("/teams")
    body = _problem(limited, 429)
    assert 0 < int(limited.headers["Retry-After"]) <= 60 and "Retry-After" in body["detail"]


def test_tokens_are_made_listed_and_revoked_from_the_cli_and_stored_hashed(caseline, api):
    out = caseline("api-token", "create", "--name", "mosaic", "--scopes", "read,timeline",
                   "--team", "T-LEEDS")
    token = out.splitlines()[0]
    assert token.startswith("cl_") and "Copy it now" in out
    from bot.models import ApiToken

    with api.runtime.session() as session:
        stored = session.exec(select(ApiToken).where(ApiToken.name == "mosaic")).one()
        assert token not in (stored.token_hash, stored.prefix) and stored.scopes == [
            "read", "timeline"]
    http = create_app(api.runtime).test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert http.get("/api/v1/cases", headers=auth).status_code == 200
    listing = caseline("api-token", "list")
    assert "mosaic" in listing and "T-LEEDS" in listing and token not in listing
    assert "already" not in caseline("api-token", "revoke", "mosaic")
    assert http.get("/api/v1/cases", headers=auth).status_code == 401
    bad = caseline("api-token", "create", "--name", "x", "--scopes", "everything", code=1)
    assert "Scopes must be some of" in bad


def test_a_team_token_cannot_reach_another_team_through_a_reference(api):
    """Found in review: pointing a case at another team's person (or worker) would open
    that person to the token, or hand the case over."""
    leeds = api("read,write,actions", team="T-LEEDS")
    sheffield_person = _sheffield(api.runtime, "person")
    body = {"person": sheffield_person, "worker": "W-101", "stage": "concern"}
    _problem(leeds.put("/cases/SG-LEAK", json=body), 403)
    assert leeds.get("/cases/SG-LEAK").status_code == 404  # nothing written
    moved = _problem(leeds.put("/cases/SG-100101/worker", json={"worker": "W-201"}), 403)
    assert "belongs to another" in moved["detail"]
    assert api("read").get("/cases/SG-100101").get_json()["worker"] == "W-101"


def test_a_bad_date_or_cursor_is_a_problem_not_a_fault(api):
    client = api("read,write,actions")
    bad = _problem(client.post("/cases/SG-100101/news", json={
        "text": "Sam rang.", "next_contact_by": "2026-02-30"}), 422)
    assert bad["errors"][0]["pointer"] == "/next_contact_by"
    import base64

    huge = base64.urlsafe_b64encode(b"id:" + b"9" * 27).decode().rstrip("=")
    _problem(client.get(f"/people?cursor={huge}"), 422)
    _problem(client.get(f"/actions?cursor={huge}"), 422)


def test_an_action_is_given_only_to_someone_in_its_team(api, phone):
    edith = phone(EDITH)
    for body in ("news", "4821", "1"):
        edith.text(body)
    client = api("actions")
    action = next(a for a in client.get("/actions").get_json()["items"]
                  if a["case"] == "SG-100101")
    refused = _problem(client.post(f"/actions/{action['id']}/assign",
                                   json={"worker": "W-201"}), 409)
    assert "another team" in refused["detail"]


def _sheffield(runtime, what):
    from bot.models import Person, Team, Worker

    with runtime.session() as session:
        return session.exec(select(Person.ref).join(Case, Case.person_id == Person.id)
                            .join(Worker, Case.worker_id == Worker.id)
                            .join(Team, Worker.team_id == Team.id)
                            .where(Team.ref == "T-SHEFF")).first()
