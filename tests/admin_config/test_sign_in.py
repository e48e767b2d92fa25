"""Staff sign-in: Django's login with throttled failures (per username and per client IP), password
validation on change, sign-out, and the audit trail of each."""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin_config.models import AuditEvent

from .conftest import PASSWORD


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW = 600


LOGIN = reverse("admin_config:login")


def attempt(client, username, password, ip="10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_goes_to_the_staff_members_district(client, staff):
    response = attempt(client, "cfg", PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("admin_config:home")
    home = client.get(reverse("admin_config:home"))
    assert home["Location"] == reverse("admin_config:dashboard", kwargs={"district": staff.district.slug})
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.actor, event.district, event.ip) == (staff.config_admin, staff.district, "10.0.0.1")


def test_anonymous_console_url_redirects_to_sign_in_and_back(client, staff):
    target = reverse("admin_config:config_sso", kwargs={"district": staff.district.slug})
    response = client.get(target)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    signed_in = client.post(response["Location"], {"username": "cfg", "password": PASSWORD, "next": target})
    assert signed_in["Location"] == target


def test_wrong_password_says_so_and_is_audited(client, staff):
    response = attempt(client, "cfg", "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.actor_label == "cfg" and event.ip == "10.0.0.1"
    assert "wrong-password" not in str(event.details)


def test_failures_per_username_lock_the_account_from_any_address(client, staff):
    for i in range(3):
        attempt(client, "cfg", "nope", ip=f"10.0.1.{i}")
    # Even the right password from a fresh address is refused until the window ends.
    response = attempt(client, "cfg", PASSWORD, ip="10.0.9.9")
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert 590 <= int(response["Retry-After"]) <= 600  # the 10-minute window began at the first failure
    assert "try again in about 10 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sign_in_refused", actor_label="cfg").exists()
    # Another account is not locked.
    assert attempt(client, "ws", PASSWORD, ip="10.0.9.9").status_code == 302


def test_failures_per_address_lock_that_address_for_every_username(client, staff):
    for name in ("a", "b", "c"):
        attempt(client, name, "nope", ip="10.0.2.2")
    assert attempt(client, "ws", PASSWORD, ip="10.0.2.2").status_code == 429
    assert attempt(client, "ws", PASSWORD, ip="10.0.2.3").status_code == 302


def test_the_third_failure_already_shows_the_refusal(client, staff):
    assert attempt(client, "cfg", "x").status_code == 200
    assert attempt(client, "cfg", "x").status_code == 200
    assert attempt(client, "cfg", "x").status_code == 429


def test_success_clears_the_username_counter(client, staff):
    attempt(client, "cfg", "x", ip="10.0.3.1")
    attempt(client, "cfg", "x", ip="10.0.3.2")
    assert attempt(client, "cfg", PASSWORD, ip="10.0.3.3").status_code == 302
    client.logout()
    attempt(client, "cfg", "x", ip="10.0.3.4")
    attempt(client, "cfg", "x", ip="10.0.3.5")
    assert attempt(client, "cfg", PASSWORD, ip="10.0.3.6").status_code == 302


def test_the_window_ends_the_lock(client, staff):
    from django.core.cache import cache

    for _ in range(3):
        attempt(client, "cfg", "x")
    assert attempt(client, "cfg", PASSWORD).status_code == 429
    cache.clear()  # what the window's expiry does
    assert attempt(client, "cfg", PASSWORD).status_code == 302


def test_sign_out_is_a_post_and_is_audited(client, staff):
    client.force_login(staff.config_admin)
    response = client.post(reverse("admin_config:logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sign_out", actor=staff.config_admin).exists()


@pytest.mark.parametrize("new, message", [
    ("short1!", "This password is too short. It must contain at least 12 characters."),
    ("password1234", "This password is too common."),
    ("849302175612", "This password is entirely numeric."),
])
def test_password_change_applies_the_validators(client, staff, new, message):
    client.force_login(staff.config_admin)
    response = client.post(reverse("admin_config:password_change"),
                           {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    staff.config_admin.refresh_from_db()
    assert staff.config_admin.check_password(PASSWORD)


def test_password_change_succeeds_and_is_audited(client, staff):
    client.force_login(staff.config_admin)
    new = "A-much-better-passphrase-7"
    response = client.post(reverse("admin_config:password_change"),
                           {"old_password": PASSWORD, "new_password1": new, "new_password2": new})
    assert response.status_code == 302
    staff.config_admin.refresh_from_db()
    assert staff.config_admin.check_password(new)
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert new not in str(event.details) + str(event.changes)


def test_password_page_needs_sign_in(client, staff):
    response = client.get(reverse("admin_config:password_change"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
