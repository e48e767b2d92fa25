"""The roster page of the admin console: Configuration role only, upload, settings, last sync."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from admin_config import services as console
from admin_config.models import AuditEvent
from forms_catalog import services as catalog
from forms_catalog.models import Guardian
from roster.models import RosterSettings, RosterSync

from .helpers import ROSTERS, snapshot

PASSWORD = "Correct-Horse-Battery-42"


def zipped(folder, *, skip=()) -> io.BytesIO:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        for path in sorted(folder.iterdir()):
            if path.name not in skip:
                zf.write(path, f"export/{path.name}")
    data.seek(0)
    data.name = "roster.zip"
    return data


def make_staff(username, district, **roles):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD)
    console.staff_membership_set(user=user, district=district, **roles)
    return user


@pytest.fixture
def config_admin(district, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_staff("cfg", district, configuration=True)


def url(district, name="console"):
    return reverse(f"roster:{name}", kwargs={"district": district.slug})


def test_only_the_configuration_role_of_the_district_may_use_the_roster_page(client, district, config_admin):
    page = url(district)
    assert client.get(page).status_code == 302  # anonymous: to the console sign-in
    client.force_login(make_staff("ws", district, submission_workspace=True))
    assert client.get(page).status_code == 403
    assert client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first")}).status_code == 403
    other, _ = catalog.district_upsert(slug="elsewhere", name="Elsewhere")
    client.force_login(make_staff("other", other, configuration=True))
    assert client.get(page).status_code == 404
    assert not Guardian.objects.exists()
    client.force_login(config_admin)
    response = client.get(page)
    assert response.status_code == 200
    assert "No roster has been imported yet." in response.text


def test_upload_applies_the_roster_and_the_page_shows_the_last_sync(client, district, config_admin):
    client.force_login(config_admin)
    response = client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first"), "dry_run": ""})
    assert response.status_code == 302
    assert Guardian.objects.filter(district=district, active=True).count() == 5
    page = client.get(url(district))
    assert "The roster was applied." in page.text
    assert '<tr data-key="guardians_added"><th scope="row"><code>guardians_added</code></th><td>5</td>' in page.text
    sync = RosterSync.objects.get(district=district)
    assert sync.started_by == config_admin and sync.outcome == "applied"
    assert AuditEvent.objects.filter(district=district, action="roster.synced").count() == 1


def test_upload_dry_run_writes_nothing(client, district, config_admin):
    client.force_login(config_admin)
    client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first"), "dry_run": "on"})
    assert not Guardian.objects.exists()
    page = client.get(url(district))
    assert "Dry run: nothing was written." in page.text
    assert "maria@example.org" in page.text


def test_a_bad_upload_names_file_line_and_column_and_writes_nothing(client, district, config_admin):
    client.force_login(config_admin)
    before = snapshot()
    client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first", skip={"users.csv"})})
    assert snapshot() == before
    page = client.get(url(district))
    assert "users.csv: The file is missing." in page.text
    response = client.post(url(district, "upload"), {"roster": io.BytesIO(b"not a zip")})
    assert response.status_code == 400
    assert "The upload is not a readable zip archive." in response.text


def test_settings_are_saved_and_the_secret_is_never_shown(client, district, config_admin, settings):
    client.force_login(config_admin)
    data = {
        "global_id_field": "metadata.portalId", "student_id_field": "sourcedId", "max_deactivate_percent": "10",
        "rest_base_url": "https://sis.example.org/", "rest_token_url": "https://sis.example.org/oauth/token",
        "rest_client_id": "client-1", "client_secret": "top-secret-value", "rest_scope": "roster",
        "rest_page_size": "500",
    }
    assert client.post(url(district, "settings"), data).status_code == 302
    conf = RosterSettings.objects.get(district=district)
    assert (conf.global_id_field, conf.max_deactivate_percent, conf.rest_base_url) == (
        "metadata.portalId", 10, "https://sis.example.org")
    assert conf.client_secret == "top-secret-value"
    page = client.get(url(district))
    assert "top-secret-value" not in page.text
    assert "A client secret is stored." in page.text
    event = AuditEvent.objects.get(action="roster.settings_saved")
    assert "top-secret-value" not in str(event.changes)

    bad = {**data, "rest_base_url": "http://sis.example.org", "global_id_field": "phone"}
    response = client.post(url(district, "settings"), bad)
    assert response.status_code == 400
    assert "Only https URLs are allowed" in response.text
    assert "Use email, username, sourcedId or a metadata.&lt;name&gt; column." in response.text


def test_the_page_reads_in_a_fixed_number_of_queries(client, district, config_admin):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(config_admin)

    def page_queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(district)).status_code == 200
        return [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]

    client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first")})
    one = page_queries()
    for _ in range(11):
        client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first")})
    # The page's own reads: roster settings, then the recent runs with who started them; the rest
    # (session, user, staff membership, sign-in checks) belong to the console and its middleware.
    assert sum("roster_" in sql for sql in one) == 2
    assert len(page_queries()) == len(one)


def test_support_staff_see_runs_and_settings_read_only_in_django_admin(client, district, config_admin):
    client.force_login(config_admin)
    client.post(url(district, "upload"), {"roster": zipped(ROSTERS / "first")})
    client.post(url(district, "settings"), {
        "global_id_field": "email", "student_id_field": "identifier", "max_deactivate_percent": "20",
        "rest_base_url": "", "rest_token_url": "", "rest_client_id": "", "client_secret": "hidden-secret-1",
        "rest_scope": "", "rest_page_size": "100",
    })
    token = RosterSettings.objects.get(district=district).rest_client_secret_encrypted
    support = get_user_model().objects.create_superuser("support", "support@example.org", PASSWORD)
    client.force_login(support)
    runs = client.get(reverse("admin:roster_rostersync_changelist"))
    assert runs.status_code == 200 and "Riverside Unified" in runs.text
    conf = RosterSettings.objects.get(district=district)
    page = client.get(reverse("admin:roster_rostersettings_change", args=[conf.pk]))
    assert page.status_code == 200
    assert token not in page.text and "hidden-secret-1" not in page.text
    assert client.post(reverse("admin:roster_rostersettings_change", args=[conf.pk]), {}).status_code == 403
