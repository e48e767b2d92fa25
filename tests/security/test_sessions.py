"""OWASP ASVS 5.0 L2 chapter 7: sign-ins end server-side — on idle, at their absolute lifetime, on
sign-out, when the account is deactivated or restricted (roster sync or an administrator), and when
staff end a user's sign-ins."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.urls import reverse

from admin_config.models import AuditEvent
from enrollment_hub.security import AUTH_AT_KEY, SEEN_AT_KEY
from forms_catalog import services
from security import services as security_services
from security.models import UserSession

pytestmark = pytest.mark.django_db


def overview_url(cast, student=None):
    return reverse("parent_portal:overview", kwargs={"district": cast.district.slug,
                                                     "student_id": (student or cast.student).id})


def shift(client, key: str, seconds: int) -> str:
    """Move a stored timestamp of the client's sign-in `seconds` into the past; returns the session key."""
    session = client.session
    session[key] -= seconds
    session.save()
    return session.session_key


def signed_in(client) -> bool:
    return client.get("/healthz").wsgi_request.user.is_authenticated


def test_a_signed_in_guardian_sees_their_portal(client, cast):
    client.force_login(cast.guardian.user)
    assert client.get(overview_url(cast)).status_code == 200
    assert UserSession.objects.filter(user=cast.guardian.user).count() == 1


@override_settings(SESSION_IDLE_TIMEOUT=600)
def test_idle_sign_in_ends_server_side_and_the_portal_asks_to_sign_in_again(client, cast):
    client.force_login(cast.guardian.user)
    key = shift(client, SEEN_AT_KEY, 601)
    response = client.get(overview_url(cast))
    assert response.status_code == 302
    assert reverse("sso:login", kwargs={"district": "springfield"}) in response["Location"]
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()
    event = AuditEvent.objects.get(action="auth.sign_out")
    assert event.details["reason"] == "idle_timeout"
    assert event.district == cast.district


@override_settings(SESSION_IDLE_TIMEOUT=600)
def test_activity_keeps_the_sign_in_alive(client, cast):
    client.force_login(cast.guardian.user)
    shift(client, SEEN_AT_KEY, 590)
    assert client.get(overview_url(cast)).status_code == 200  # activity recorded (more than a minute old)
    shift(client, SEEN_AT_KEY, 590)  # 590 s after that activity: still within the idle timeout
    assert client.get(overview_url(cast)).status_code == 200


@override_settings(SESSION_IDLE_TIMEOUT=600, SESSION_ABSOLUTE_LIFETIME=3600)
def test_absolute_lifetime_ends_an_active_sign_in(client, cast):
    client.force_login(cast.guardian.user)
    key = shift(client, AUTH_AT_KEY, 3601)
    assert client.get(overview_url(cast)).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.get(action="auth.sign_out").details["reason"] == "absolute_lifetime"


def test_a_guardian_deactivated_by_an_administrator_is_signed_out_at_the_next_request(client, cast):
    client.force_login(cast.guardian.user)
    assert client.get(overview_url(cast)).status_code == 200
    services.guardian_upsert(district=cast.district, global_id=cast.guardian.global_id, active=False)
    key = client.session.session_key
    assert client.get(overview_url(cast)).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert AuditEvent.objects.get(action="auth.sign_out").details["reason"] == "guardian_inactive"
    # The co-guardian of the same student is not affected.
    other = client_for(cast.co_guardian.user)
    assert other.get(overview_url(cast)).status_code == 200


def client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_a_deactivated_user_account_is_signed_out(client, cast):
    client.force_login(cast.guardian.user)
    get_user_model().objects.filter(pk=cast.guardian.user.pk).update(is_active=False)
    assert not signed_in(client)


def test_a_restriction_set_by_an_administrator_takes_effect_at_the_next_request(client, cast):
    """R8: the co-guardian keeps their sign-in but the student's forms disappear at once."""
    from tests.factories import FormFactory

    FormFactory(district=cast.district, key="health", name="Health Survey")
    client.force_login(cast.co_guardian.user)
    assert b"Health Survey" in client.get(overview_url(cast)).content
    services.guardian_link_set(guardian=cast.co_guardian, student=cast.student, restricted=True)
    page = client.get(overview_url(cast))
    assert page.status_code == 200
    assert b"Health Survey" not in page.content
    assert b"data-restricted" in page.content
    forms = client.get(reverse("parent_portal:forms", kwargs={"district": "springfield",
                                                               "student_id": cast.student.id}))
    assert b"Health Survey" not in forms.content


def test_roster_sync_deactivation_and_restriction_end_access_at_the_next_request(tmp_path, db):
    """The SIS roster drops one guardian and restricts another: both lose access at their next request."""
    from roster.services import roster_settings_update
    from tests.factories import FormFactory
    from tests.roster.helpers import ROSTERS, copy_roster, edit, run

    district, _ = services.district_upsert(slug="riverside", name="Riverside Unified")
    FormFactory(district=district, key="registration", name="Registration Packet", type="public")
    roster_settings_update(district=district, global_id_field="email", student_id_field="identifier")
    run(district, ROSTERS / "first")
    from forms_catalog.models import Guardian, Student

    lee = Guardian.objects.get(district=district, global_id="lee@example.org")
    kim = Guardian.objects.get(district=district, global_id="kim@example.org")
    cara = Student.objects.get(district=district, sis_id="5003")
    url = reverse("parent_portal:overview", kwargs={"district": "riverside", "student_id": cara.id})
    lee_client, kim_client = client_for(lee.user), client_for(kim.user)
    assert b"Registration Packet" in lee_client.get(url).content
    assert b"Registration Packet" in kim_client.get(url).content

    folder = copy_roster("first", tmp_path)
    edit(folder / "users.csv", "p-lee,,,true", "p-lee,,,false")
    edit(folder / "users.csv", "min.kim,,Min,Kim,,,kim@example.org,,,s-cara,,,,,,,,,,",
         "min.kim,,Min,Kim,,,kim@example.org,,,s-cara,,,,,,,,,,s-cara")
    run(district, folder, force=True)

    lee_key = lee_client.session.session_key
    response = lee_client.get(url)
    assert response.status_code == 302  # signed out, asked to sign in again
    assert not Session.objects.filter(session_key=lee_key).exists()
    kim_page = kim_client.get(url)
    assert b"Registration Packet" not in kim_page.content


def test_staff_can_end_every_sign_in_of_a_user(cast):
    browsers = [client_for(cast.guardian.user), client_for(cast.guardian.user)]
    bystander = client_for(cast.co_guardian.user)
    assert all(signed_in(c) for c in browsers)
    staff = get_user_model().objects.create_user("support", password="x" * 16, is_staff=True)
    assert security_services.user_sessions_end(user=cast.guardian.user, actor=staff) == 2
    assert not any(signed_in(c) for c in browsers)
    assert signed_in(bystander)
    assert not UserSession.objects.filter(user=cast.guardian.user).exists()
    event = AuditEvent.objects.get(action="auth.sessions_ended")
    assert event.actor == staff
    assert event.details == {"count": 2}
    assert event.object_id == str(cast.guardian.user.pk)


def test_django_admin_action_ends_the_selected_users_sign_ins(admin_client, cast):
    browser = client_for(cast.guardian.user)
    assert signed_in(browser)
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "end_user_sessions", "_selected_action": [cast.guardian.user.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Ended 1 sign-in(s) of 1 user(s)." in response.content
    assert not signed_in(browser)


def test_ending_sign_ins_costs_the_same_queries_for_two_or_ten(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost(n):
        for _ in range(n):
            client_for(cast.guardian.user)
        with CaptureQueriesContext(connection) as ctx:
            assert security_services.user_sessions_end(user=cast.guardian.user) == n
        return len(ctx)

    assert cost(2) == cost(10)


def test_old_index_rows_are_pruned_at_the_next_sign_in(cast, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.SESSION_ABSOLUTE_LIFETIME = 3600
    UserSession.objects.create(user=cast.guardian.user, session_key="x" * 32,
                               created_at=timezone.now() - timedelta(hours=2))
    client_for(cast.guardian.user)
    assert list(UserSession.objects.filter(user=cast.guardian.user).values_list("session_key", flat=True)) != [
        "x" * 32]
    assert not UserSession.objects.filter(session_key="x" * 32).exists()
