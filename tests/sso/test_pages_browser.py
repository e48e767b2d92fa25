"""The sign-in pages parents can land on pass axe-core, at desktop and phone widths, and load under the
site's Content-Security-Policy without violations (no inline script or style)."""

from __future__ import annotations

import pytest

from tests.conftest import axe_run, close_context, make_cast, track_requests

from .conftest import configure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]



def axe_violations(page) -> list[dict]:
    violations, passes = axe_run(page)
    assert passes > 5  # axe really ran
    return violations


def test_sign_in_pages_are_accessible(browser, live_server, provider):
    cast = make_cast()
    configure(cast.district, provider)
    provider.account = {"sub": "nobody", "email": "nobody@example.org"}
    pages = {
        "not-available": "/sso/nowhere/login/",
        "expired-state": "/sso/callback/?code=x&state=y",
        "logout-confirm": "/sso/springfield/logout/",
        "signed-out": "/sso/springfield/signed-out/",
        "no-account": "/sso/springfield/login/",  # through the provider, back with an unknown identity
    }
    failures = {}
    for viewport in ({"width": 1280, "height": 900}, {"width": 360, "height": 740}):
        context = browser.new_context(ignore_https_errors=True, bypass_csp=True, viewport=viewport)
        track_requests(context)
        page = context.new_page()
        for name, path in pages.items():
            page.goto(live_server.url + path)
            assert page.locator("h1").count() == 1, name
            if name == "no-account":
                assert "We could not find your account in Springfield Unified" in page.locator("h1").inner_text()
            violations = axe_violations(page)
            if violations:
                failures[f"{name}@{viewport['width']}"] = violations
        close_context(context)
    assert failures == {}


def test_sign_in_pages_break_no_content_security_rule(browser, live_server):
    make_cast()
    context = browser.new_context()
    track_requests(context)
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    for path in ("/sso/nowhere/login/", "/sso/springfield/logout/", "/sso/springfield/signed-out/",
                 "/sso/callback/"):
        page.goto(live_server.url + path)
        html = page.content()
        assert "<script>" not in html and "style=" not in html and "<style" not in html, path
    assert problems == []
    close_context(context)
