"""The roster page in a real Chromium: upload a zip through the form, read the last sync."""

from __future__ import annotations

import os

import pytest

from forms_catalog.models import Guardian

from .helpers import ROSTERS
from .test_console import make_staff, zipped

pytestmark = pytest.mark.browser


def test_configuration_admin_uploads_a_roster_and_sees_the_counts(signed_in_page, live_server, district, tmp_path):
    admin = make_staff("cfg", district, configuration=True)
    page = signed_in_page(admin)
    page.goto(f"{live_server.url}/console/d/{district.slug}/roster/")
    assert page.locator("#last-sync").inner_text() == "No roster has been imported yet."
    archive = tmp_path / "roster.zip"
    archive.write_bytes(zipped(ROSTERS / "first").getvalue())
    page.set_input_files("#roster-upload input[type=file]", str(archive))
    page.uncheck("#roster-upload input[name=dry_run]")
    page.click("#roster-upload button[type=submit]")
    page.wait_for_selector("#last-sync-counts")
    assert "The roster was applied." in page.inner_text("main")
    assert page.locator('tr[data-key="guardians_added"] td').first.inner_text() == "5"
    assert page.locator('tr[data-key="links_restricted"] td').nth(1).inner_text() == "p-carlos → s-ana"
    if os.environ.get("ROSTER_SCREENSHOT"):
        page.screenshot(path=os.environ["ROSTER_SCREENSHOT"], full_page=True)
    assert Guardian.objects.filter(district=district).count() == 5
