"""The staff pages through the real app (Flask's test client; the browser tests drive them in
Chromium): sign-in with a TOTP code, the refusals, the queue, the case page."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from bot.models import CaseView, StaffAccount, StaffAction
from bot.services import staff_accounts as accounts
from webhooks import create_app

PASSWORD = "correct horse battery staple"
EDITH = "+447700900101"


@pytest.fixture
def staff(demo_runtime):
    """staff(role, team=..., worker=...) -> (client, account email); not yet signed in."""
    app = create_app(demo_runtime)

    def make(role="worker", team=None, worker="W-101", email=None):
        email = email or f"{role}.{worker or team}@example.org".lower()
        with demo_runtime.session() as session:
            accounts.create(session, email=email, name=f"{role.title()} Person", role=role,
                            password=PASSWORD, team_ref=team,
                            worker_ref=worker if role == "worker" else None)
        return Pages(app.test_client(), demo_runtime, email)

    make.runtime = demo_runtime
    return make


class Pages:
    def __init__(self, http, runtime, email):
        self.http, self.runtime, self.email = http, runtime, email

    def csrf(self, path="/staff/sign-in"):
        page = self.http.get(path, follow_redirects=True).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def code(self):
        with self.runtime.session() as session:
            return accounts.current_code(accounts.find(session, self.email), self.runtime.now())

    def sign_in(self, password=PASSWORD, code=None):
        token = self.csrf()
        first = self.http.post("/staff/sign-in", data={"email": self.email,
                                                       "password": password,
                                                       "csrf_token": token})
        if first.status_code != 302:
            return first
        token = self.csrf("/staff/sign-in/code")
        return self.http.post("/staff/sign-in/code", data={
            "code": code or self.code(), "csrf_token": token, "next": "/staff/"})

    def post(self, path, **data):
        token = self.csrf("/staff/")
        return self.http.post(path, data={**data, "csrf_token": token})


def test_no_page_without_signing_in(staff):
    pages = staff()
    for path in ("/staff/", "/staff/cases/SG-100101", "/staff/cases/SG-100101/news"):
        answer = pages.http.get(path)
        assert answer.status_code == 302 and "/staff/sign-in" in answer.headers["Location"]
    assert pages.http.get("/staff/queue").status_code == 401  # polled: the page reloads
    css = pages.http.get("/staff/static/staff.css")
    assert css.status_code == 200 and b"govuk-" in css.get_data()
    css.close()


def test_sign_in_needs_the_password_and_the_code(staff):
    pages = staff()
    wrong = pages.sign_in(password="not the password at all")
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    bad_code = pages.sign_in(code="000000")
    assert bad_code.status_code == 401
    done = pages.sign_in()
    assert done.status_code == 302 and done.headers["Location"].endswith("/staff/")
    cookie = done.headers.get_all("Set-Cookie")
    assert any("caseline_staff=" in c and "HttpOnly" in c and "SameSite=Lax" in c
               for c in cookie)
    page = pages.http.get("/staff/")
    assert page.status_code == 200 and "Action queue" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_failed_sign_ins_are_limited(staff):
    pages = staff()
    for _ in range(accounts.MAX_FAILURES):
        pages.sign_in(password="a wrong password!")
    assert pages.sign_in().status_code == 401  # right password, but the account waits
    with staff.runtime.session() as session:
        account = accounts.find(session, pages.email)
        assert account.locked_until is not None


def test_a_post_without_its_csrf_token_is_refused(staff, phone):
    pages = staff()
    pages.sign_in()
    phone(EDITH).text("I feel unsafe")
    with staff.runtime.session() as session:
        action = session.exec(select(StaffAction)).first()
    refused = pages.http.post(f"/staff/actions/{action.id}/done", data={"note": "x"})
    assert refused.status_code == 400
    with staff.runtime.session() as session:
        assert session.get(StaffAction, action.id).status.value == "open"


def test_a_session_ends_when_idle(staff):
    from datetime import timedelta

    from bot.models import utcnow

    start = utcnow()
    moved = {"by": timedelta(0)}
    staff.runtime.clock = lambda: start + moved["by"]
    pages = staff()
    pages.sign_in()
    moved["by"] = timedelta(minutes=staff.runtime.settings.staff_idle_minutes - 1)
    assert pages.http.get("/staff/").status_code == 200  # in use: it carries on
    moved["by"] += timedelta(minutes=staff.runtime.settings.staff_idle_minutes + 1)
    answer = pages.http.get("/staff/")
    assert answer.status_code == 302 and "/staff/sign-in" in answer.headers["Location"]


def test_an_urgent_text_reaches_the_queue_and_is_taken_and_done(staff, phone):
    pages = staff()
    pages.sign_in()
    edith = phone(EDITH)
    edith.text("news")
    edith.text("4821")  # verified: the alarm is about her case
    edith.text("I feel unsafe")
    rows = pages.http.get("/staff/queue").get_data(as_text=True)
    assert "Urgent" in rows and "SG-100101" in rows
    with staff.runtime.session() as session:
        action = session.exec(select(StaffAction).where(
            StaffAction.case_id.is_not(None))).first()
    assert pages.post(f"/staff/actions/{action.id}/acknowledge").status_code == 302
    assert "seen by Worker Person" in pages.http.get("/staff/queue").get_data(as_text=True)
    assert pages.post(f"/staff/actions/{action.id}/done",
                      note="Rang Edith; she is safe at her daughter's.").status_code == 302
    with staff.runtime.session() as session:
        finished = session.get(StaffAction, action.id)
        assert finished.status.value == "done" and finished.done_by == "Worker Person"
    case = pages.http.get("/staff/cases/SG-100101").get_data(as_text=True)
    assert "she is safe at her daughter" in case and "staff action done" in case
    # What Edith was told, in the consent scopes' words, not the line's field names.
    assert "Told: how the case stands; the latest news; who the named worker is" in case
    assert "has_news" not in case and "worker_first_name" not in case


def test_a_worker_cannot_open_another_teams_case_and_the_try_is_audited(staff):
    pages = staff()  # W-101 is in Leeds
    pages.sign_in()
    assert pages.http.get("/staff/cases/SG-100101").status_code == 200
    sheffield = _sheffield_case(staff.runtime)
    assert pages.http.get(f"/staff/cases/{sheffield}").status_code == 403
    with staff.runtime.session() as session:
        views = [(v.allowed) for v in session.exec(select(CaseView).order_by(CaseView.id))]
    assert views == [True, False]


def _sheffield_case(runtime) -> str:
    from bot.models import Case, Team, Worker

    with runtime.session() as session:
        return session.exec(select(Case.ref).join(Worker, Case.worker_id == Worker.id)
                            .join(Team, Worker.team_id == Team.id)
                            .where(Team.ref == "T-SHEFF")).first()


def test_the_cli_makes_an_account_and_shows_a_code_outside_production(caseline):
    out = caseline("staff", "create", "--email", "Priya.Shah@example.org", "--name",
                   "Priya Shah", "--role", "manager", "--team", "T-LEEDS", "--password",
                   PASSWORD)
    assert "secret (shown once)" in out and "otpauth://totp/" in out
    code = caseline("staff", "code", "priya.shah@example.org").strip()
    assert re.fullmatch(r"\d{6}", code)
    assert "priya.shah@example.org  Priya Shah  manager" in caseline("staff", "list")
    short = caseline("staff", "create", "--email", "a@example.org", "--name", "A",
                     "--role", "admin", "--password", "short", code=1)
    assert "at least 12 characters" in short


def test_a_session_is_a_row_and_signing_out_ends_it(staff):
    from bot.models import StaffSession

    pages = staff()
    pages.sign_in()
    assert pages.post("/staff/sign-out").status_code == 302
    with staff.runtime.session() as session:
        [row] = session.exec(select(StaffSession)).all()
        assert row.ended_at is not None
        assert session.exec(select(StaffAccount)).first().password_hash.startswith("scrypt:")
    assert pages.http.get("/staff/").status_code == 302


def test_news_is_checked_and_costed_before_it_is_posted(staff):
    from bot.models import Case, OutboxMessage

    pages = staff()
    pages.sign_in()
    words = "Sam has spoken to your bank. The payments have stopped."
    preview = pages.post("/staff/cases/SG-100101/news", text=words)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "part(s)" in page and "write &#39;Edith&#39;" in page
    with staff.runtime.session() as session:
        assert session.exec(select(Case).where(Case.ref == "SG-100101")).one().latest_news \
            != words  # not posted yet
    posted = pages.post("/staff/cases/SG-100101/news", text=words, checked=words,
                        next_contact="2099-01-10")
    assert posted.status_code == 302
    with staff.runtime.session() as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        assert case.latest_news == words and str(case.next_contact_by) == "2099-01-10"
        assert session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "news")).all()
    emoji = pages.post("/staff/cases/SG-100101/news", text="All good 👍", checked="All good 👍")
    assert emoji.status_code == 409 and "cannot carry cheaply" in emoji.get_data(as_text=True)


def test_closing_asks_for_the_sg4a_record_and_closes_once(staff):
    from bot.models import Case

    pages = staff()
    pages.sign_in()
    missing = pages.post("/staff/cases/SG-100101/close", summary="Edith is safe now.")
    assert missing.status_code == 400
    assert "Choose what happened to the risk" in missing.get_data(as_text=True)
    summary = "Edith is safe at home and her money is back."
    fields = {"summary": summary, "outcomes": "fully", "risk": "removed"}
    assert pages.post("/staff/cases/SG-100101/close", **fields).status_code == 200  # preview
    assert pages.post("/staff/cases/SG-100101/close", checked=summary, **fields
                      ).status_code == 302
    with staff.runtime.session() as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        assert case.is_closed and case.msp_achieved.value == "Fully Achieved"
    again = pages.post("/staff/cases/SG-100101/close", checked=summary, **fields)
    assert again.status_code == 409
    sheffield = _sheffield_case(staff.runtime)
    assert pages.post(f"/staff/cases/{sheffield}/close", checked=summary, **fields
                      ).status_code == 403


def test_a_code_works_once(staff):
    pages = staff()
    code = pages.code()
    assert pages.sign_in(code=code).status_code == 302
    again = staff.runtime  # a second browser, the same code, within its minute
    other = Pages(pages.http.application.test_client(), again, pages.email)
    assert other.sign_in(code=code).status_code == 401


def test_the_queue_polling_by_itself_does_not_keep_a_session_alive(staff):
    from datetime import timedelta

    from bot.models import utcnow

    start = utcnow()
    moved = {"by": timedelta(0)}
    staff.runtime.clock = lambda: start + moved["by"]
    pages = staff()
    pages.sign_in()
    idle = staff.runtime.settings.staff_idle_minutes
    for minutes in range(1, idle + 3, 5):
        moved["by"] = timedelta(minutes=minutes)
        polled = pages.http.get("/staff/queue")
    assert polled.status_code == 401  # the page reloads itself to the sign-in page
    assert pages.http.get("/staff/").status_code == 302


def test_duty_reads_another_teams_urgent_case_but_does_not_change_it(staff, phone):
    kerry = phone("+447700900106")  # P-006, Sheffield's case SG-100106
    duty = staff(role="duty", team="T-LEEDS", worker=None, email="duty@example.org")
    duty.sign_in()
    assert duty.http.get("/staff/cases/SG-100106").status_code == 403  # nothing urgent yet
    for body in ("news", "6173", "I feel unsafe"):
        kerry.text(body)
    assert "SG-100106" in duty.http.get("/staff/queue").get_data(as_text=True)
    page = duty.http.get("/staff/cases/SG-100106")
    assert page.status_code == 200 and "Post news" not in page.get_data(as_text=True)
    assert duty.post("/staff/cases/SG-100106/news", text="x", checked="x").status_code == 403


def test_the_case_is_changed_from_its_page_through_the_case_services(staff, caseline):
    from bot.models import Case, Person, Worker
    from bot.pins import verify_pin

    pages = staff()
    pages.sign_in()
    form = pages.http.get("/staff/cases/SG-100101/change").get_data(as_text=True)
    assert "When they will next hear from us" in form and "A new PIN" in form
    assert pages.post("/staff/cases/SG-100101/next-contact", next_contact="2099-03-01"
                      ).status_code == 302
    past = pages.post("/staff/cases/SG-100101/next-contact", next_contact="2001-01-01")
    assert past.status_code == 409 and "in the past" in past.get_data(as_text=True)
    assert pages.post("/staff/cases/SG-100101/away", away_until="2099-01-31",
                      cover="W-103").status_code == 302
    other_team = pages.post("/staff/cases/SG-100101/away", away_until="2099-01-31",
                            cover="W-201")
    assert other_team.status_code == 409 and "another team" in other_team.get_data(
        as_text=True)
    assert pages.post("/staff/cases/SG-100101/pause", until="2099-02-01").status_code == 302
    shown = pages.post("/staff/cases/SG-100101/pin", holder="P-001")
    pin = re.search(r"PIN <strong>(\d{4})</strong>", shown.get_data(as_text=True)).group(1)
    assert shown.headers["Cache-Control"] == "no-store"
    assert pages.post("/staff/cases/SG-100101/worker", worker="W-103").status_code == 302
    with staff.runtime.session() as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        sam = session.exec(select(Worker).where(Worker.ref == "W-101")).one()
        person = session.get(Person, case.person_id)
        assert str(case.next_contact_by) == "2099-03-01"
        assert str(sam.away_until) == "2099-01-31" and sam.cover_worker_id is not None
        assert str(person.contact_paused_until) == "2099-02-01"
        assert verify_pin(pin, person.pin_hash, staff.runtime.settings.pin_key,
                          salt=person.ref)
        assert session.get(Worker, case.worker_id).ref == "W-103"
    timeline = pages.http.get("/staff/cases/SG-100101").get_data(as_text=True)
    for what in ("next contact set", "worker away (or back)", "contact paused", "PIN set",
                 "worker changed"):
        assert what in timeline, what
    assert pin not in timeline


def test_once_staff_take_a_message_the_caller_hears_who_has_it(staff, phone):
    """Edith leaves a message; Sam takes it on the queue; when she texts again, after her
    PIN she hears that Sam has it. Joan, her daughter, is not told about Edith's message."""
    edith = phone(EDITH)
    for body in ("news", "4821", "2", "The man from the bank rang again."):
        edith.text(body)
    again = " ".join(phone(EDITH).text("news") + phone(EDITH).text("4821"))
    assert "It was passed to Sam" in again and "has your message" not in again
    pages = staff()
    pages.sign_in()
    with staff.runtime.session() as session:
        action = session.exec(select(StaffAction).where(StaffAction.kind == "message")).one()
    pages.post(f"/staff/actions/{action.id}/acknowledge")
    later = phone(EDITH)
    later.text("news")
    heard = " ".join(later.text("4821"))
    assert "Sam has your message." in heard
    joan = phone("+447700900201")
    joan.text("news")
    assert "has your message" not in " ".join(joan.text("5937"))


def test_the_overviews_list_quiet_cases_undelivered_messages_and_the_msp_report(staff,
                                                                                caseline):
    from datetime import timedelta

    from bot.delivery import outbox
    from bot.models import Case, Channel, OutboxStatus, SendAttempt

    pages = staff()
    pages.sign_in()
    # SG-100101's next contact (2026-12-04 in the demo) is passed once the clock is on.
    later = staff.runtime.now() + timedelta(days=400)
    staff.runtime.clock = lambda: later
    pages.sign_in()
    quiet = pages.http.get("/staff/overview/contact").get_data(as_text=True)
    assert "SG-100101" in quiet and ("missed" in quiet or "no news" in quiet)
    with staff.runtime.session() as session:
        case = session.exec(select(Case).where(Case.ref == "SG-100101")).one()
        row = outbox.add(session, key="t/undelivered", purpose="news", channel=Channel.SMS,
                         to="+447700900101", body="x", case_id=case.id)
        session.flush()
        row.status = OutboxStatus.FAILED
        session.add(SendAttempt(outbox_id=row.id, number=1, status="failed",
                                error_code=21610))
    failed = pages.http.get("/staff/overview/undelivered").get_data(as_text=True)
    assert "replied STOP" in failed and "ask them to text START" in failed
    assert "07700 900101" in failed
    caseline("cases", "close", "SG-100102", "--summary", "Arthur is safe now.",
             "--outcomes", "partially", "--risk", "reduced")
    report = pages.http.get("/staff/overview/msp?from=2000-01-01&to=2999-12-31"
                            ).get_data(as_text=True)
    assert "Partially Achieved" in report and "Risk reduced" in report
    bad = pages.http.get("/staff/overview/msp?from=yesterday")
    assert "Give the dates as YYYY-MM-DD" in bad.get_data(as_text=True)


def test_each_role_sees_what_it_needs_to_and_no_more(staff, phone):
    """A manager: their team's cases and queue; an admin: every case; a worker's "mine"
    shows only what is theirs."""
    kerry, edith = phone("+447700900106"), phone(EDITH)  # Sheffield's SG-100106, Leeds'
    for who, pin in ((kerry, "6173"), (edith, "4821")):
        for body in ("news", pin, "1"):  # each asks for a call back
            who.text(body)
    manager = staff(role="manager", team="T-LEEDS", worker=None, email="m@example.org")
    manager.sign_in()
    queue = manager.http.get("/staff/queue").get_data(as_text=True)
    assert "SG-100101" in queue and "SG-100106" not in queue
    assert manager.http.get("/staff/cases/SG-100101").status_code == 200
    assert manager.http.get("/staff/cases/SG-100106").status_code == 403
    admin = staff(role="admin", team=None, worker=None, email="a@example.org")
    admin.sign_in()
    everything = admin.http.get("/staff/queue").get_data(as_text=True)
    assert "SG-100101" in everything and "SG-100106" in everything
    assert admin.http.get("/staff/cases/SG-100106").status_code == 200
    tom = staff(role="worker", worker="W-103", email="tom@example.org")  # Leeds, not Edith's
    tom.sign_in()
    assert "SG-100101" in tom.http.get("/staff/queue?show=team").get_data(as_text=True)
    assert "SG-100101" not in tom.http.get("/staff/queue?show=mine").get_data(as_text=True)
