"""Pinned query counts of the Configuration pages that list things, relative to the console's plainest
page (the dashboard: session, user, membership with district, savepoints and site-wide middleware),
and independent of how many forms the district has."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .conftest import enrollment_form, submitted


def baseline(client, staff) -> int:
    dashboard = reverse("admin_config:dashboard", kwargs={"district": staff.district.slug})
    client.get(dashboard)  # warm caches
    with CaptureQueriesContext(connection) as ctx:
        client.get(dashboard)
    return len(ctx)


@pytest.fixture
def cfg(client, staff):
    client.force_login(staff.config_admin)
    return client


@pytest.mark.parametrize("forms", [3, 40])
def test_available_forms_page(cfg, staff, django_assert_num_queries, forms):
    for i in range(forms):
        enrollment_form(staff.district, f"f{i}", status=["open", "closed", "scheduled"][i % 3])
    base = baseline(cfg, staff)
    # 1 the district's forms with the facts of R1/R2 (one query for all of them).
    with django_assert_num_queries(base + 1):
        response = cfg.get(reverse("admin_config:config_available_forms", kwargs={"district": staff.district.slug}))
    assert response.content.decode().count('name="forms"') == forms


@pytest.mark.parametrize("forms", [3, 40])
def test_preview_page(cfg, staff, django_assert_num_queries, forms):
    for i in range(forms):
        form = enrollment_form(staff.district, f"f{i}", status=["open", "closed"][i % 2])
        if i % 4 == 0:
            submitted(staff.cast.student, form)
    base = baseline(cfg, staff)
    url = reverse("admin_config:preview", kwargs={"district": staff.district.slug})
    # 1 the guardian, 2 their links with students, 3 the chosen link (guardian, student, district),
    # 4 the forms (portal selector), 5 the student's submissions (portal selector).
    with django_assert_num_queries(base + 5):
        response = cfg.get(f"{url}?guardian={staff.cast.guardian.pk}&student={staff.cast.student.pk}")
    page = response.content.decode()
    assert page.count("data-form-key=") == forms
