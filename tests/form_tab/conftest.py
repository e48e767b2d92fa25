"""Form-tab fixtures: the shared cast plus forms with a two-page definition."""

from __future__ import annotations

import pytest
from django.urls import reverse

from forms_catalog import services
from forms_catalog.form_definitions import form_definition_set
from parent_portal.form_runtime.payments import SandboxGateway
from tests.factories import FormFactory

TWO_PAGES = [
    {
        "title": "Student details",
        "instructions": "Tell us about the student.",
        "fields": [
            {"key": "nickname", "label": "Preferred name", "kind": "short_text", "required": True},
            {"key": "birth_date", "label": "Date of birth", "kind": "date", "required": True,
             "prefill_from": "birth_date"},
            {"key": "address", "label": "Home address", "kind": "short_text", "prefill_from": "address"},
            {"key": "siblings", "label": "Number of siblings", "kind": "number"},
        ],
    },
    {
        "title": "Consent",
        "fields": [
            {"key": "lunch", "label": "Lunch plan", "kind": "single_choice", "choices": ["Home", "School"],
             "required": True},
            {"key": "activities", "label": "Activities", "kind": "multiple_choice",
             "choices": ["Art", "Music", "Sports"]},
            {"key": "notes", "label": "Notes", "kind": "long_text"},
            {"key": "photo_ok", "label": "Photos may be published", "kind": "checkbox"},
            {"key": "signature", "label": "Signature", "kind": "signature", "required": True},
        ],
    },
]


def make_form(district, *, pages=TWO_PAGES, **kwargs):
    values = {"key": "reg", "name": "Returning Registration", "type": "public", "student_type": "existing"}
    values.update(kwargs)
    if values["type"] in ("private", "year_round_update"):
        values["student_type"] = "existing"
    form = FormFactory(district=district, **values)
    if pages:
        form_definition_set(form=form, pages=pages)
    return form


@pytest.fixture
def form_cast(cast):
    services.student_upsert(
        district=cast.district, sis_id=cast.student.sis_id, first_name="Ana", last_name="Diaz", grade="3",
        sis_data={"birth_date": "2017-04-12", "address": "418 Willow Lane"},
    )
    cast.student.refresh_from_db()
    cast.form = make_form(cast.district)
    cast.private_form = make_form(cast.district, key="lunch", name="Free Meals", type="private")
    return cast


@pytest.fixture(autouse=True)
def _fresh_sandbox():
    SandboxGateway.reset()
    yield
    SandboxGateway.reset()


def start_url(cast, form, student=None):
    student = student or cast.student
    return reverse("parent_portal:form_start",
                   kwargs={"district": cast.district.slug, "student_id": student.id, "form_id": form.id})


def sub_url(name, cast, submission, **kwargs):
    return reverse(f"parent_portal:{name}", kwargs={"district": cast.district.slug, "submission_id": submission.id,
                                                    **kwargs})
