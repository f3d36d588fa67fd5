"""The staff pages in a real headless Chromium (Debian's chromium and chromium-driver, which
.ci/run installs; nothing downloads a browser), with axe-core checking every page.

A worker signs in with a TOTP code, sees an urgent action that a signed inbound text raised
appear on the queue by itself (the page polls), takes it, opens the case, reads the
timeline, posts news and closes the case.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from bot.services import staff_accounts as accounts

CHROMIUM = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver")
AXE = Path(os.environ.get("AXE_JS", Path(__file__).resolve().parents[1]
                          / ".tools/node_modules/axe-core/axe.min.js"))
MISSING = [str(p) for p in (Path(CHROMIUM), Path(CHROMEDRIVER), AXE) if not p.exists()]
HOW = ("apt-get install chromium chromium-driver; npm install --prefix .tools axe-core@4 "
       "(.ci/run does both)")
if MISSING and os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    pytest.fail(f"CI=true but the browser test's tools are missing: {', '.join(MISSING)}. "
                f"{HOW}", pytrace=False)
pytestmark = [pytest.mark.one_backend,
              pytest.mark.skipif(bool(MISSING), reason=f"missing {MISSING}: {HOW}")]

PASSWORD = "correct horse battery staple"
EDITH = "+447700900101"
SERIOUS = ("serious", "critical")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(2)
    yield driver
    driver.quit()


def _axe(driver, page: str) -> None:
    """axe-core on the page as it stands: no serious or critical violation."""
    driver.execute_script(AXE.read_text())
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations));")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found
           if v["impact"] in SERIOUS]
    assert bad == [], f"{page}: {bad}"


def _click(driver, by, value: str, tries: int = 10) -> None:
    """Click, again if the queue's polling replaced the element between find and click."""
    from selenium.common.exceptions import StaleElementReferenceException

    for _ in range(tries):
        try:
            driver.find_element(by, value).click()
            return
        except StaleElementReferenceException:
            time.sleep(0.2)
    raise AssertionError(f"could not click {value}")


def _queue_text(driver) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.ID, "queue").text
    except StaleElementReferenceException:
        return ""


def _shot(driver, name: str) -> None:
    """With SCREENSHOTS=DIR, keep what the browser showed (for the closing note)."""
    if os.environ.get("SCREENSHOTS"):
        driver.save_screenshot(str(Path(os.environ["SCREENSHOTS"]) / f"{name}.png"))


def _wait(condition, seconds=15.0):
    """Until the condition holds; a page still changing (an element gone stale or not
    there yet) only means not yet."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (StaleElementReferenceException, NoSuchElementException):
            pass
        time.sleep(0.2)
    raise AssertionError("the page did not get there in time")


def _text(runtime, number: str, body: str) -> None:
    """A text to the live line, signed as Twilio signs it."""
    from bot.tryout.phone_sim import SimulatedPhone

    def transport(url, form, headers):
        answer = requests.post(url, data=form, headers=headers, timeout=10)
        return answer.status_code, answer.text

    s = runtime.settings
    SimulatedPhone(transport, public_url=s.public_url, auth_token=s.twilio_auth_token,
                   from_number=number, to_number=s.twilio_phone_number).text(body)


def test_a_worker_works_an_urgent_action_to_the_closed_case(live_runtime, browser):
    from bot.importer import import_file
    from tests.conftest import DEMO_FILE

    runtime = live_runtime
    import_file(DEMO_FILE, runtime.engine, pin_key=runtime.settings.pin_key)
    with runtime.session() as session:
        made = accounts.create(session, email="sam@example.org", name="Sam Okafor",
                               role="worker", password=PASSWORD, worker_ref="W-101")
        secret = made.totp_secret
    base = runtime.settings.public_url
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/staff/")  # not signed in: the sign-in page
    assert "/staff/sign-in" in browser.current_url
    _axe(browser, "sign in")
    browser.find_element(By.ID, "email").send_keys("sam@example.org")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _axe(browser, "code")
    import pyotp

    browser.find_element(By.ID, "code").send_keys(pyotp.TOTP(secret).now())
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: browser.find_element(By.TAG_NAME, "h1").text == "Action queue")
    _axe(browser, "queue")

    # Edith texts; the queue shows her alarm without a reload.
    for body in ("news", "4821", "I feel unsafe"):
        _text(runtime, EDITH, body)
    _wait(lambda: "Urgent" in _queue_text(browser))
    assert "SG-100101" in _queue_text(browser)
    _shot(browser, "queue")
    _click(browser, By.XPATH, "//button[starts-with(@aria-label, 'Take action')]")
    _wait(lambda: "seen by Sam Okafor" in _queue_text(browser))

    _click(browser, By.LINK_TEXT, "SG-100101")
    _wait(lambda: "Edith" in browser.find_element(By.TAG_NAME, "h1").text)
    timeline = browser.find_element(By.XPATH, "//h2[text()='Timeline, newest first']"
                                              "/following-sibling::table").text
    assert "text received" in timeline and "told about the case" in timeline
    _axe(browser, "case")
    _shot(browser, "case")
    _click(browser, By.LINK_TEXT, "Change the case")
    _wait(lambda: browser.find_element(By.TAG_NAME, "h1").text.startswith("Change"))
    _axe(browser, "change")
    browser.back()
    _wait(lambda: "Edith" in browser.find_element(By.TAG_NAME, "h1").text)

    browser.find_element(By.LINK_TEXT, "Post news").click()
    browser.find_element(By.ID, "text").send_keys("Sam has spoken to the bank. Edith's money "
                                                  "is safe.")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: "part(s)" in browser.page_source)  # the advice and the cost, first
    _axe(browser, "news")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: "Latest news" in browser.page_source and "Edith's money is safe" in
          browser.page_source)

    browser.find_element(By.LINK_TEXT, "Close the case").click()
    browser.find_element(By.ID, "summary").send_keys("Edith is safe and her money is back.")
    browser.find_element(By.ID, "outcomes").click()
    browser.find_element(By.ID, "risk").click()
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: "part(s)" in browser.page_source)
    _axe(browser, "close")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: "case closed" in browser.page_source)
    assert "closed" in browser.find_element(By.CLASS_NAME, "govuk-summary-list").text

    # The overview pages and the change page: reachable from the header, and accessible.
    for link, heading in (("Need contact", "Cases that need contact"),
                          ("Not delivered", "Not delivered"),
                          ("MSP report", "Making Safeguarding Personal")):
        _click(browser, By.LINK_TEXT, link)
        _wait(lambda h=heading: browser.find_element(By.TAG_NAME, "h1").text == h)
        _axe(browser, heading)
    assert "1" in browser.find_element(By.TAG_NAME, "main").text  # the case just closed


# ---- keyboard alone, and 200% zoom ----------------------------------------------------------

FOCUS_SHOWN = """
const e = document.activeElement;
const seen = s => s && ((s.boxShadow && s.boxShadow !== 'none') ||
  (s.outlineStyle !== 'none' && s.outlineWidth !== '0px' &&
   !['transparent', 'rgba(0, 0, 0, 0)'].includes(s.outlineColor)));
// GOV.UK's radios and checkboxes draw their focus on the label's ::before.
const label = e.labels && e.labels[0];
return seen(getComputedStyle(e)) || (label && seen(getComputedStyle(label, '::before')));
"""
FOCUSED = "const e = document.activeElement; return [e.id, e.tagName, " \
          "e.getAttribute('aria-label') || '', e.innerText || e.value || ''];"


def _tab_to(driver, wanted, limit: int = 120) -> None:
    """Press Tab until `wanted(id, tag, aria-label, text)` holds for the focused element;
    every element passed on the way must show that it has the focus."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.execute_script(FOCUSED)
        if focused[1] != "BODY":
            assert driver.execute_script(FOCUS_SHOWN), f"no visible focus on {focused}"
        if focused[1] != "BODY" and wanted(*focused):
            return
    raise AssertionError(f"Tab never reached it; the last was {focused}")


def _keys(driver, *keys) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def _call_and_leave_a_message(runtime, number: str) -> None:
    from bot.tryout.phone_sim import SimulatedPhone

    def transport(url, form, headers):
        answer = requests.post(url, data=form, headers=headers, timeout=10)
        return answer.status_code, answer.text

    s = runtime.settings
    caller = SimulatedPhone(transport, public_url=s.public_url, auth_token=s.twilio_auth_token,
                            from_number=number, to_number=s.twilio_phone_number,
                            account_sid=s.twilio_account_sid)
    caller.call()
    caller.press("1")
    caller.press("4821")
    caller.press("2")
    caller.leave_message(seconds=9)


def test_a_worker_does_the_day_by_keyboard_alone_and_reads_it_at_200_percent(
        live_runtime, browser):
    import pyotp
    from selenium.webdriver.common.keys import Keys
    from sqlmodel import select

    from bot.importer import import_file
    from bot.models import Representative
    from tests.conftest import DEMO_FILE

    runtime = live_runtime
    import_file(DEMO_FILE, runtime.engine, pin_key=runtime.settings.pin_key)
    with runtime.session() as session:
        secret = accounts.create(session, email="sam@example.org", name="Sam Okafor",
                                 role="worker", password=PASSWORD,
                                 worker_ref="W-101").totp_secret
    for body in ("news", "4821", "I feel unsafe"):
        _text(runtime, EDITH, body)
    _call_and_leave_a_message(runtime, EDITH)
    base = runtime.settings.public_url

    browser.get(f"{base}/staff/sign-in")
    _tab_to(browser, lambda i, tag, label, text: text == "Skip to main content")
    _tab_to(browser, lambda i, *_: i == "email")
    _keys(browser, "sam@example.org")
    _tab_to(browser, lambda i, *_: i == "password")
    _keys(browser, PASSWORD, Keys.ENTER)
    _wait(lambda: "code" in browser.current_url)
    _tab_to(browser, lambda i, *_: i == "code")
    _keys(browser, pyotp.TOTP(secret).now(), Keys.ENTER)
    _wait(lambda: browser.find_element("tag name", "h1").text == "Action queue")

    _wait(lambda: "Urgent" in _queue_text(browser))
    _tab_to(browser, lambda i, tag, label, text: label.startswith("Take action"))
    _keys(browser, Keys.ENTER)
    _wait(lambda: "seen by Sam Okafor" in _queue_text(browser))
    _tab_to(browser, lambda i, tag, label, text: tag == "A" and text == "SG-100101")
    _keys(browser, Keys.ENTER)
    _wait(lambda: "Edith" in browser.find_element("tag name", "h1").text)

    _tab_to(browser, lambda i, tag, label, text: tag == "A" and "Joan Marsh may be" in text)
    _keys(browser, Keys.ENTER)
    _wait(lambda: browser.find_element("tag name", "h1").text.startswith("What Joan"))
    _tab_to(browser, lambda i, *_: i == "scopes-closure")
    _keys(browser, Keys.SPACE)  # untick: Edith no longer wants Joan told of the closure
    _tab_to(browser, lambda i, *_: i == "how")
    _keys(browser, "Edith said so on the phone today.")
    _tab_to(browser, lambda i, tag, label, text: text == "Record the consent")
    _keys(browser, Keys.ENTER)
    _wait(lambda: "Edith" in browser.find_element("tag name", "h1").text)
    with runtime.session() as session:
        joan = session.exec(select(Representative).where(Representative.ref == "R-001")).one()
        assert joan.consent_scopes == ["status"] and joan.consent_recorded_by == "Sam Okafor"

    # The message she left plays from our server, and Chromium decodes it.
    _tab_to(browser, lambda i, tag, *_: tag == "AUDIO")
    played = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; const a = document.activeElement;"
        "fetch(a.src).then(r => { a.addEventListener('loadedmetadata', "
        "() => done([r.status, r.headers.get('content-type'), a.duration])); a.load(); });")
    assert played[0] == 200 and played[1] == "audio/mpeg" and played[2] > 0.5, played
    assert "twilio.com" not in browser.page_source

    # 200% zoom of a 1280 px window: 640 CSS pixels across, at twice the pixel density.
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 640, "height": 500, "deviceScaleFactor": 2, "mobile": False})
    pages = {"queue": "/staff/", "case": "/staff/cases/SG-100101",
             "consent": "/staff/cases/SG-100101/trusted/R-001",
             "change": "/staff/cases/SG-100101/change", "news": "/staff/cases/SG-100101/news",
             "close": "/staff/cases/SG-100101/close", "need contact": "/staff/overview/contact",
             "not delivered": "/staff/overview/undelivered", "msp": "/staff/overview/msp"}
    for name, path in pages.items():
        browser.get(base + path)
        width = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];")
        assert width[0] <= width[1], f"{name} scrolls sideways at 200%: {width}"
        menu = browser.find_elements("css selector", ".govuk-header__navigation-list a")
        assert menu and all(link.is_displayed() for link in menu), f"{name}: menu hidden"
        _shot(browser, f"200-percent-{name.replace(' ', '-')}")


def test_an_admin_makes_an_account_and_a_token_on_accessible_pages(live_runtime, browser):
    import pyotp
    from selenium.webdriver.common.by import By

    from bot.importer import import_file
    from tests.conftest import DEMO_FILE

    runtime = live_runtime
    import_file(DEMO_FILE, runtime.engine, pin_key=runtime.settings.pin_key)
    with runtime.session() as session:
        secret = accounts.create(session, email="ada@example.org", name="Ada Admin",
                                 role="admin", password=PASSWORD).totp_secret
    base = runtime.settings.public_url

    def sign_in(email, totp):
        browser.get(f"{base}/staff/sign-in")
        browser.find_element(By.ID, "email").send_keys(email)
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
        browser.find_element(By.ID, "code").send_keys(pyotp.TOTP(totp).now())
        browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
        _wait(lambda: browser.find_element(By.TAG_NAME, "h1").text == "Action queue")

    def heading():
        return browser.find_element(By.TAG_NAME, "h1").text

    sign_in("ada@example.org", secret)
    _click(browser, By.LINK_TEXT, "Admin")
    _wait(lambda: heading() == "Staff accounts")
    _axe(browser, "accounts")
    browser.get(f"{base}/staff/admin/accounts/new")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()  # empty
    _wait(lambda: "There is a problem" in browser.page_source)
    _axe(browser, "new account, with its errors")
    browser.find_element(By.ID, "email").send_keys("rachel.dunn@example.org")
    browser.find_element(By.ID, "name").send_keys("Rachel Dunn")
    browser.find_element(By.ID, "role").click()  # worker
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "worker")).select_by_value("W-102")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: heading().startswith("Account made"))
    _axe(browser, "account made")
    new_secret = browser.find_element(By.ID, "secret").get_attribute("value")

    browser.get(f"{base}/staff/admin/tokens/new")
    browser.find_element(By.ID, "name").send_keys("mosaic nightly")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()  # no scopes
    _wait(lambda: "There is a problem" in browser.page_source)
    _axe(browser, "new token, with its errors")
    browser.find_element(By.CSS_SELECTOR, "input[name=scopes][value=timeline]").click()
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: "made" in heading())
    _axe(browser, "token made")
    token = browser.find_element(By.CSS_SELECTOR, "main input[readonly], main textarea"
                                 ).get_attribute("value")
    seen = requests.get(f"{base}/api/v1/timeline", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    assert seen.status_code == 200
    browser.get(f"{base}/staff/admin/tokens")
    _axe(browser, "tokens")
    _click(browser, By.PARTIAL_LINK_TEXT, "Revoke")
    _wait(lambda: heading().startswith("Revoke"))
    _axe(browser, "revoke")
    browser.find_element(By.CSS_SELECTOR, "main button[type=submit]").click()
    _wait(lambda: heading() == "API tokens")
    assert requests.get(f"{base}/api/v1/timeline", timeout=10, headers={
        "Authorization": f"Bearer {token}"}).status_code == 401

    browser.find_element(By.CSS_SELECTOR, ".govuk-header button").click()  # sign out
    sign_in("rachel.dunn@example.org", new_secret)  # the secret shown once works
    assert not browser.find_elements(By.LINK_TEXT, "Admin")
