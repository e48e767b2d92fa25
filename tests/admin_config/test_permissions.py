"""Who may use which console URL: every URL against every kind of visitor, in one table.

Columns: Configuration role, Submission Workspace role, district staff without a role, staff of
another district, support staff (superuser), a parent of the district, an anonymous visitor.
"OK" is the page's own success answer; LOGIN is a redirect to the console sign-in page.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin_config.models import AuditEvent
from forms_catalog.models import Submission

from .conftest import enrollment_form, submitted

LOGIN = "login"
ACTORS = ("config_admin", "workspace_admin", "no_role", "other_admin", "support", "parent", "anonymous")

# (url name, method, extra kwargs / POST data key, expected per actor in ACTORS order)
MATRIX = [
    ("admin_config:home",                   "GET",  "plain",        (302, 302, 302, 302, 200, 404, LOGIN)),
    ("admin_config:password_change",        "GET",  "plain",        (200, 200, 200, 200, 200, 404, LOGIN)),
    ("admin_config:dashboard",              "GET",  None,           (200, 200, 200, 404, 200, 404, LOGIN)),
    ("admin_config:configuration",          "GET",  None,           (302, 403, 403, 404, 302, 404, LOGIN)),
    ("admin_config:config_sso",             "GET",  None,           (200, 403, 403, 404, 200, 404, LOGIN)),
    ("admin_config:config_sso_edit",        "GET",  None,           (200, 403, 403, 404, 200, 404, LOGIN)),
    ("admin_config:config_sso_edit",        "POST", "sso",          (200, 403, 403, 404, 200, 404, LOGIN)),
    ("admin_config:config_available_forms", "GET",  None,           (200, 403, 403, 404, 200, 404, LOGIN)),
    ("admin_config:config_available_forms", "POST", "available",    (302, 403, 403, 404, 302, 404, LOGIN)),
    ("admin_config:audit_log",              "GET",  None,           (200, 403, 403, 404, 200, 404, LOGIN)),
    ("admin_config:preview",                "GET",  "preview",      (200, 403, 403, 404, 200, 404, LOGIN)),
    ("admin_config:workspace",              "GET",  None,           (403, 200, 403, 404, 200, 404, LOGIN)),
    ("admin_config:workspace_bulk",         "POST", "bulk",         (403, 302, 403, 404, 302, 404, LOGIN)),
    ("admin_config:workspace_detail",       "GET",  "submission",   (403, 200, 403, 404, 200, 404, LOGIN)),
    ("admin_config:workspace_action",       "POST", "action",       (403, 302, 403, 404, 302, 404, LOGIN)),
]


def _request(client, staff, submission, name, method, extra):
    kwargs = {} if extra == "plain" else {"district": staff.district.slug}
    if extra in ("submission", "action"):
        kwargs["submission_id"] = submission.pk
    url = reverse(name, kwargs=kwargs)
    data = {
        # An invalid SSO save (enabled without fields) re-renders with messages: no network needed.
        "sso": {"enabled": "on", "issuer": "", "client_id": ""},
        "available": {"mode": "automatic"},
        "bulk": {"action": "import", "selected": [submission.pk]},
        "action": {"action": "import"},
    }.get(extra, {})
    if extra == "preview":
        url += f"?guardian={staff.cast.guardian.pk}&student={staff.cast.student.pk}"
    return client.get(url) if method == "GET" else client.post(url, data)


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_matrix(client, staff, actor):
    submission = submitted(staff.cast.sibling, enrollment_form(staff.district, "reg"))
    wrong = []
    for name, method, extra, expected in MATRIX:
        client.logout()
        if actor != "anonymous":
            client.force_login(getattr(staff, actor))
        response = _request(client, staff, submission, name, method, extra)
        want = expected[ACTORS.index(actor)]
        to_login = response.status_code == 302 and response["Location"].startswith(reverse("admin_config:login"))
        ok = to_login if want == LOGIN else (response.status_code == want and not to_login)
        if not ok:
            wrong.append(f"{method} {name}: got {response.status_code}, want {want}")
        # Put the submission back so the next row can import it again.
        Submission.objects.filter(pk=submission.pk).update(workspace="not_imported")
    assert not wrong, "\n".join(wrong)


def test_missing_role_page_names_the_role(client, staff):
    client.force_login(staff.workspace_admin)
    response = client.get(reverse("admin_config:config_sso", kwargs={"district": staff.district.slug}))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You do not have access to this page" in page
    assert "<strong>Configuration</strong>" in page


def test_unknown_district_and_other_district_answer_the_same_404(client, staff):
    client.force_login(staff.config_admin)
    other = client.get(reverse("admin_config:config_sso", kwargs={"district": staff.cast.other_district.slug}))
    missing = client.get(reverse("admin_config:config_sso", kwargs={"district": "no-such-district"}))
    assert other.status_code == missing.status_code == 404


def test_another_districts_submission_is_404_through_own_district_url(client, staff):
    """A Springfield reviewer cannot reach a Shelbyville submission by putting its id in a Springfield URL."""
    foreign_form = enrollment_form(staff.cast.other_district, "foreign")
    foreign = submitted(staff.cast.stranger_student, foreign_form)
    client.force_login(staff.workspace_admin)
    detail = client.get(reverse("admin_config:workspace_detail",
                                kwargs={"district": staff.district.slug, "submission_id": foreign.pk}))
    action = client.post(reverse("admin_config:workspace_action",
                                 kwargs={"district": staff.district.slug, "submission_id": foreign.pk}),
                         {"action": "import"})
    bulk = client.post(reverse("admin_config:workspace_bulk", kwargs={"district": staff.district.slug}),
                       {"action": "import", "selected": [foreign.pk]})
    assert detail.status_code == 404
    assert action.status_code == 404
    assert bulk.status_code == 302  # refused with a message, nothing changed
    foreign.refresh_from_db()
    assert foreign.workspace == "not_imported"
    assert not AuditEvent.objects.filter(action__startswith="workspace.").exists()


def test_in_progress_submission_is_not_in_the_workspace(client, staff):
    form = enrollment_form(staff.district, "reg")
    from forms_catalog import services as catalog

    draft, _ = catalog.submission_upsert(student=staff.cast.student, form=form)
    client.force_login(staff.workspace_admin)
    response = client.get(reverse("admin_config:workspace_detail",
                                  kwargs={"district": staff.district.slug, "submission_id": draft.pk}))
    assert response.status_code == 404


def test_preview_of_another_districts_guardian_is_404(client, staff):
    client.force_login(staff.config_admin)
    url = reverse("admin_config:preview", kwargs={"district": staff.district.slug})
    response = client.get(f"{url}?guardian={staff.cast.stranger.pk}&student={staff.cast.stranger_student.pk}")
    assert response.status_code == 404


def test_inactive_membership_is_404(client, staff):
    from admin_config import services as console

    console.staff_membership_set(user=staff.config_admin, district=staff.district, configuration=True, active=False)
    client.force_login(staff.config_admin)
    response = client.get(reverse("admin_config:config_sso", kwargs={"district": staff.district.slug}))
    assert response.status_code == 404
