"""The portal as people use it, in real headless Chromium (Debian's chromium and chromedriver through
Selenium), against a real `callcanon portal` process and a real OpenID Connect provider process
(`oidc-provider-mock` on loopback). Screenshots go to `test-output/portal/`.

For each role of both policy profiles a person signs in and tries every action: exactly what the
policy allows succeeds, everything else is refused, and every attempt is in the audit trail under
the signed-in identity, the role it used and its session. Then the cases that make the roles mean
something: a clinician's own calls only, no download for a caseworker, four-eyes on a police
release, a forged cross-site POST, a locked-out account, a tampered cookie, an unknown identity.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import wave
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import child_env, free_port

from assets.policy import load_policy

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "portal"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
PASSWORD = "a long enough passphrase 4 tests"
REASON = "the caller complained about how their call was handled"
DAY = date(2026, 3, 2)

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        raise RuntimeError("chromium and chromedriver are needed for the portal test (apt-get install chromium "
                           "chromium-driver)")
    pytest.skip("needs chromium and chromedriver (make test installs them when it can use apt)",
                allow_module_level=True)


def _tone(path: Path) -> bytes:
    """One second of a real 440 Hz WAV, so the browser's player has something to decode."""
    import math
    import struct

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 8000)))
                               for n in range(8000)))
    return path.read_bytes()


def _people(profile: str) -> dict[str, list[str]]:
    """One local account per role, plus the people the four-eyes and scope cases need."""
    roles = load_policy(profile).access.roles
    people = {f"{role.replace('_', '-')}-1": [role] for role in roles}
    if profile == "ombudsman":
        people["sec-ir"] = ["security_officer", "information_rights"]  # may ask and may authorise
    else:
        people["practice-manager-2"] = ["practice_manager"]  # a second authoriser
    return people


def _wait(url: str, proc: subprocess.Popen, log: Path, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=3)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up; see {log}") from None
            time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def oidc_provider(tmp_path_factory):
    """A real OpenID Connect provider process on loopback (authorisation code flow, nonce required)."""
    port, log = free_port(), tmp_path_factory.mktemp("oidc") / "oidc.log"
    proc = subprocess.Popen([str(Path(sys.executable).parent / "oidc-provider-mock"), "-p", str(port),
                             "--require-nonce", "true"], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/.well-known/openid-configuration", proc, log)
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module", params=["ombudsman", "gp_practice"])
def portal(request, tmp_path_factory, oidc_provider):
    """A data folder with two calls (call-a taken by dr-lee, call-b by dr-khan), local accounts with
    granted roles, one organisation (OIDC) account, and `callcanon portal` serving it."""
    from assets import warehouse
    from assets.access import identities
    from assets.audio.vault import AudioVault
    from assets.canon import consent
    from assets.keys import load_audio_key
    from assets.synthetic.warehouse_rows import SynthCall, add_calls

    profile = request.param
    data = tmp_path_factory.mktemp(f"portal-{profile}")
    db = data / "warehouse.duckdb"
    vault = AudioVault(load_audio_key())
    people = _people(profile)
    with warehouse.connect(db) as conn:
        warehouse.ensure_schema(conn)
        add_calls(conn, data, [SynthCall("call-a", DAY, external_number="07700900123"),
                               SynthCall("call-b", DAY, external_number="07700900456")], vault=vault)
        conn.execute("UPDATE casework.calls SET staff_id = 'dr-lee' WHERE call_id = 'call-a'")
        conn.execute("UPDATE casework.calls SET staff_id = 'dr-khan' WHERE call_id = 'call-b'")
        sealed = Path(conn.execute("SELECT audio_path FROM casework.calls WHERE call_id = 'call-a'").fetchone()[0])
        vault.seal_bytes(_tone(data / "tone.wav"), sealed, "call-a")
        for name, roles in people.items():
            staff = "dr-lee" if "clinician" in roles else None
            identities.add(conn, name, by="test-administrator", display_name=name.title(), password=PASSWORD,
                           staff_id=staff)
            for role in roles:
                identities.grant(conn, name, role, by="test-administrator", roles=[role])
        # call-b was recorded without the notice: consent holds it for governance's review.
        conn.execute("UPDATE casework.calls SET privacy_notice_played = false WHERE call_id = 'call-b'")
        consent.record_date(conn, load_policy(profile), DAY)
        governor = load_policy(profile).access.governing()[0]
        identities.add(conn, "oidc:org-person-7", by="test-administrator")
        identities.grant(conn, "oidc:org-person-7", governor, by="test-administrator", roles=[governor])
    secret = data / "oidc-client-secret"
    secret.write_text("a client secret for the tests\n")
    secret.chmod(0o600)
    port, log = free_port(), data / "portal.log"
    env = child_env(data, CALLCANON_POLICY=profile, CALLCANON_OIDC_ISSUER=oidc_provider,
                    CALLCANON_OIDC_CLIENT_ID="callcanon-portal", CALLCANON_OIDC_CLIENT_SECRET_FILE=str(secret),
                    CALLCANON_PORTAL_LOCAL_ACCOUNTS="true")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "callcanon"), "portal", "--port", str(port)],
                            env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{url}/healthz", proc, log)
        yield type("Portal", (), {"url": url, "profile": profile, "db": db, "people": people, "data": data,
                                  "log": log})
    finally:
        _stop(proc)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    downloads = tmp_path_factory.mktemp("downloads")
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


# --- what a person does in the browser -------------------------------------------------------------

def _text(browser, *markers: str, timeout: float = 20) -> str:
    """The page's text, once it shows one of `markers` (any page, without)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        try:
            text = browser.find_element(By.TAG_NAME, "body").text
            if not markers or any(m in text for m in markers) or time.monotonic() > deadline:
                return text
        except WebDriverException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def sign_in(browser, portal, name: str, password: str = PASSWORD) -> str:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{portal.url}/login")
    browser.find_element(By.ID, "username").send_keys(name)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    return _text(browser, "Sign out", "Sign-in failed", "Refused")


def fill(browser, form_id: str, **values) -> None:
    """Set a form's fields, adding a select option a person's page does not offer (what a request
    forged by hand would send): the server, not the page, must refuse it."""
    browser.execute_script("""
        let form = document.getElementById(arguments[0]);
        if (!form) {  // a role with nothing to open gets no form: post one by hand, as a forger would
            form = document.createElement('form');
            form.id = arguments[0]; form.method = 'post'; form.action = '/call';
            const csrf = document.querySelector('input[name=csrf]').cloneNode();
            form.append(csrf);
            for (const name of Object.keys(arguments[1])) {
                const input = document.createElement('input'); input.name = name; form.append(input);
            }
            const button = document.createElement('button'); button.id = 'open-submit'; form.append(button);
            document.body.append(form);
        }
        for (const [name, value] of Object.entries(arguments[1])) {
            const field = form.elements[name];
            if (field.tagName === 'SELECT' && ![...field.options].some(o => o.value === value)) {
                field.add(new Option(value, value));
            }
            field.value = value;
        }""", form_id, values)


def open_call(browser, portal, call_id: str, action: str, role: str, purpose: str, **extra) -> str:
    """Submit the open-a-call form; what happened: transcript, listening, download, refused."""
    from selenium.webdriver.common.by import By

    browser.get(f"{portal.url}/calls")
    before = set(browser.downloads.iterdir())
    fill(browser, "open-call", call_id=call_id, action=action, role=role, purpose=purpose, reason=REASON, **extra)
    browser.find_element(By.ID, "open-submit").click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if browser.find_elements(By.ID, "transcript"):
            return "transcript"
        if browser.find_elements(By.ID, "player"):
            return "listening"
        if browser.find_elements(By.ID, "refusal"):
            return "refused"
        done = [p for p in set(browser.downloads.iterdir()) - before if not p.name.endswith(".crdownload")]
        if done:
            for p in done:
                p.unlink()
            return "downloaded"
        time.sleep(0.1)
    raise AssertionError(f"nothing happened for {action} as {role}: {_text(browser)[:300]}")


def _db(portal, read_only: bool = True):
    """The warehouse, between the portal's requests (each holds it for a moment)."""
    for _ in range(100):
        try:
            return duckdb.connect(str(portal.db), read_only=read_only)
        except duckdb.IOException:
            time.sleep(0.1)
    raise AssertionError("the portal kept the warehouse open")


def audit(portal, since: int = 0) -> list[dict]:
    with _db(portal) as conn:
        rows = conn.execute("SELECT seq, actor, role, action, outcome, request FROM governance.audit WHERE seq > ? "
                            "ORDER BY seq", [since]).fetchall()
    return [dict(zip(("seq", "actor", "role", "action", "outcome", "request"), r)) for r in rows]


def last_seq(portal) -> int:
    return max((r["seq"] for r in audit(portal)), default=0)


def _purpose(policy, role, action) -> str:
    """The purpose a person in this role would give for the action (one that needs no approval)."""
    fits = [p for p in role.purposes if p not in policy.access.needs_approval]
    if action == "download_audio":
        fits = [p for p in fits if p in policy.access.download_purposes] or fits
    return (fits or role.purposes)[0]


# --- the tests -------------------------------------------------------------------------------------

def test_each_role_may_do_exactly_what_its_policy_allows(portal, browser):
    policy = load_policy(portal.profile)
    for name, roles in portal.people.items():
        if len(roles) > 1:
            continue
        role_name, role = roles[0], policy.access.roles[roles[0]]
        assert "Sign out" in sign_in(browser, portal, name)
        since = last_seq(portal)
        offered = {o.get_attribute("value") for o in browser.find_elements("css selector", "#open-action option")}
        tried = []
        for action in ("view_transcript", "listen", "download_audio", "export"):
            purpose = _purpose(policy, role, action)
            allowed = (action in role.may and purpose in role.purposes
                       and (action != "download_audio" or purpose in policy.access.download_purposes))
            # The page offers only what the role may do at all: no download control without the right.
            assert (action in offered) == (action in role.may), (role_name, action, offered)
            got = open_call(browser, portal, "call-a", action, role_name, purpose)
            expected = {"view_transcript": "transcript", "listen": "listening"}.get(action, "downloaded")
            assert got == (expected if allowed else "refused"), (role_name, action, purpose, got)
            tried.append((action, allowed))
            if action == "listen" and allowed:
                _heard(browser)
                browser.save_screenshot(str(SHOTS / f"{portal.profile}-{role_name}-listen.png"))
        records = [r for r in audit(portal, since) if r["action"] in dict(tried)]
        assert [(r["action"], r["outcome"] == "granted") for r in records] == tried, (role_name, records)
        session = {json.loads(r["request"])["session"] for r in records}
        assert {r["actor"] for r in records} == {f"local:{name}"} and {r["role"] for r in records} == {role_name}
        assert len(session) == 1 and None not in session  # every record names the session
        # Governance pages: only the policy's governance roles (and authorisers for the queue).
        browser.get(f"{portal.url}/audit")
        governs = role_name in policy.access.governing()
        assert ("Verified:" in _text(browser)) == governs, (role_name, _text(browser)[:200])
        if governs:
            browser.save_screenshot(str(SHOTS / f"{portal.profile}-audit.png"))
            browser.get(f"{portal.url}/holds")  # legal holds, retention, and the consent review list
            assert "call-b" in _text(browser, "AWAITING REVIEW") and "AWAITING REVIEW" in _text(browser)
    browser.get(f"{portal.url}/calls")
    browser.save_screenshot(str(SHOTS / f"{portal.profile}-calls.png"))


def _heard(browser) -> None:
    """The player decoded the streamed recording: one second of audio, from memory."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        duration = browser.execute_script("return document.getElementById('player').duration")
        if duration and duration > 0.9:
            return
        time.sleep(0.2)
    raise AssertionError("the browser's player never loaded the recording")


def test_a_clinician_sees_only_their_own_calls_and_no_call_is_hinted_at(portal, browser):
    if portal.profile != "gp_practice":
        pytest.skip("clinicians are the GP practice's role")
    sign_in(browser, portal, "clinician-1")
    assert open_call(browser, portal, "call-a", "view_transcript", "clinician", "patient_care") == "transcript"
    assert open_call(browser, portal, "call-b", "view_transcript", "clinician", "patient_care") == "refused"
    other = _text(browser)
    assert open_call(browser, portal, "call-zz", "view_transcript", "clinician", "patient_care") == "refused"
    missing = _text(browser)
    strip = [line for line in other.splitlines() if "audit record" not in line]
    assert strip == [line for line in missing.splitlines() if "audit record" not in line]  # no hint
    outcomes = [r["outcome"] for r in audit(portal)[-2:]]
    assert outcomes == ["refused:not_own_call", "refused:no_such_call"]  # the trail knows which
    browser.save_screenshot(str(SHOTS / "gp-clinician-refused.png"))


# Per profile: who asks for a police release (holding a role that also authorises, so approving
# their own request is possible to try), with which role, and who else approves it, with which.
FOUR_EYES = {"ombudsman": ("sec-ir", "security_officer", "information-rights-1", "information_rights"),
             "gp_practice": ("practice-manager-1", "practice_manager", "practice-manager-2", "practice_manager")}


def test_four_eyes_a_police_release_needs_someone_else_s_approval(portal, browser):
    from selenium.webdriver.common.by import By

    asker, asking_role, approver, approving_role = FOUR_EYES[portal.profile]
    sign_in(browser, portal, asker)
    assert open_call(browser, portal, "call-a", "download_audio", asking_role, "police") == "refused"
    browser.find_element(By.ID, "ask").click()
    assert "waiting for an authoriser" in _text(browser, "waiting for an authoriser")
    browser.get(f"{portal.url}/approvals")
    [form] = browser.find_elements(By.CSS_SELECTOR, "form[id^=decide-]")
    request_id = form.get_attribute("id").split("-")[1]
    fill(browser, form.get_attribute("id"), role=approving_role, reason="approving my own police request")
    browser.find_element(By.ID, f"approve-{request_id}").click()
    assert "nobody may approve their own request" in _text(browser, "nobody may approve their own request")
    browser.save_screenshot(str(SHOTS / f"{portal.profile}-self-approval-refused.png"))
    # Another person with an authorising role approves; the release then goes through.
    sign_in(browser, portal, approver)
    browser.get(f"{portal.url}/approvals")
    fill(browser, f"decide-{request_id}", role=approving_role, reason="police disclosure form checked")
    browser.find_element(By.ID, f"approve-{request_id}").click()
    assert "Decision recorded" in _text(browser, "Decision recorded")
    sign_in(browser, portal, asker)
    assert open_call(browser, portal, "call-a", "listen", asking_role, "police") == "refused"  # not approved
    assert open_call(browser, portal, "call-a", "download_audio", asking_role, "police") == "downloaded"
    assert open_call(browser, portal, "call-a", "download_audio", asking_role, "police") == "refused"  # once
    trail = [(r["actor"], r["action"], r["outcome"].split(" ")[0]) for r in audit(portal)
             if r["action"] in ("ask_approval", "approve", "download_audio") and r["role"] != "none"][-6:]
    assert trail == [(f"local:{asker}", "download_audio", "refused:needs_approval"),
                     (f"local:{asker}", "ask_approval", "granted:request"),
                     (f"local:{asker}", "approve", "refused:self_approval"),
                     (f"local:{approver}", "approve", "granted:request"),
                     (f"local:{asker}", "download_audio", "granted"),
                     (f"local:{asker}", "download_audio", "refused:needs_approval")]


def test_a_forged_cross_site_post_is_refused(portal, browser, tmp_path):
    """A page on another origin (same site: another port on loopback, so the browser does send the
    cookie) that posts the open-a-call form: no CSRF token, so it is refused and audited."""
    attacker = tmp_path / "attack.html"
    name = next(iter(portal.people))
    role = portal.people[name][0]
    purpose = load_policy(portal.profile).access.roles[role].purposes[0]
    # Everything a granted request needs except the session's token: only CSRF protection stops it.
    attacker.write_text(f"""<html><body><form id="f" method="post" action="{portal.url}/call">
      <input name="call_id" value="call-a"><input name="action" value="view_transcript">
      <input name="role" value="{role}"><input name="purpose" value="{purpose}"><input name="reason" value="{REASON}">
      <input name="csrf" value="guessed"></form><script>document.getElementById('f').submit()</script></body></html>""")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sign_in(browser, portal, name)
    assert open_call(browser, portal, "call-a", "view_transcript", role, purpose) == "transcript"  # as itself
    since = last_seq(portal)
    try:
        browser.get(f"http://127.0.0.1:{server.server_address[1]}/attack.html")
        deadline = time.monotonic() + 10
        while "did not come from this portal" not in _text(browser) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        server.shutdown()
    assert "did not come from this portal" in _text(browser)
    assert not browser.find_elements("id", "transcript")
    browser.save_screenshot(str(SHOTS / f"{portal.profile}-forged-post.png"))
    assert [r["outcome"] for r in audit(portal, since)] == ["refused:csrf"]


def test_a_locked_out_account_stays_out_and_a_wrong_password_says_nothing_more(portal, browser):
    name = [n for n in portal.people][-1]
    since = last_seq(portal)
    for _ in range(5):
        text = sign_in(browser, portal, name, "not the password at all")
        assert "Sign-in failed" in text
    assert "Sign-in failed" in sign_in(browser, portal, name)  # the right password, while locked
    unknown = sign_in(browser, portal, "nobody-here", "not the password at all")
    assert "Sign-in failed" in unknown  # an unknown name reads exactly like a wrong password
    browser.save_screenshot(str(SHOTS / f"{portal.profile}-locked.png"))
    outcomes = [(r["actor"], r["outcome"]) for r in audit(portal, since)]
    assert outcomes == [(f"local:{name}", "refused:wrong")] * 4 + [(f"local:{name}", "refused:locked")] * 2 + [
        ("(unknown identity)", "refused:unknown")]
    # The administrator unlocks it from the data host.
    from assets.access import identities
    with _db(portal, read_only=False) as conn:
        identities.unlock(conn, name)
    assert "Sign out" in sign_in(browser, portal, name)


def test_without_a_session_nothing_personal_is_reached(portal, browser):
    browser.delete_all_cookies()
    browser.get(f"{portal.url}/calls")
    assert browser.current_url.endswith("/login")
    api = urllib.request.Request(f"{portal.url}/calls", headers={"Accept": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(api)
    assert refused.value.code == 401
    health = urllib.request.urlopen(f"{portal.url}/healthz")
    assert health.read() == b"ok"
    headers = health.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'none': no script at all
    # A tampered session cookie: the signature fails, the person is sent to sign in, and it is recorded.
    name = next(iter(portal.people))
    sign_in(browser, portal, name)
    cookie = browser.get_cookie("callcanon_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["secure"]
    since = last_seq(portal)
    browser.delete_all_cookies()
    browser.add_cookie({**{k: cookie[k] for k in ("name", "path")}, "value": cookie["value"][:-4] + "AAAA"})
    browser.get(f"{portal.url}/calls")
    assert browser.current_url.endswith("/login")
    assert "session has ended or was not valid" in _text(browser)
    assert [r["outcome"] for r in audit(portal, since)] == ["refused:session_invalid"]
    # Signed out, the old session is dead even if its cookie is replayed.
    sign_in(browser, portal, name)
    replay = browser.get_cookie("callcanon_session")
    from selenium.webdriver.common.by import By
    browser.find_element(By.ID, "sign-out").click()
    _text(browser, "Sign in")
    since = last_seq(portal)
    browser.add_cookie({k: replay[k] for k in ("name", "value", "path")})
    browser.get(f"{portal.url}/calls")
    assert browser.current_url.endswith("/login")
    assert [r["outcome"] for r in audit(portal, since)] == ["refused:session_unknown"]


def test_sign_in_through_the_organisation_s_identity_provider(portal, browser):
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    for subject, expected in (("someone-unknown", "not set up for this portal"), ("org-person-7", "Sign out")):
        browser.get(f"{portal.url}/login")
        browser.find_element(By.ID, "oidc-sign-in").click()
        deadline = time.monotonic() + 20
        while not browser.find_elements(By.NAME, "sub") and time.monotonic() < deadline:
            time.sleep(0.1)
        # The authorisation request as the provider received it: code flow with PKCE (S256) and a nonce.
        assert "code_challenge_method=S256" in browser.current_url and "nonce=" in browser.current_url
        browser.find_element(By.NAME, "sub").send_keys(subject)
        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        deadline = time.monotonic() + 20
        while expected not in _text(browser) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert expected in _text(browser), _text(browser)[:300]
    assert "oidc:org-person-7" in _text(browser)
    browser.save_screenshot(str(SHOTS / f"{portal.profile}-oidc-signed-in.png"))
    records = [(r["actor"], r["action"], r["outcome"]) for r in audit(portal) if r["action"] == "sign_in"][-2:]
    assert records == [("oidc:someone-unknown", "sign_in", "refused:unknown_identity"),
                       ("oidc:org-person-7", "sign_in", "granted:oidc")]


def test_a_rights_officer_finds_the_calls_and_downloads_the_subject_access_package(portal, browser):
    import zipfile

    from selenium.webdriver.common.by import By

    policy = load_policy(portal.profile)
    role = next(r for r, d in policy.access.roles.items() if {"search_calls", "export", "download_audio"} <= set(d.may)
                and "subject_access" in d.purposes)
    name = next(n for n, roles in portal.people.items() if roles == [role])
    sign_in(browser, portal, name)
    browser.get(f"{portal.url}/calls")
    fill(browser, "search", number="+44 7700 900123", role=role, purpose="subject_access",
         reason="subject access request received by post, identity checked")
    browser.find_element(By.ID, "search-submit").click()
    assert _text(browser, "Matching calls").count("call-") == 1
    assert [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#results li")] == ["call-a"]
    assert "900123" not in browser.current_url  # criteria travel in the form, never the address
    before = set(browser.downloads.iterdir())
    browser.find_element(By.ID, "sar-submit").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = [p for p in set(browser.downloads.iterdir()) - before if p.suffix == ".zip"]
        if done:
            break
        time.sleep(0.2)
    assert done, _text(browser)[:500]
    [package] = done
    with zipfile.ZipFile(package) as z:
        names = z.namelist()
        index = json.loads(z.read(next(n for n in names if n.endswith("index.json"))))
    package.unlink()
    assert [c["call_id"] for c in index["calls"]] == ["call-a"]
    assert any(n.endswith("call-a.wav") for n in names)
    with _db(portal) as conn:  # sent to the browser, recorded, and nothing left on the server
        sent = conn.execute("SELECT kind, path, removed_by FROM governance.releases ORDER BY release_id DESC LIMIT 3"
                            ).fetchall()
    assert {k for k, _, _ in sent} == {"subject_access_package", "export", "download_audio"}
    assert all("browser session" in p and r == "sent, not stored here" for _, p, r in sent), sent
    assert not list(Path(tempfile.gettempdir()).glob("callcanon-sar-*"))


def test_signing_out_from_a_refusal_page_ends_the_session_and_odd_tokens_are_plain_refusals(portal, browser):
    from selenium.webdriver.common.by import By

    name = next(iter(portal.people))
    sign_in(browser, portal, name)
    cookie = browser.get_cookie("callcanon_session")
    policy = load_policy(portal.profile)
    role = portal.people[name][0]
    purpose = policy.access.roles[role].purposes[0]
    # A token in another script, posted by hand with the session's cookie: refused, audited, no crash.
    body = urllib.parse.urlencode({"csrf": "é漢", "call_id": "call-a", "action": "view_transcript", "role": role,
                                   "purpose": purpose, "reason": REASON}).encode()
    forged = urllib.request.Request(f"{portal.url}/call", data=body, headers={
        "Cookie": f"callcanon_session={cookie['value']}", "Accept": "text/html",
        "Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged)
    assert refused.value.code == 403 and b"did not come from this portal" in refused.value.read()
    browser.get(f"{portal.url}/audit") if role not in policy.access.governing() else browser.get(
        f"{portal.url}/approvals")
    browser.find_element(By.ID, "sign-out").click()
    _text(browser, "Sign in")
    browser.add_cookie({"name": "callcanon_session", "value": cookie["value"], "path": "/"})
    browser.get(f"{portal.url}/calls")
    assert browser.current_url.endswith("/login")  # the session is over, whatever page it ended on
