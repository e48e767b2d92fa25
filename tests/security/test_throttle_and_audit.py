"""Throttled sign-in (staff password sign-in at both doors, parent SSO start and callback) with a clear
429 page, counted in the shared cache; and the audit trail of security events, read by the district's
Configuration role."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse

from admin_config.models import AuditEvent
from admin_config.services import staff_membership_set

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff(cast):
    User = get_user_model()
    config = User.objects.create_user("config-admin", password=PASSWORD)
    staff_membership_set(user=config, district=cast.district, configuration=True)
    reviewer = User.objects.create_user("reviewer", password=PASSWORD)
    staff_membership_set(user=reviewer, district=cast.district, submission_workspace=True)
    outsider = User.objects.create_user("outsider", password=PASSWORD)
    staff_membership_set(user=outsider, district=cast.other_district, configuration=True)
    return {"config": config, "reviewer": reviewer, "outsider": outsider}


def console_login(client, username, password, ip="198.51.100.7"):
    return client.post(reverse("admin_config:login"), {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def admin_login(client, username, password, ip="198.51.100.7"):
    return client.post(reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=ip)


def test_staff_console_sign_in_and_sign_out_are_audited_once_and_sign_out_ends_the_session(client, staff):
    assert console_login(client, "config-admin", PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(action="auth.sign_in").count() == 1
    key = client.session.session_key
    assert Session.objects.filter(session_key=key).exists()
    client.post(reverse("admin_config:logout"))
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.filter(action="auth.sign_out").count() == 1


def test_staff_sign_in_failures_are_throttled_per_account_with_a_clear_page(client, staff):
    answers = [console_login(client, "config-admin", "wrong password").status_code for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks the account
    refused = console_login(client, "config-admin", PASSWORD)  # even the right password, for now
    assert refused.status_code == 429
    assert b"Too many sign-in attempts" in refused.content
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # The address is locked too; another account from another address is not.
    assert console_login(Client(), "reviewer", PASSWORD).status_code == 429
    assert console_login(Client(), "reviewer", PASSWORD, ip="203.0.113.77").status_code == 302
    # Django admin (support staff's door) shares the same lock for that account.
    assert admin_login(Client(), "config-admin", PASSWORD, ip="203.0.113.9").status_code == 429
    failures = AuditEvent.objects.filter(action="auth.sign_in_failed", actor_label="config-admin")
    assert failures.count() == 5
    assert AuditEvent.objects.filter(action="auth.sign_in_refused").exists()


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_staff_sign_in_failures_are_throttled_per_client_address(staff):
    answers = [admin_login(Client(), name, "nope").status_code for name in ("a", "b", "c")]
    assert answers == [200, 200, 429]
    assert admin_login(Client(), "config-admin", PASSWORD).status_code == 429
    assert admin_login(Client(), "config-admin", PASSWORD, ip="203.0.113.50").status_code == 200  # not staff
    reasons = sorted(e.details["reason"] for e in AuditEvent.objects.filter(action="auth.sign_in_failed"))
    assert reasons == ["unknown_account"] * 3


def test_the_lock_is_in_the_shared_cache_not_in_one_process(client, staff):
    """A second app server sees the same counters: they are cache keys, not process memory."""
    from django.core.cache import cache

    from admin_config import throttle as staff_throttle

    for _ in range(3):
        console_login(client, "config-admin", "wrong password")
    assert cache.get(staff_throttle._user_key("config-admin")) == 3
    cache.clear()  # what another server would see with an empty shared cache: no lock
    assert console_login(client, "config-admin", PASSWORD).status_code == 302


@override_settings(THROTTLE_RULES={"sso_start_ip": (3, 60)})
def test_parent_sso_start_is_throttled_per_client_address(cast):
    url = reverse("sso:login", kwargs={"district": "springfield"})
    answers = [Client().get(url, REMOTE_ADDR="192.0.2.10").status_code for _ in range(4)]
    assert answers[:3] == [404, 404, 404]  # no provider configured: the friendly "not available" page
    assert answers[3] == 429
    assert Client().get(url, REMOTE_ADDR="192.0.2.11").status_code == 404


@override_settings(THROTTLE_RULES={"sso_callback_account": (2, 60)})
def test_parent_sso_callback_is_throttled_per_district(cast):
    """The callback's "account" is the district bound to the state; unknown states count per address."""
    from django.contrib.sessions.backends.db import SessionStore

    statuses = []
    for i in range(3):
        c = Client()
        session = SessionStore()
        session["oidc_states"] = {f"s{i}": {"district": "springfield", "nonce": "n", "code_verifier": "v"}}
        session.save()
        c.cookies["sessionid"] = session.session_key
        statuses.append(c.get(reverse("sso:callback"), {"state": f"s{i}", "code": "x"},
                              REMOTE_ADDR=f"192.0.2.{20 + i}").status_code)
    assert statuses[2] == 429
    assert 429 not in statuses[:2]


def test_a_failed_parent_sign_in_is_audited_with_its_reason(client, cast):
    response = client.get(reverse("sso:callback"), {"state": "never-issued", "code": "x"})
    assert response.status_code == 400
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.details["method"] == "sso"
    assert event.details["step"] == "callback"
    assert event.details["reason"]


def test_parent_sign_out_ends_the_session_server_side_and_is_audited(client, cast):
    client.force_login(cast.guardian.user)
    key = client.session.session_key
    response = client.post(reverse("sso:logout", kwargs={"district": "springfield"}))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    event = AuditEvent.objects.get(action="auth.sign_out")
    assert event.district == cast.district
    assert event.details["reason"] == "signed_out"
    sign_in = AuditEvent.objects.get(action="auth.sign_in")
    assert sign_in.object_id == str(cast.guardian.user.pk)


def test_security_events_are_read_by_the_configuration_role_only(cast, staff):
    Client().get(reverse("sso:callback"), {"state": "forged"})  # a failed parent sign-in in no district
    admin_login(Client(), "config-admin", "wrong password")  # a failed staff sign-in, district known
    staff_membership_set(user=staff["reviewer"], district=cast.district, submission_workspace=True,
                         configuration=False, by=staff["config"])  # unchanged: no event
    staff_membership_set(user=staff["reviewer"], district=cast.district, submission_workspace=True,
                         configuration=True, by=staff["config"])  # a role change
    staff_membership_set(user=staff["reviewer"], district=cast.district, submission_workspace=True,
                         configuration=False, by=staff["config"])
    url = reverse("admin_config:audit_log", kwargs={"district": "springfield"})
    reader = Client()
    reader.force_login(staff["config"])
    page = reader.get(url)
    assert page.status_code == 200
    for action in (b"auth.sign_in_failed", b"staff.roles_changed", b"auth.sign_in"):
        assert action in page.content
    reviewer = Client()
    reviewer.force_login(staff["reviewer"])
    assert reviewer.get(url).status_code == 403
    outsider = Client()
    outsider.force_login(staff["outsider"])
    assert outsider.get(url).status_code == 404
    parent = Client()
    parent.force_login(cast.guardian.user)
    assert parent.get(url).status_code in (302, 404)


def test_django_admin_sign_in_and_its_failure_reasons_are_audited(staff):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root-support", password=PASSWORD)
    admin_login(Client(), "root-support", "wrong password")
    admin_login(Client(), "nobody-here", "wrong password")
    assert admin_login(Client(), "root-support", PASSWORD, ip="203.0.113.20").status_code == 302
    reasons = {e.actor_label: e.details["reason"] for e in AuditEvent.objects.filter(action="auth.sign_in_failed")}
    assert reasons == {"root-support": "invalid_credentials", "nobody-here": "unknown_account"}
    success = AuditEvent.objects.get(action="auth.sign_in")
    assert success.actor.username == "root-support"
    assert success.details == {"method": "password"}
    assert success.ip == "203.0.113.20"
