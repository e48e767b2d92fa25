"""Parent view preview: the portal's own view model for a guardian and student, and for every hidden
form the reason (R3, R4, R8 and the product / packet rules), as `portal_forms --explain` prints it."""

from __future__ import annotations

import html
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from forms_catalog import rules
from forms_catalog import services as catalog

from .conftest import enrollment_form, submitted


def preview(client, staff, guardian, student):
    url = reverse("admin_config:preview", kwargs={"district": staff.district.slug})
    response = client.get(f"{url}?guardian={guardian.pk}&student={student.pk}")
    assert response.status_code == 200
    return response.content.decode()


def hidden_rows(page) -> dict[str, tuple[str, str]]:
    """form key -> (reason code, explanation shown)."""
    rows = re.findall(r'<tr data-form-key="([^"]+)" data-reason="([^"]+)"><td>[^<]*</td><td>[^<]*</td><td>([^<]*)</td>',
                      page)
    return {key: (reason, html.unescape(text)) for key, reason, text in rows}


def shown_rows(page) -> dict[str, str]:
    return dict(re.findall(r'<tr data-form-key="([^"]+)" data-status="([^"]+)">', page))


def explain(staff, guardian, student) -> dict[str, str]:
    out = StringIO()
    call_command("portal_forms", district=staff.district.slug, guardian=guardian.global_id, student=student.sis_id,
                 explain=True, stdout=out)
    return {h["form"]: h["reason"] for h in json.loads(out.getvalue())["hidden"]}


@pytest.fixture
def cfg(client, staff):
    client.force_login(staff.config_admin)
    return client


def test_each_form_level_reason_is_explained(cfg, staff):
    d, cast = staff.district, staff.cast
    enrollment_form(d, "open", name="Open Registration")
    enrollment_form(d, "closed", name="Closed Registration", status="closed")
    enrollment_form(d, "new-only", name="New Student Registration", student_type="new")
    enrollment_form(d, "unselected", name="Unselected Form")
    chosen = enrollment_form(d, "chosen", name="Chosen Form")
    catalog.available_forms_set(district=d, mode="manual", form_ids=[chosen.pk])
    other_student, _ = catalog.student_upsert(district=d, sis_id="9999", first_name="Zed", last_name="Other")
    packet, _ = catalog.packet_upsert(district=d, key="band", name="Band Packet", students=[other_student])
    catalog.form_upsert(district=d, key="band-trip", name="Band Trip", product="express", packet=packet,
                        student_type="existing")
    page = preview(cfg, staff, cast.guardian, cast.student)
    hidden = hidden_rows(page)
    expected = {
        "closed": rules.HIDDEN_NOT_OPEN,
        "new-only": rules.HIDDEN_NEW_ONLY,
        "unselected": rules.HIDDEN_NOT_SELECTED,
        "open": rules.HIDDEN_NOT_SELECTED,
        "band-trip": rules.HIDDEN_PACKET_AUDIENCE,
    }
    assert {k: v[0] for k, v in hidden.items()} == expected
    for key, reason in expected.items():
        assert hidden[key][1] == rules.HIDDEN_REASONS[reason]
    assert shown_rows(page) == {"chosen": "not_started"}
    # The command prints the same reasons.
    assert explain(staff, cast.guardian, cast.student) == expected


def test_available_forms_none_is_explained(cfg, staff):
    enrollment_form(staff.district, "reg")
    catalog.available_forms_set(district=staff.district, mode="none")
    hidden = hidden_rows(preview(cfg, staff, staff.cast.guardian, staff.cast.student))
    assert hidden["reg"] == (rules.HIDDEN_AVAILABLE_NONE, "Available Forms is set to None.")


def test_product_not_bought_is_explained(cfg, staff):
    packet, _ = catalog.packet_upsert(district=staff.district, key="bts", name="Back to School")
    catalog.form_upsert(district=staff.district, key="media", name="Media Release", product="express",
                        packet=packet, student_type="existing")
    catalog.district_update(district=staff.district, has_express=False)
    hidden = hidden_rows(preview(cfg, staff, staff.cast.guardian, staff.cast.student))
    assert hidden["media"] == (rules.HIDDEN_PRODUCT, rules.HIDDEN_REASONS[rules.HIDDEN_PRODUCT])


def test_integration_off_hides_everything_with_its_reason(cfg, staff):
    form = enrollment_form(staff.district, "reg")
    submitted(staff.cast.student, form)
    catalog.district_update(district=staff.district, mypowerhub_enabled=False)
    page = preview(cfg, staff, staff.cast.guardian, staff.cast.student)
    assert hidden_rows(page) == {"reg": (rules.HIDDEN_INTEGRATION_OFF, rules.HIDDEN_REASONS["integration_off"])}
    assert shown_rows(page) == {}


def test_restricted_guardian_sees_nothing_and_the_preview_says_why_r8(cfg, staff):
    form = enrollment_form(staff.district, "reg")
    submitted(staff.cast.student, form)
    page = preview(cfg, staff, staff.cast.restricted_guardian, staff.cast.student)
    assert 'id="preview-restricted"' in page
    assert hidden_rows(page) == {"reg": (rules.HIDDEN_RESTRICTED, rules.HIDDEN_REASONS["restricted_link"])}
    assert shown_rows(page) == {}


def test_preview_shows_the_same_statuses_as_the_portal_selector(cfg, staff):
    from forms_catalog import selectors

    d, cast = staff.district, staff.cast
    approved = enrollment_form(d, "approved-form", name="Approved Form")
    started = enrollment_form(d, "started-form", name="Started Form")
    enrollment_form(d, "fresh", name="Fresh Form")
    submitted(cast.student, approved, workspace="approved")
    catalog.submission_upsert(student=cast.student, form=started)
    page = preview(cfg, staff, cast.co_guardian, cast.student)
    link = selectors.guardian_link(district_slug=d.slug, global_id=cast.co_guardian.global_id,
                                   sis_id=cast.student.sis_id)
    view = selectors.portal_view(link=link)
    expected = {i.form: i.status for i in view.overview}
    assert shown_rows(page) == expected == {"approved-form": "approved", "started-form": "started",
                                            "fresh": "not_started"}


def test_guardian_search_and_student_choice(cfg, staff):
    url = reverse("admin_config:preview", kwargs={"district": staff.district.slug})
    page = cfg.get(url, {"q": "maria"}).content.decode()
    assert f"guardian={staff.cast.guardian.pk}" in page
    assert "Marge" not in page  # the other district's guardian of the same email is not found
    students = cfg.get(url, {"guardian": staff.cast.guardian.pk}).content.decode()
    assert f"student={staff.cast.student.pk}" in students and f"student={staff.cast.sibling.pk}" in students


def test_preview_as_of_another_instant_r1(cfg, staff):
    from datetime import UTC, datetime

    enrollment_form(staff.district, "fall", name="Fall Form", status="scheduled",
                    opens_at=datetime(2030, 8, 1, tzinfo=UTC), closes_at=datetime(2030, 9, 1, tzinfo=UTC))
    url = reverse("admin_config:preview", kwargs={"district": staff.district.slug})
    base = f"{url}?guardian={staff.cast.guardian.pk}&student={staff.cast.student.pk}"
    assert hidden_rows(cfg.get(base).content.decode())["fall"][0] == rules.HIDDEN_NOT_OPEN
    during = cfg.get(base + "&at=2030-08-15T10:00").content.decode()
    assert shown_rows(during) == {"fall": "not_started"}
    assert 'value="2030-08-15T10:00"' in during
