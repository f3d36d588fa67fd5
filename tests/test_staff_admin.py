"""The admin pages (`/staff/admin/`) through the real app: staff accounts and API tokens,
for admins only, through the CLI's own services, every change audited without a secret."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import pyotp
from sqlmodel import select

from bot.models import ApiToken, Interaction, StaffAccount, StaffSession, utcnow
from bot.services import staff_accounts as accounts
from tests.test_staff import PASSWORD, Pages, staff  # noqa: F401  (the fixture)

ADMIN_KINDS = ("staff_account_made", "staff_account_disabled", "staff_account_enabled",
               "staff_account_unlocked", "staff_second_factor_new", "api_token_made",
               "api_token_revoked")
NEW_PASSWORD = "a quiet river in the hills"


def _admin(staff):  # noqa: F811
    admin = staff(role="admin", team=None, worker=None, email="ada.admin@example.org")
    assert admin.sign_in().status_code == 302
    return admin


def _moving_clock(runtime):
    """Let a test move the line's time on (a TOTP code is good once in its 30 s step)."""
    start = utcnow()
    moved = {"by": timedelta(0)}
    runtime.clock = lambda: start + moved["by"]

    def later(seconds=60):
        moved["by"] += timedelta(seconds=seconds)
    return later


def _id_of(runtime, email) -> int:
    with runtime.session() as session:
        return accounts.find(session, email).id


def _make_account(admin, **fields):
    """Post the new-account form; (the page, its secret or None)."""
    form = {"email": "priya.shah@example.org", "name": "Priya Shah", "role": "manager",
            "team": "T-LEEDS", "worker": "", "password": NEW_PASSWORD, **fields}
    answer = admin.post("/staff/admin/accounts/new", **form)
    page = answer.get_data(as_text=True)
    found = re.search(r'id="secret"[^>]*value="([A-Z2-7]+)"', page)
    return answer, page, found.group(1) if found else None


def _as(pages, email, runtime) -> Pages:
    """Another browser, for the account `email`."""
    return Pages(pages.http.application.test_client(), runtime, email)


def _code(secret, runtime) -> str:
    return pyotp.TOTP(secret).at(runtime.now())


def _mark(runtime) -> int:
    """The last audit entry so far: what a test did comes after it (the fixtures' own
    accounts are audited too, as made by the CLI)."""
    with runtime.session() as session:
        return session.exec(select(Interaction.id).order_by(Interaction.id.desc())
                            ).first() or 0


def _audit(runtime, since: int = 0) -> list[Interaction]:
    with runtime.session() as session:
        rows = list(session.exec(select(Interaction).where(Interaction.kind.in_(ADMIN_KINDS),
                                                           Interaction.id > since)
                                 .order_by(Interaction.id)))
        for row in rows:
            session.expunge(row)
        return rows


def _admin_paths(app, account_id: int, token_id: int) -> list[tuple[str, str]]:
    """Every admin route (from the app's own map, so none is forgotten), as (method, path)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("staff.admin"):
            continue
        path = rule.rule.replace("<int:account_id>", str(account_id)).replace(
            "<int:token_id>", str(token_id))
        found += [(method, path) for method in sorted(rule.methods & {"GET", "POST"})]
    return found


def test_only_admins_open_the_admin_pages_or_post_their_forms(staff):  # noqa: F811
    from bot.services import api_tokens

    admin = _admin(staff)
    with staff.runtime.session() as session:
        token_id = api_tokens.create(session, name="mosaic", scopes=["read"]).token.id
    target = _id_of(staff.runtime, admin.email)
    paths = _admin_paths(admin.http.application, target, token_id)
    assert len(paths) >= 12 and ("POST", f"/staff/admin/accounts/{target}/disable") in paths
    page = admin.http.get("/staff/").get_data(as_text=True)
    assert 'href="/staff/admin/accounts">Admin</a>' in page
    for role, team, worker in (("worker", None, "W-101"), ("manager", "T-LEEDS", None),
                               ("duty", "T-LEEDS", None)):
        other = staff(role=role, team=team, worker=worker, email=f"{role}@example.org")
        other.sign_in()
        assert "Admin</a>" not in other.http.get("/staff/").get_data(as_text=True)
        for method, path in paths:
            answer = (other.http.get(path) if method == "GET" else
                      other.post(path, email="x@example.org", name="X Person", role="admin",
                                 password=NEW_PASSWORD, scopes="admin"))
            text = answer.get_data(as_text=True)
            assert answer.status_code == 403, (role, method, path)
            assert "Only admins can do this" in text and "govuk-heading-l" in text
    with staff.runtime.session() as session:
        assert session.get(StaffAccount, target).disabled_at is None
        assert session.get(ApiToken, token_id).revoked_at is None
        assert accounts.find(session, "x@example.org") is None
    assert all(r.actor == "cli" for r in _audit(staff.runtime))  # the setup's only
    signed_out = Pages(admin.http.application.test_client(), staff.runtime, admin.email)
    answer = signed_out.http.get("/staff/admin/accounts")
    assert answer.status_code == 302 and "/staff/sign-in" in answer.headers["Location"]


def test_an_account_made_on_the_page_signs_in_with_the_secret_shown_once(staff):  # noqa: F811
    admin = _admin(staff)
    form = admin.http.get("/staff/admin/accounts/new").get_data(as_text=True)
    for field in ('for="email"', 'for="name"', 'for="role"', 'for="team"', 'for="worker"',
                  'for="password"', 'name="csrf_token"'):
        assert field in form, field
    answer, page, secret = _make_account(admin)
    assert answer.status_code == 200 and secret
    assert answer.headers["Cache-Control"] == "no-store"
    assert "otpauth://totp/" in page and "issuer=Caseline" in html.unescape(page)
    assert NEW_PASSWORD not in page  # a password the admin typed is never shown back
    listing = admin.http.get("/staff/admin/accounts").get_data(as_text=True)
    assert "priya.shah@example.org" in listing and "Leeds" in listing and "Active" in listing
    assert secret not in listing
    priya = _as(admin, "priya.shah@example.org", staff.runtime)
    assert priya.sign_in(password=NEW_PASSWORD, code="000000").status_code == 401
    assert priya.sign_in(password=NEW_PASSWORD,
                         code=_code(secret, staff.runtime)).status_code == 302
    assert priya.http.get("/staff/").status_code == 200
    assert priya.http.get("/staff/admin/accounts").status_code == 403  # a manager


def test_a_first_password_can_be_made_and_is_shown_once(staff):  # noqa: F811
    admin = _admin(staff)
    answer, page, secret = _make_account(admin, email="tom.reed@example.org", name="Tom Reed",
                                         role="worker", team="", worker="W-103", password="")
    assert answer.status_code == 200
    password = re.search(r'id="first-password"[^>]*value="([a-z0-9-]+)"', page).group(1)
    assert len(password) >= accounts.MIN_PASSWORD
    tom = _as(admin, "tom.reed@example.org", staff.runtime)
    assert tom.sign_in(password=password, code=_code(secret, staff.runtime)).status_code == 302
    with staff.runtime.session() as session:
        made = accounts.find(session, "tom.reed@example.org")
        assert made.role == "worker" and made.worker_id is not None and made.team_id
    assert password not in admin.http.get("/staff/admin/accounts").get_data(as_text=True)


def test_disabling_ends_the_sessions_and_refuses_sign_in_until_enabled(staff):  # noqa: F811
    later = _moving_clock(staff.runtime)
    admin = _admin(staff)
    sam = staff()  # worker W-101
    sam.sign_in()
    assert sam.http.get("/staff/").status_code == 200
    sam_id = _id_of(staff.runtime, sam.email)
    done = admin.post(f"/staff/admin/accounts/{sam_id}/disable")
    assert done.status_code == 302 and "done=disabled" in done.headers["Location"]
    shown = admin.http.get(done.headers["Location"]).get_data(as_text=True)
    assert "The account is disabled and its sessions are ended" in shown
    assert "Enable Worker Person's account" in shown
    with staff.runtime.session() as session:
        open_rows = session.exec(select(StaffSession).where(
            StaffSession.account_id == sam_id, StaffSession.ended_at.is_(None))).all()
        assert open_rows == []
    answer = sam.http.get("/staff/")
    assert answer.status_code == 302 and "/staff/sign-in" in answer.headers["Location"]
    later()
    assert sam.sign_in().status_code == 401
    assert "Disabled" in admin.http.get("/staff/admin/accounts").get_data(as_text=True)
    assert admin.post(f"/staff/admin/accounts/{sam_id}/enable").status_code == 302
    later()
    assert sam.sign_in().status_code == 302
    assert sam.http.get("/staff/").status_code == 200


def test_an_admin_cannot_disable_themselves(staff):  # noqa: F811
    admin = _admin(staff)
    me = _id_of(staff.runtime, admin.email)
    page = admin.http.get(f"/staff/admin/accounts/{me}").get_data(as_text=True)
    assert "You cannot disable your own account" in page and "Disable Admin" not in page
    refused = admin.post(f"/staff/admin/accounts/{me}/disable")
    text = refused.get_data(as_text=True)
    assert refused.status_code == 409 and 'href="#disable"' in text
    assert "govuk-error-summary" in text and 'id="disable"' in text
    with staff.runtime.session() as session:
        assert session.get(StaffAccount, me).disabled_at is None
    assert admin.http.get("/staff/admin/accounts").status_code == 200  # still signed in
    assert "staff_account_disabled" not in [r.kind for r in _audit(staff.runtime)]


def test_unlocking_lets_a_locked_account_sign_in_at_once(staff):  # noqa: F811
    admin = _admin(staff)
    sam = staff()
    for _ in range(accounts.MAX_FAILURES):
        sam.sign_in(password="not the password at all")
    assert sam.sign_in().status_code == 401  # the right password, but it waits
    sam_id = _id_of(staff.runtime, sam.email)
    assert "Locked until" in admin.http.get("/staff/admin/accounts").get_data(as_text=True)
    page = admin.http.get(f"/staff/admin/accounts/{sam_id}").get_data(as_text=True)
    assert "Unlock Worker Person's account" in page
    assert admin.post(f"/staff/admin/accounts/{sam_id}/unlock").status_code == 302
    with staff.runtime.session() as session:
        unlocked = session.get(StaffAccount, sam_id)
        assert unlocked.locked_until is None and unlocked.failed_signins == 0
    assert sam.sign_in().status_code == 302


def test_a_new_second_factor_stops_the_old_codes_and_the_new_one_works(staff):  # noqa: F811
    later = _moving_clock(staff.runtime)
    admin = _admin(staff)
    sam = staff()
    with staff.runtime.session() as session:
        old_secret = accounts.find(session, sam.email).totp_secret
    sam.sign_in()
    sam_id = _id_of(staff.runtime, sam.email)
    shown = admin.post(f"/staff/admin/accounts/{sam_id}/second-factor")
    page = shown.get_data(as_text=True)
    new_secret = re.search(r'id="secret"[^>]*value="([A-Z2-7]+)"', page).group(1)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert new_secret != old_secret and "no longer work" in page
    later()
    assert sam.sign_in(code=_code(old_secret, staff.runtime)).status_code == 401
    assert sam.sign_in(code=_code(new_secret, staff.runtime)).status_code == 302
    assert new_secret not in admin.http.get(f"/staff/admin/accounts/{sam_id}").get_data(
        as_text=True)


def test_a_token_made_on_the_page_calls_the_api_until_it_is_revoked(staff):  # noqa: F811
    admin = _admin(staff)
    form = admin.http.get("/staff/admin/tokens/new").get_data(as_text=True)
    for scope in ("read", "write", "timeline", "messages", "actions", "admin"):
        assert f'value="{scope}"' in form
    made = admin.post("/staff/admin/tokens/new", name="mosaic-nightly",
                      scopes=["read", "timeline"], team="T-LEEDS")
    page = made.get_data(as_text=True)
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="token"[^>]*>(cl_[a-z0-9]{8}_[A-Za-z0-9_-]{43})<', page).group(1)
    http = admin.http.application.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    cases = http.get("/api/v1/cases", headers=auth)
    assert cases.status_code == 200 and cases.get_json()["items"]
    assert http.put("/api/v1/cases/SG-100101", headers=auth, json={}).status_code == 403
    listing = admin.http.get("/staff/admin/tokens").get_data(as_text=True)
    prefix = token.split("_")[1]
    assert "mosaic-nightly" in listing and f"cl_{prefix}_" in listing and token not in listing
    assert "read, timeline" in listing and "Leeds" in listing
    assert "Admin Person (ada.admin@example.org)" in listing  # who made it
    with staff.runtime.session() as session:
        stored = session.exec(select(ApiToken).where(ApiToken.name == "mosaic-nightly")).one()
        assert stored.created_by == "Admin Person (ada.admin@example.org)"
        assert stored.last_used_at is not None and token not in stored.token_hash
        token_id = stored.id
    confirm = admin.http.get(f"/staff/admin/tokens/{token_id}/revoke").get_data(as_text=True)
    assert "Revoke the token 'mosaic-nightly'?" in confirm
    assert http.get("/api/v1/cases", headers=auth).status_code == 200  # asking changes nothing
    done = admin.post(f"/staff/admin/tokens/{token_id}/revoke")
    assert done.status_code == 302 and "done=revoked" in done.headers["Location"]
    assert http.get("/api/v1/cases", headers=auth).status_code == 401
    assert "Revoked" in admin.http.get("/staff/admin/tokens").get_data(as_text=True)
    again = admin.http.get(f"/staff/admin/tokens/{token_id}/revoke").get_data(as_text=True)
    assert "revoked already" in again


def test_a_post_without_its_csrf_token_changes_nothing(staff):  # noqa: F811
    admin = _admin(staff)
    sam = staff()
    sam_id = _id_of(staff.runtime, sam.email)
    made = admin.http.post("/staff/admin/accounts/new", data={
        "email": "priya.shah@example.org", "name": "Priya Shah", "role": "duty",
        "password": NEW_PASSWORD})
    assert made.status_code == 400 and "This form has expired" in made.get_data(as_text=True)
    assert admin.http.post(f"/staff/admin/accounts/{sam_id}/disable").status_code == 400
    assert admin.http.post("/staff/admin/tokens/new", data={
        "name": "mosaic", "scopes": "read", "csrf_token": "forged"}).status_code == 400
    with staff.runtime.session() as session:
        assert accounts.find(session, "priya.shah@example.org") is None
        assert session.get(StaffAccount, sam_id).disabled_at is None
        assert session.exec(select(ApiToken)).all() == []
    assert all(r.actor == "cli" for r in _audit(staff.runtime))  # the fixtures' accounts


def test_every_change_is_audited_with_who_and_what_never_a_secret(staff, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    later = _moving_clock(staff.runtime)
    admin = _admin(staff)
    mark = _mark(staff.runtime)
    _, page, secret = _make_account(admin, role="duty", team="")
    priya = _id_of(staff.runtime, "priya.shah@example.org")
    for action in ("disable", "enable", "unlock"):
        assert admin.post(f"/staff/admin/accounts/{priya}/{action}").status_code == 302
    later()
    second = admin.post(f"/staff/admin/accounts/{priya}/second-factor").get_data(as_text=True)
    new_secret = re.search(r'id="secret"[^>]*value="([A-Z2-7]+)"', second).group(1)
    made = admin.post("/staff/admin/tokens/new", name="mosaic", scopes="admin")
    token = re.search(r"(cl_[a-z0-9]{8}_[A-Za-z0-9_-]{43})", made.get_data(as_text=True)
                      ).group(1)
    with staff.runtime.session() as session:
        token_id = session.exec(select(ApiToken.id).where(ApiToken.name == "mosaic")).one()
    admin.post(f"/staff/admin/tokens/{token_id}/revoke")
    rows = _audit(staff.runtime, since=mark)
    assert [r.kind for r in rows] == list(ADMIN_KINDS)
    assert {r.actor for r in rows} == {"Admin Person (ada.admin@example.org)"}
    assert all(r.case_id is None and r.direction.value == "internal" for r in rows)
    assert all("priya.shah@example.org" in r.summary for r in rows[:5])
    assert all("'mosaic'" in r.summary for r in rows[5:])
    assert "role duty" in rows[0].summary
    with staff.runtime.session() as session:
        account = accounts.find(session, "priya.shah@example.org")
        never = [NEW_PASSWORD, secret, new_secret, token, account.password_hash,
                 account.totp_secret]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for row in rows:
        for value in never:
            assert value not in row.summary and value not in row.actor
    for value in never:
        assert value not in logged


def test_bad_input_says_what_to_fix_and_keeps_what_was_typed(staff):  # noqa: F811
    admin = _admin(staff)
    taken = staff()  # worker.w-101@example.org
    answer, page, _ = _make_account(admin, email=taken.email.upper(), name="Sam Again")
    assert answer.status_code == 400 and 'href="#email"' in page
    assert "There is an account for worker.w-101@example.org already" in page
    assert 'value="Sam Again"' in page and 'value="T-LEEDS" selected' in page
    assert 'value="manager" checked' in page
    assert "Type the password again" in page
    answer, page, _ = _make_account(admin, password="short")
    assert answer.status_code == 400 and 'href="#password"' in page
    assert "at least 12 characters" in page and 'value="priya.shah@example.org"' in page
    assert 'id="password-error"' in page and "govuk-input--error" in page
    answer, page, _ = _make_account(admin, email="not an address")
    assert answer.status_code == 400 and 'href="#email"' in page and "name@example.org" in page
    answer, page, _ = _make_account(admin, role="worker", team="")
    assert answer.status_code == 400 and 'href="#worker"' in page
    answer, page, _ = _make_account(admin, role="worker", team="T-SHEFF", worker="W-101")
    assert answer.status_code == 400 and 'href="#team"' in page and "not in team" in page
    answer, page, _ = _make_account(admin, role="")
    assert answer.status_code == 400 and 'href="#role"' in page and 'id="role"' in page
    answer, page, _ = _make_account(admin, name="  ")
    assert answer.status_code == 400 and 'href="#name"' in page
    with staff.runtime.session() as session:
        assert accounts.find(session, "priya.shah@example.org") is None

    none = admin.post("/staff/admin/tokens/new", name="mosaic-nightly", team="T-SHEFF")
    text = none.get_data(as_text=True)
    assert none.status_code == 400 and 'href="#scopes"' in text and "Choose at least one" in text
    assert 'value="mosaic-nightly"' in text and 'value="T-SHEFF" selected' in text
    bad = admin.post("/staff/admin/tokens/new", name="no/slashes", scopes=["read"])
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'href="#name"' in text
    assert 'value="read" checked' in text  # the ticked scope is kept
    assert admin.post("/staff/admin/tokens/new", name="mosaic", scopes="read"
                      ).status_code == 200
    twice = admin.post("/staff/admin/tokens/new", name="mosaic", scopes="read")
    assert twice.status_code == 400 and "exists" in twice.get_data(as_text=True)
    assert admin.http.get("/staff/admin/accounts/999999").status_code == 404
    assert admin.post("/staff/admin/tokens/999999/revoke").status_code == 404


def test_the_cli_changes_accounts_through_the_same_services(staff, caseline):  # noqa: F811
    later = _moving_clock(staff.runtime)
    sam = staff()
    mark = _mark(staff.runtime)
    sam.sign_in()
    assert "disabled" in caseline("staff", "disable", sam.email)
    assert sam.http.get("/staff/").status_code == 302  # its session ended
    assert f"{sam.email}  Worker Person  worker  disabled" in caseline("staff", "list")
    caseline("staff", "enable", sam.email)
    for _ in range(accounts.MAX_FAILURES):
        sam.sign_in(password="not the password at all")
    assert "locked until" in caseline("staff", "list")
    caseline("staff", "unlock", sam.email)
    assert "can sign in" in caseline("staff", "list")
    out = caseline("staff", "new-code", sam.email)
    secret = re.search(r"secret \(shown once\): ([A-Z2-7]+)", out).group(1)
    assert "otpauth://totp/" in out
    later()
    assert sam.sign_in(code=_code(secret, staff.runtime)).status_code == 302
    assert "There is no account" in caseline("staff", "disable", "nobody@example.org", code=1)
    caseline("api-token", "create", "--name", "mosaic", "--scopes", "read")
    caseline("api-token", "revoke", "mosaic")
    rows = _audit(staff.runtime, since=mark)
    assert [r.kind for r in rows] == ["staff_account_disabled", "staff_account_enabled",
                                      "staff_account_unlocked", "staff_second_factor_new",
                                      "api_token_made", "api_token_revoked"]
    assert {r.actor for r in rows} == {"cli"} and all(secret not in r.summary for r in rows)
