"""Django admin for support staff, driven through the test client as a superuser.

Each test reads the real change page, changes one value and posts the whole form back, as the
browser would; saves go through the services (R2 validation on the field, R8 restriction, the
integration switch and Available Forms all change what `portal_forms` prints).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.management import call_command
from django.urls import reverse

from forms_catalog import services
from forms_catalog.models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission

pytestmark = pytest.mark.django_db

R2_MESSAGE = "Private and Year-Round Update forms are always for existing students; Student Type must be Existing."


class _FormValues(HTMLParser):
    """The values a browser would submit for the admin form `<form id="{form_id}">`."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or tag == "form":
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._add(name, a.get("value", "on"))
            else:
                self._add(name, a.get("value", ""))
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data


def page_form(client, url: str, model: str) -> dict[str, list[str] | str]:
    """The change/add form of `model` (`<form id="{model}_form">`), or the changelist's form for "changelist"."""
    response = client.get(url)
    assert response.status_code == 200
    parser = _FormValues("changelist-form" if model == "changelist" else f"{model}_form")
    parser.feed(response.content.decode())
    assert parser.data, f"no form {model}_form on {url}"
    return dict(parser.data)


def post(client, url: str, data: dict):
    flat = {k: v for k, v in data.items() if v != []}
    flat["_save"] = "Save"
    return client.post(url, flat)


def change_url(obj) -> str:
    return reverse(f"admin:forms_catalog_{obj._meta.model_name}_change", args=[obj.pk])


def add_url(model) -> str:
    return reverse(f"admin:forms_catalog_{model._meta.model_name}_add")


def portal(cast_guardian, student, at="2025-09-15T00:00:00Z") -> dict:
    out = io.StringIO()
    call_command("portal_forms", "--district", student.district.slug, "--guardian", cast_guardian.global_id,
                 "--student", student.sis_id, "--at", at, stdout=out)
    return json.loads(out.getvalue())


def shown(view) -> list[str]:
    return [i["form"] for i in view["overview"]]


@pytest.fixture
def forms(cast):
    d = cast.district
    reg, _ = services.form_upsert(district=d, key="reg", name="Registration", type="public",
                                  student_type="existing", academic_year="2025-2026")
    lunch, _ = services.form_upsert(district=d, key="lunch", name="Lunch", type="private", student_type="existing")
    return {"reg": reg, "lunch": lunch}


# --- Pages ----------------------------------------------------------------------------------------


def test_every_support_staff_page_renders(admin_client, cast, forms):
    packet, _ = services.packet_upsert(district=cast.district, key="bts", name="Back to School")
    submission, _ = services.submission_upsert(student=cast.student, form=forms["reg"], status="submitted",
                                               submitted_at=datetime(2025, 4, 2, tzinfo=UTC), balance=Decimal("5"))
    entry = submission.ledger_entries.get()
    for obj in (cast.district, cast.student, cast.guardian, packet, forms["reg"], submission, entry):
        model = obj._meta.model_name
        assert admin_client.get(reverse(f"admin:forms_catalog_{model}_changelist")).status_code == 200, model
        assert admin_client.get(change_url(obj)).status_code == 200, model
    for model in (District, Student, Guardian, Packet, Form):
        assert admin_client.get(add_url(model)).status_code == 200


def test_submissions_and_ledger_entries_cannot_be_added_or_edited_in_admin(admin_client, cast, forms):
    submission, _ = services.submission_upsert(student=cast.student, form=forms["reg"], balance=Decimal("5"))
    entry = submission.ledger_entries.get()
    assert admin_client.get(add_url(Submission)).status_code == 403
    assert admin_client.get(add_url(LedgerEntry)).status_code == 403
    assert admin_client.post(change_url(entry), {"amount": "0.01", "_save": "Save"}).status_code == 403
    assert admin_client.post(change_url(submission), {"balance": "0", "_save": "Save"}).status_code == 403
    assert LedgerEntry.objects.get().amount == Decimal("5.00")
    assert Submission.objects.get().balance == Decimal("5.00")


# --- Forms: R2 and Approval Status ------------------------------------------------------------------


@pytest.mark.parametrize("student_type", ["new", "new_and_existing"])
def test_r2_private_form_refuses_a_non_existing_student_type_with_the_message_on_the_field(
    admin_client, forms, student_type
):
    lunch = forms["lunch"]
    data = page_form(admin_client, change_url(lunch), "form")
    data["student_type"] = student_type
    response = post(admin_client, change_url(lunch), data)
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert errors == {"student_type": [R2_MESSAGE]}
    assert R2_MESSAGE in response.content.decode()
    assert Form.objects.get(pk=lunch.pk).student_type == "existing"


def test_r2_adding_a_year_round_update_form_for_new_students_is_refused(admin_client, cast):
    data = page_form(admin_client, add_url(Form), "form")
    data.update(district=str(cast.district.pk), key="yru", name="Address Change", product="enrollment",
                type="year_round_update", student_type="new_and_existing", status="open")
    response = post(admin_client, add_url(Form), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"student_type": [R2_MESSAGE]}
    assert not Form.objects.filter(key="yru").exists()
    data["student_type"] = "existing"
    assert post(admin_client, add_url(Form), data).status_code == 302
    assert Form.objects.get(key="yru").student_type == "existing"


def test_r2_student_type_change_on_a_public_form_is_saved_and_hides_it_from_existing_students(
    admin_client, cast, forms
):
    assert "reg" in shown(portal(cast.guardian, cast.student))
    data = page_form(admin_client, change_url(forms["reg"]), "form")
    data["student_type"] = "new"
    assert post(admin_client, change_url(forms["reg"]), data).status_code == 302
    assert Form.objects.get(key="reg").student_type == "new"
    assert "reg" not in shown(portal(cast.guardian, cast.student))


def test_r2_list_editable_student_type_is_validated_too(admin_client, forms):
    url = reverse("admin:forms_catalog_form_changelist")
    data = page_form(admin_client, url, "changelist")
    row = next(k.split("-")[1] for k, v in data.items() if k.endswith("-id") and v == [str(forms["lunch"].pk)])
    data[f"form-{row}-student_type"] = "new"
    data["_save"] = "Save"
    response = admin_client.post(url, {k: v for k, v in data.items() if v != []})
    assert response.status_code == 200
    assert R2_MESSAGE in response.content.decode()
    assert Form.objects.get(pk=forms["lunch"].pk).student_type == "existing"


def test_r5_approval_status_switch_turns_submitted_into_pending_review(admin_client, cast, forms):
    services.submission_upsert(student=cast.student, form=forms["reg"], status="submitted",
                               submitted_at=datetime(2025, 4, 2, tzinfo=UTC))
    assert portal(cast.guardian, cast.student)["complete"]["enrollment"][0]["status"] == "submitted"
    data = page_form(admin_client, change_url(forms["reg"]), "form")
    data["approval_status"] = "on"
    assert post(admin_client, change_url(forms["reg"]), data).status_code == 302
    assert Form.objects.get(key="reg").approval_status is True
    todo = portal(cast.guardian, cast.student)["todo"]["enrollment"]
    assert {i["form"]: i["status"] for i in todo} == {"lunch": "not_started", "reg": "pending_review"}


# --- Districts: the integration switch and Available Forms ------------------------------------------


def test_r3_integration_switch_in_admin_changes_what_portal_forms_prints(admin_client, cast, forms):
    assert shown(portal(cast.guardian, cast.student)) == ["reg", "lunch"]
    url = change_url(cast.district)
    data = page_form(admin_client, url, "district")
    assert data["mypowerhub_enabled"] == ["on"]
    del data["mypowerhub_enabled"]  # untick
    assert post(admin_client, url, data).status_code == 302
    assert District.objects.get(pk=cast.district.pk).mypowerhub_enabled is False
    assert shown(portal(cast.guardian, cast.student)) == []
    data = page_form(admin_client, url, "district")
    data["mypowerhub_enabled"] = "on"
    assert post(admin_client, url, data).status_code == 302
    assert shown(portal(cast.guardian, cast.student)) == ["reg", "lunch"]


def test_r4_manual_available_forms_selection_in_admin(admin_client, cast, forms):
    url = change_url(cast.district)
    data = page_form(admin_client, url, "district")
    data["available_forms_mode"] = "manual"
    data["available_selection"] = [str(forms["lunch"].pk)]
    assert post(admin_client, url, data).status_code == 302
    assert list(Form.objects.filter(in_available_selection=True).values_list("key", flat=True)) == ["lunch"]
    assert shown(portal(cast.guardian, cast.student)) == ["lunch"]
    data = page_form(admin_client, url, "district")
    assert data["available_selection"] == [str(forms["lunch"].pk)]  # shown as chosen
    data["available_forms_mode"] = "none"
    assert post(admin_client, url, data).status_code == 302
    assert shown(portal(cast.guardian, cast.student)) == []


def test_district_products_and_environment_are_saved(admin_client, cast):
    url = change_url(cast.district)
    data = page_form(admin_client, url, "district")
    data.update(environment="CAN", name="Springfield Public Schools")
    del data["has_express"]
    assert post(admin_client, url, data).status_code == 302
    d = District.objects.get(pk=cast.district.pk)
    assert (d.environment, d.name, d.products, d.slug) == ("CAN", "Springfield Public Schools", ["enrollment"],
                                                           "springfield")


def test_adding_a_district_in_admin(admin_client):
    data = page_form(admin_client, add_url(District), "district")
    data.update(slug="oak-grove", name="Oak Grove", environment="US2", has_express="on")
    assert post(admin_client, add_url(District), data).status_code == 302
    d = District.objects.get(slug="oak-grove")
    assert (d.environment, d.products, d.available_forms_mode) == ("US2", ["enrollment", "express"], "automatic")
    data["slug"] = "Not A Slug"
    response = post(admin_client, add_url(District), data)
    assert response.status_code == 200 and "slug" in response.context["adminform"].form.errors


# --- Guardians, links and restrictions --------------------------------------------------------------


def _link_row(data: dict, student: Student) -> str:
    return next(k.split("-")[1] for k, v in data.items()
                if k.startswith("links-") and k.endswith("-student") and v == [str(student.pk)])


def test_r8_restricting_a_link_in_admin_hides_the_students_forms_from_that_guardian_only(admin_client, cast, forms):
    assert shown(portal(cast.guardian, cast.student)) == ["reg", "lunch"]
    url = change_url(cast.guardian)
    data = page_form(admin_client, url, "guardian")
    row = _link_row(data, cast.student)
    data[f"links-{row}-restricted"] = "on"
    assert post(admin_client, url, data).status_code == 302
    assert GuardianStudent.objects.get(guardian=cast.guardian, student=cast.student).restricted is True
    view = portal(cast.guardian, cast.student)
    assert view["restricted"] is True and shown(view) == []
    assert shown(portal(cast.co_guardian, cast.student)) == ["reg", "lunch"]  # other guardians unaffected
    assert shown(portal(cast.guardian, cast.sibling)) == ["reg", "lunch"]  # and the guardian's other student
    # Lifting the restriction shows the forms again.
    data = page_form(admin_client, url, "guardian")
    del data[f"links-{row}-restricted"]
    assert post(admin_client, url, data).status_code == 302
    assert shown(portal(cast.guardian, cast.student)) == ["reg", "lunch"]


def test_adding_a_guardian_creates_the_user_who_signs_in_as_them_and_links_a_student(admin_client, cast, forms):
    data = page_form(admin_client, add_url(Guardian), "guardian")
    data.update({"district": str(cast.district.pk), "global_id": "ana.parent@example.org",
                 "email": "ana.parent@example.org", "first_name": "Ana", "last_name": "Parent",
                 "links-0-student": str(cast.sibling.pk)})
    assert post(admin_client, add_url(Guardian), data).status_code == 302
    guardian = Guardian.objects.select_related("user").get(global_id="ana.parent@example.org")
    assert guardian.user.username == services.guardian_username(cast.district, "ana.parent@example.org")
    assert guardian.user.email == "ana.parent@example.org" and not guardian.user.has_usable_password()
    assert list(guardian.links.values_list("student__sis_id", "restricted")) == [("1002", False)]
    assert shown(portal(guardian, cast.sibling)) == ["reg", "lunch"]


def test_a_guardian_cannot_be_linked_to_another_districts_student(admin_client, cast):
    url = change_url(cast.guardian)
    data = page_form(admin_client, url, "guardian")
    extra = int(data["links-TOTAL_FORMS"][0]) - 1
    data[f"links-{extra}-student"] = str(cast.stranger_student.pk)
    response = post(admin_client, url, data)
    assert response.status_code == 200
    assert "A guardian can only be linked to a student of the same district." in response.content.decode()
    assert not GuardianStudent.objects.filter(guardian=cast.guardian, student=cast.stranger_student).exists()


def test_editing_a_guardian_updates_the_user_too(admin_client, cast):
    url = change_url(cast.guardian)
    data = page_form(admin_client, url, "guardian")
    data["email"] = "maria.new@example.org"
    assert post(admin_client, url, data).status_code == 302
    guardian = Guardian.objects.select_related("user").get(pk=cast.guardian.pk)
    assert guardian.email == guardian.user.email == "maria.new@example.org"
    assert guardian.global_id == "maria@example.org"  # the key stays


# --- Students and packets ---------------------------------------------------------------------------


def test_students_are_added_and_edited_through_the_service(admin_client, cast):
    data = page_form(admin_client, add_url(Student), "student")
    data.update(district=str(cast.district.pk), sis_id="2001", first_name="Zoe", last_name="Park", grade="K",
                sis_data="{}")
    assert post(admin_client, add_url(Student), data).status_code == 302
    student = Student.objects.get(district=cast.district, sis_id="2001")
    data = page_form(admin_client, change_url(student), "student")
    assert "sis_id" not in data  # the key is read-only once the student exists
    data["grade"] = "1"
    assert post(admin_client, change_url(student), data).status_code == 302
    assert Student.objects.get(pk=student.pk).grade == "1"
    data = page_form(admin_client, add_url(Student), "student")
    data.update(district=str(cast.district.pk), sis_id="2001", first_name="Dup", last_name="Dup", sis_data="{}")
    response = post(admin_client, add_url(Student), data)
    assert response.status_code == 200
    assert Student.objects.filter(sis_id="2001", district=cast.district).count() == 1


def test_packet_audience_in_admin_drives_r3_for_express_forms(admin_client, cast):
    data = page_form(admin_client, add_url(Packet), "packet")
    data.update(district=str(cast.district.pk), key="sports", name="Athletics", students=[str(cast.sibling.pk)])
    data["all_students"] = "on"
    response = post(admin_client, add_url(Packet), data)
    assert response.status_code == 200
    assert "Leave the list empty for a packet for all students" in response.content.decode()
    del data["all_students"]
    assert post(admin_client, add_url(Packet), data).status_code == 302
    packet = Packet.objects.get(key="sports")
    assert (packet.all_students, list(packet.students.all())) == (False, [cast.sibling])
    services.form_upsert(district=cast.district, key="physical", name="Physical", product="express", type="",
                         student_type="existing", packet=packet)
    assert shown(portal(cast.guardian, cast.sibling)) == ["physical"]
    assert shown(portal(cast.guardian, cast.student)) == []


def test_packet_students_must_belong_to_its_district(admin_client, cast):
    data = page_form(admin_client, add_url(Packet), "packet")
    data.update(district=str(cast.district.pk), key="x", name="X", students=[str(cast.stranger_student.pk)])
    data.pop("all_students", None)
    response = post(admin_client, add_url(Packet), data)
    assert response.status_code == 200
    assert "These students belong to another district" in response.content.decode()
    assert not Packet.objects.filter(key="x").exists()


# --- Submissions: workspace actions -----------------------------------------------------------------


def test_submission_actions_go_through_the_workspace_services(admin_client, cast, forms):
    at = datetime(2025, 4, 2, tzinfo=UTC)
    pending, _ = services.submission_upsert(student=cast.student, form=forms["reg"], status="submitted",
                                            submitted_at=at, workspace="pending_approval")
    fresh, _ = services.submission_upsert(student=cast.sibling, form=forms["reg"], status="submitted",
                                          submitted_at=at, workspace="not_imported")
    url = reverse("admin:forms_catalog_submission_changelist")
    response = admin_client.post(url, {"action": "approve", "_selected_action": [pending.pk]}, follow=True)
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.workspace == "approved" and pending.approved_at is not None
    response = admin_client.post(url, {"action": "approve", "_selected_action": [fresh.pk]}, follow=True)
    assert "only Pending approval submissions can" in response.content.decode()
    fresh.refresh_from_db()
    assert fresh.workspace == "not_imported"
