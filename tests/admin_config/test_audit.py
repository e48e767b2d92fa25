"""The audit log: the `audit_record` API, redaction of secrets, the console page (Configuration role),
and role changes made by support staff in Django admin."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from admin_config import services
from admin_config.models import AuditEvent, StaffMembership

from .conftest import enrollment_form, submitted


def test_audit_record_fills_object_and_redacts_secrets(staff):
    event = services.audit_record(
        action="configuration.test", actor=staff.config_admin, district=staff.district, obj=staff.district,
        changes={"client_secret": {"old": "", "new": "s3cret"}, "issuer": {"old": "a", "new": "b"}},
        details={"password": "hunter2", "nested": {"api_token": "tok"}, "count": Decimal("2.50")},
        ip="192.0.2.7",
    )
    event.refresh_from_db()
    assert (event.object_type, event.object_id, event.object_label) == (
        "forms_catalog.district", str(staff.district.pk), "Springfield Unified")
    assert event.changes == {"client_secret": {"old": "", "new": "[redacted]"}, "issuer": {"old": "a", "new": "b"}}
    assert event.details == {"password": "[redacted]", "nested": {"api_token": "[redacted]"}, "count": "2.50"}
    assert event.actor_label == "cfg" and event.ip == "192.0.2.7"
    assert "s3cret" not in str(event.changes) and "hunter2" not in str(event.details)


def test_event_survives_the_actor_account(staff):
    event = services.audit_record(action="auth.sign_in", actor=staff.no_role, district=staff.district)
    staff.no_role.delete()
    event.refresh_from_db()
    assert event.actor is None and event.actor_label == "norole"


def test_security_event_without_district_or_actor(db):
    event = services.audit_record(action="auth.sign_in_failed", actor_label="mallory", ip="2001:db8::1")
    assert event.district is None and event.actor is None and event.actor_label == "mallory"


@pytest.fixture
def cfg(client, staff):
    client.force_login(staff.config_admin)
    return client


def page_actions(response) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)">', response.content.decode())


def test_console_log_shows_only_this_districts_events_newest_first(cfg, staff):
    services.audit_record(action="configuration.first", district=staff.district, actor=staff.config_admin)
    services.audit_record(action="configuration.second", district=staff.district, actor=staff.config_admin)
    services.audit_record(action="configuration.foreign", district=staff.cast.other_district)
    response = cfg.get(reverse("admin_config:audit_log", kwargs={"district": staff.district.slug}))
    actions = page_actions(response)
    assert actions.index("configuration.second") < actions.index("configuration.first")
    assert "configuration.foreign" not in actions


def test_console_log_filters_and_pages(cfg, staff, settings):
    settings.CONSOLE_PAGE_SIZE = 3
    form = enrollment_form(staff.district, "reg")
    from forms_catalog import workspace

    for i in range(4):
        sub = submitted(make_student(staff, i), form)
        workspace.submission_import(submission=sub, user=staff.workspace_admin)
    services.audit_record(action="configuration.other", district=staff.district, actor=staff.config_admin)
    url = reverse("admin_config:audit_log", kwargs={"district": staff.district.slug})
    filtered = cfg.get(url, {"action": "workspace.import"})
    assert page_actions(filtered) == ["workspace.import"] * 3
    nxt = re.search(r'href="\?([^"]+)" rel="next"', filtered.content.decode()).group(1).replace("&amp;", "&")
    assert page_actions(cfg.get(f"{url}?{nxt}")) == ["workspace.import"]
    assert page_actions(cfg.get(url, {"actor": "ws"})) == ["workspace.import"] * 3
    assert page_actions(cfg.get(url, {"action": "configuration."})) == ["configuration.other"]  # a group
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert page_actions(cfg.get(url, {"since": tomorrow})) == []


def make_student(staff, i):
    from forms_catalog import services as catalog

    return catalog.student_upsert(district=staff.district, sis_id=f"77{i}", first_name="K", last_name=str(i))[0]


def test_console_log_query_count_is_fixed(cfg, staff, django_assert_num_queries):
    for i in range(20):
        services.audit_record(action=f"configuration.e{i % 3}", district=staff.district, actor=staff.config_admin)
    url = reverse("admin_config:audit_log", kwargs={"district": staff.district.slug})
    cfg.get(url)
    dashboard = reverse("admin_config:dashboard", kwargs={"district": staff.district.slug})
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cfg.get(dashboard)
    with CaptureQueriesContext(connection) as base:
        cfg.get(dashboard)
    # The page itself: 1 the page of events.
    with django_assert_num_queries(len(base) + 1):
        cfg.get(url)


# --- Django admin (support staff) ------------------------------------------------------------


@pytest.fixture
def support_client(client, staff):
    client.force_login(staff.support)
    return client


def test_role_change_in_django_admin_goes_through_the_service_and_is_audited(support_client, staff):
    membership = StaffMembership.objects.get(user=staff.no_role)
    url = reverse("admin:admin_config_staffmembership_change", args=[membership.pk])
    response = support_client.post(url, {"district": staff.district.pk, "configuration": "on",
                                         "submission_workspace": "", "active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    membership.refresh_from_db()
    assert membership.configuration and not membership.submission_workspace
    event = AuditEvent.objects.get(action="staff.roles_changed")
    assert event.actor == staff.support and event.district == staff.district
    assert event.changes == {"configuration": {"old": False, "new": True}}


def test_new_membership_in_django_admin_is_audited(support_client, staff):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("newbie", password="x-very-long-password-1")
    response = support_client.post(reverse("admin:admin_config_staffmembership_add"), {
        "user": user.pk, "district": staff.district.pk, "submission_workspace": "on", "active": "on"})
    assert response.status_code == 302
    assert StaffMembership.objects.get(user=user).submission_workspace
    assert AuditEvent.objects.filter(action="staff.membership_created", object_label__startswith="newbie").exists()


def test_removing_a_membership_in_django_admin_is_audited(support_client, staff):
    membership = StaffMembership.objects.get(user=staff.no_role)
    url = reverse("admin:admin_config_staffmembership_delete", args=[membership.pk])
    response = support_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not StaffMembership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.filter(action="staff.membership_removed").exists()


def test_a_parent_account_cannot_be_made_staff(staff):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.staff_membership_set(user=staff.parent, district=staff.district, configuration=True)


def test_audit_log_is_read_only_in_django_admin(support_client, staff):
    event = services.audit_record(action="configuration.x", district=staff.district)
    assert support_client.get(reverse("admin:admin_config_auditevent_changelist")).status_code == 200
    assert support_client.post(reverse("admin:admin_config_auditevent_delete", args=[event.pk]),
                               {"post": "yes"}).status_code == 403


def test_integration_switch_change_in_django_admin_is_audited(support_client, staff):
    d = staff.district
    response = support_client.post(reverse("admin:forms_catalog_district_change", args=[d.pk]), {
        "name": d.name, "environment": "CAN", "has_enrollment": "on", "has_express": "on",
        "available_forms_mode": "automatic"})  # MyPowerHub integration switched off
    assert response.status_code == 302, response.content.decode()[:3000]
    d.refresh_from_db()
    assert not d.mypowerhub_enabled
    event = AuditEvent.objects.get(action="configuration.district_saved")
    assert event.actor == staff.support and event.district == d
    assert event.changes == {"environment": {"old": "US1", "new": "CAN"},
                             "mypowerhub_enabled": {"old": True, "new": False}}


def test_approval_status_change_in_django_admin_is_audited(support_client, staff):
    form = enrollment_form(staff.district, "reg", approval_status=False)
    response = support_client.post(reverse("admin:forms_catalog_form_change", args=[form.pk]), {
        "name": form.name, "type": "public", "academic_year": "", "student_type": "existing",
        "status": "open", "approval_status": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="configuration.form_saved")
    assert event.changes == {"student_type": {"old": "new_and_existing", "new": "existing"},
                             "approval_status": {"old": False, "new": True}}
    assert event.object_label == form.name


def _form_data(html: str, form_id: str) -> dict:
    """The values a browser would submit from the page's form `form_id` (inputs, checkboxes, selects)."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.data, self.select = False, {}, None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                self.inside = a.get("id") == form_id
            if not self.inside or not a.get("name"):
                if tag == "option" and self.select and "selected" in a:
                    self.data.setdefault(self.select, []).append(a.get("value", ""))
                return
            if tag == "input" and a.get("type") not in ("submit", "button", "file"):
                if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                    return
                default = "on" if a.get("type") in ("checkbox", "radio") else ""
                self.data.setdefault(a["name"], []).append(a.get("value", default))
            elif tag == "select":
                self.select = a["name"]
            elif tag == "textarea":
                self.data.setdefault(a["name"], []).append("")

        def handle_endtag(self, tag):
            if tag == "select":
                self.select = None
            if tag == "form":
                self.inside = False

    parser = Parser()
    parser.feed(html)
    return parser.data


def test_restricting_a_guardian_link_in_django_admin_is_audited_r8(support_client, staff):
    url = reverse("admin:forms_catalog_guardian_change", args=[staff.cast.guardian.pk])
    data = _form_data(support_client.get(url).content.decode(), "guardian_form")
    row = next(k.split("-")[1] for k, v in data.items()
               if k.startswith("links-") and k.endswith("-student") and v == [str(staff.cast.student.pk)])
    data[f"links-{row}-restricted"] = ["on"]
    response = support_client.post(url, data)
    assert response.status_code == 302, (response.context["adminform"].form.errors,
                                         [f.formset.errors for f in response.context["inline_admin_formsets"]])
    event = AuditEvent.objects.get(action="people.guardian_link_saved")
    assert event.changes == {"restricted": {"old": False, "new": True}}
    assert event.district == staff.district and event.actor == staff.support


def test_console_staff_command_creates_an_account_with_roles(staff, monkeypatch):
    from io import StringIO

    from django.core.management import CommandError, call_command

    monkeypatch.setenv("CONSOLE_STAFF_PASSWORD", "short")
    with pytest.raises(CommandError, match="too short"):
        call_command("console_staff", district=staff.district.slug, username="rita", configuration=True)
    monkeypatch.setenv("CONSOLE_STAFF_PASSWORD", "Rita-has-a-long-passphrase-9")
    out = StringIO()
    call_command("console_staff", district=staff.district.slug, username="rita", configuration=True, stdout=out)
    assert out.getvalue().strip() == "Created rita in springfield: Configuration."
    membership = StaffMembership.objects.get(user__username="rita")
    assert membership.configuration and not membership.submission_workspace
    assert membership.user.check_password("Rita-has-a-long-passphrase-9")
    call_command("console_staff", district=staff.district.slug, username="rita", workspace=True, stdout=out)
    membership.refresh_from_db()
    assert (membership.configuration, membership.submission_workspace) == (False, True)
    assert AuditEvent.objects.filter(action="staff.roles_changed", object_label__startswith="rita").exists()
