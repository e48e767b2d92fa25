"""Shared fixtures: a cast per district, and a real headless Chromium for browser tests.

Browser tests use pytest-django's `live_server` (a real HTTP server on loopback) and sign a user
in by handing the browser a real session cookie (`signed_in_page`). Failing browser tests save a
screenshot to `test-artifacts/`.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from forms_catalog import services
from forms_catalog.models import District, Guardian, Student

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by tests around it
# are ordinary synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class Cast:
    district: District
    student: Student  # shared by `guardian` and `co_guardian`; `restricted_guardian` is restricted
    sibling: Student  # linked to `guardian` only
    guardian: Guardian
    co_guardian: Guardian
    restricted_guardian: Guardian
    other_district: District
    stranger: Guardian  # a guardian of another district
    stranger_student: Student


def make_cast() -> Cast:
    district, _ = services.district_upsert(slug="springfield", name="Springfield Unified", has_express=True)
    other, _ = services.district_upsert(slug="shelbyville", name="Shelbyville Schools")
    student, _ = services.student_upsert(district=district, sis_id="1001", first_name="Ana", last_name="Diaz",
                                         grade="3")
    sibling, _ = services.student_upsert(district=district, sis_id="1002", first_name="Luis", last_name="Diaz",
                                         grade="7")
    guardian, _ = services.guardian_upsert(district=district, global_id="maria@example.org",
                                           email="maria@example.org", first_name="Maria", last_name="Diaz")
    co, _ = services.guardian_upsert(district=district, global_id="jose@example.org",
                                     email="jose@example.org", first_name="Jose", last_name="Diaz")
    restricted, _ = services.guardian_upsert(district=district, global_id="carlos@example.org",
                                             email="carlos@example.org", first_name="Carlos", last_name="Diaz")
    services.guardian_link_set(guardian=guardian, student=student)
    services.guardian_link_set(guardian=guardian, student=sibling)
    services.guardian_link_set(guardian=co, student=student)
    services.guardian_link_set(guardian=restricted, student=student, restricted=True)
    stranger_student, _ = services.student_upsert(district=other, sis_id="1001", first_name="Bart",
                                                  last_name="Smith", grade="4")
    stranger, _ = services.guardian_upsert(district=other, global_id="maria@example.org",
                                           email="maria@example.org", first_name="Marge", last_name="Smith")
    services.guardian_link_set(guardian=stranger, student=stranger_student)
    return Cast(district, student, sibling, guardian, co, restricted, other, stranger, stranger_student)


# A Fernet key for these tests only: pytest-django runs with DEBUG=False, where secrets at rest
# (SSO and roster client secrets) need configured keys.
TEST_FERNET_KEY = "dGVzdC1rZXktZm9yLWVucm9sbG1lbnQtaHViLXRlc3Q="


@pytest.fixture(autouse=True)
def _test_keys_and_fast_hashing(settings):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FERNET_KEY]
    # Staff sign in with passwords in many tests; slow hashing only costs time here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    return make_cast()


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash.setdefault("reports", {})["call"] = report


def axe_run(page) -> tuple[list[dict], int]:
    """axe-core's violations on the page (id, impact, offending nodes) and how many rules passed.

    axe is injected as an inline script: use a context with `bypass_csp=True`.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    violations = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
    ]
    return violations, len(result["passes"])


def track_requests(context) -> None:
    """Count the context's requests in flight, for `close_context`."""
    pending = set()
    context.on("request", lambda r: pending.add(r))
    context.on("requestfinished", lambda r: pending.discard(r))
    context.on("requestfailed", lambda r: pending.discard(r))
    context._eh_pending = pending


def close_context(context, settle_seconds: float = 3.0) -> None:
    """Close a browser context once the server has answered everything its pages sent.

    Leaving a page fires page-hide beacons (the form tab releases its lock); if the test's database
    flush ran while the live server was still writing, PostgreSQL could deadlock the two.
    """
    pages = list(context.pages)
    for p in pages:
        with contextlib.suppress(Exception):
            p.goto("about:blank")
    pending = getattr(context, "_eh_pending", set())
    deadline = time.monotonic() + settle_seconds
    while pending and pages and time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            pages[0].wait_for_timeout(50)
    context.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; on failure its screenshot goes to test-artifacts/."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    track_requests(context)
    pg = context.new_page()
    yield pg
    report = request.node.stash.get("reports", {}).get("call")
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for i, p in enumerate(context.pages):
            with contextlib.suppress(Exception):  # a screenshot must not hide the real failure
                p.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"), full_page=True)
    close_context(context)


def login_cookie(context, live_server_url: str, user) -> None:
    """Sign `user` in by creating a real server-side session and giving its cookie to the browser."""
    from importlib import import_module

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key,
                          "url": live_server_url}])


@pytest.fixture
def signed_in_page(page, live_server):
    """`signed_in_page(user)` returns the page with `user` signed in on the live server."""

    def sign_in(user):
        login_cookie(page.context, live_server.url, user)
        return page

    return sign_in
