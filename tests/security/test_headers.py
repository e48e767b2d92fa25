"""Response headers: a Content-Security-Policy without inline script or style, HSTS, cookie flags,
Referrer-Policy, nosniff, framing refused — and templates that keep to that policy."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from enrollment_hub.security import content_security_policy, sso_form_action_origins
from sso.models import SSOConfiguration

ROOT = Path(settings.BASE_DIR)


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.django_db
def test_every_response_carries_the_policy_headers(client):
    response = client.get("/healthz")
    csp = directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True,
                   SECURE_SSL_REDIRECT=True)
def test_https_answers_carry_hsts_and_plain_http_is_redirected(client):
    response = client.get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    plain = client.get("/healthz")
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")


@pytest.mark.django_db
@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True)
def test_session_and_csrf_cookies_are_secure_httponly_and_lax(client, cast):
    from enrollment_hub.security import SEEN_AT_KEY

    client.force_login(cast.guardian.user)
    session = client.session
    session[SEEN_AT_KEY] -= 120  # the next request records activity, so the answer sets the cookie
    session.save()
    response = client.get("/healthz", secure=True)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert response.status_code == 200
    assert settings.CSRF_COOKIE_HTTPONLY is True


def test_production_defaults_are_strict():
    """What `check --deploy` cannot see: the values the settings module picks when DEBUG=False."""
    import subprocess
    import sys

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='enrollment_hub.settings'; django.setup();"
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
        " s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_HTTPONLY, s.DEBUG)"
    )
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "False", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "enroll.example.org",
           "FIELD_ENCRYPTION_KEYS": "Yq3kqg7l2bYbq9y2xH8w2mZ1sQk0m1lQm2n3o4p5q6s=",
           "DATABASE_URL": "sqlite:////tmp/eh-security-defaults.sqlite3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True", "True", "31536000", "True", "True", "True", "False"]


@pytest.mark.django_db
def test_form_action_allows_the_districts_identity_provider_on_its_pages(client, cast):
    """Sign-in and sign-out forms POST to the portal, which redirects to the provider: browsers check
    that redirect against form-action, so the district's provider origins are allowed there only."""
    from django.core.cache import cache

    cache.clear()
    SSOConfiguration.objects.create(
        district=cast.district, enabled=True, issuer="https://idp.springfield.example",
        client_id="portal", discovery={"authorization_endpoint": "https://login.idp-cdn.example/authorize",
                                       "end_session_endpoint": "https://idp.springfield.example/logout"},
    )
    assert sso_form_action_origins("springfield") == [
        "https://idp.springfield.example", "https://login.idp-cdn.example",
    ]
    assert sso_form_action_origins("shelbyville") == []
    client.force_login(cast.guardian.user)
    page = client.get(f"/d/springfield/students/{cast.student.id}/")
    assert page.status_code == 200
    form_action = directives(page["Content-Security-Policy"])["form-action"]
    assert form_action == ["'self'", "https://idp.springfield.example", "https://login.idp-cdn.example"]
    other = client.get("/healthz")
    assert directives(other["Content-Security-Policy"])["form-action"] == ["'self'"]
    # A new provider takes effect at once (the cached origins are dropped when the configuration is saved).
    config = SSOConfiguration.objects.get(district=cast.district)
    config.issuer = "https://new-idp.springfield.example"
    config.discovery = {}
    config.save()
    page = client.get(f"/d/springfield/students/{cast.student.id}/")
    assert directives(page["Content-Security-Policy"])["form-action"] == ["'self'",
                                                                         "https://new-idp.springfield.example"]


def test_policy_builder_never_duplicates_origins():
    csp = content_security_policy(["https://a.example", "https://a.example", "'self'"])
    assert directives(csp)["form-action"] == ["'self'", "https://a.example"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_BLOCK = re.compile(r"<style[\s>]", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JS_URL = re.compile(r"""href\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def project_templates():
    for folder in [ROOT / "templates", *ROOT.glob("*/templates")]:
        if ".venv" in folder.parts or "node_modules" in folder.parts:
            continue
        yield from folder.rglob("*.html")


def test_no_template_needs_inline_script_or_style():
    """The policy forbids inline script and style; a template that uses either would break in the browser."""
    offences = []
    for template in project_templates():
        text = template.read_text(encoding="utf-8")
        for name, pattern in (("inline <script>", INLINE_SCRIPT), ("style=\"\"", STYLE_ATTR),
                              ("<style> block", STYLE_BLOCK), ("on*= handler", EVENT_HANDLER),
                              ("javascript: URL", JS_URL)):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                offences.append(f"{template.relative_to(ROOT)}:{line}: {name}")
    assert offences == []
