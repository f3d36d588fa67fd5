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
