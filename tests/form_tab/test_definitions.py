"""Form definitions: rows edited in Django admin, `pages` in scenario files, the derived default."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from forms_catalog.form_definitions import definition_for
from forms_catalog.models import Form, FormField, FormPage
from forms_catalog.scenario import ScenarioError, load_data
from tests.factories import UserFactory
from tests.form_tab.conftest import TWO_PAGES, make_form

pytestmark = pytest.mark.django_db


def scenario(pages):
    return {"districts": [{
        "slug": "lakeside", "name": "Lakeside Schools",
        "forms": [{"key": "reg", "name": "Registration", "type": "public", "pages": pages}],
    }]}


def test_scenario_pages_become_the_form_definition_and_reloading_changes_nothing():
    assert load_data(scenario(TWO_PAGES)).created_or_changed
    form = Form.objects.get(key="reg")
    definition = definition_for(form)
    assert [p.title for p in definition.pages] == ["Student details", "Consent"]
    assert [f.key for f in definition.page(2).fields] == ["lunch", "activities", "notes", "photo_ok", "signature"]
    assert definition.page(2).fields[0].choices == ("Home", "School")
    ids = list(FormField.objects.order_by("id").values_list("id", flat=True))
    assert load_data(scenario(TWO_PAGES)).created_or_changed == 0  # idempotent
    assert list(FormField.objects.order_by("id").values_list("id", flat=True)) == ids
    changed = copy.deepcopy(TWO_PAGES)
    changed[1]["fields"][0]["label"] = "Lunch"
    assert load_data(scenario(changed)).created_or_changed == 1
    assert definition_for(form).page(2).fields[0].label == "Lunch"
    assert load_data(scenario([])).created_or_changed == 1  # an empty list removes the pages
    assert definition_for(form).derived


@pytest.mark.parametrize(
    ("pages", "path", "message"),
    [
        ({"title": "x"}, "districts[0].forms[0].pages", "expected a list"),
        ([{"fields": []}], "districts[0].forms[0].pages[0].title", "missing required field"),
        ([{"title": "A", "fields": [{"key": "a", "label": "A", "kind": "slider"}]}],
         "districts[0].forms[0].pages[0].fields[0].kind", "is not one of"),
        ([{"title": "A", "fields": [{"key": "a", "label": "A", "kind": "single_choice"}]}],
         "districts[0].forms[0].pages[0].fields[0].choices", "at least one choice"),
        ([{"title": "A", "fields": [{"key": "a", "label": "A"}]},
          {"title": "B", "fields": [{"key": "a", "label": "B"}]}],
         "districts[0].forms[0].pages[1].fields[0].key", "duplicate field key"),
        ([{"title": "A", "fields": [{"key": "Bad Key", "label": "A"}]}],
         "districts[0].forms[0].pages[0].fields[0].key", "lowercase"),
        ([{"title": "A", "fields": [{"key": "a", "label": "A", "kind": "file", "allowed_types": "pdf"}]}],
         "districts[0].forms[0].pages[0].fields[0].allowed_types", "extensions"),
        ([{"title": "A", "fields": [{"key": "a", "label": "A", "colour": "red"}]}],
         "districts[0].forms[0].pages[0].fields[0].colour", "unknown field"),
    ],
)
def test_bad_pages_name_the_json_path_and_write_nothing(pages, path, message):
    with pytest.raises(ScenarioError) as exc:
        load_data(scenario(pages))
    assert exc.value.path == path and message in exc.value.message
    assert not Form.objects.exists() and not FormPage.objects.exists()


def test_field_keys_are_unique_within_a_form_across_pages(cast):
    form = make_form(cast.district)
    page = FormPage.objects.get(form=form, order=2)
    with pytest.raises(ValidationError, match="already uses this key"):
        FormField(page=page, order=9, key="nickname", label="Again").full_clean()


def test_a_form_without_pages_gets_one_default_page(cast):
    form = make_form(cast.district, pages=None)
    definition = definition_for(form)
    assert definition.derived and definition.page_count == 1
    assert definition.page(1).title == form.name
    kinds = {f.key: f.kind for f in definition.fields}
    assert kinds["signature"] == "signature" and kinds["birth_date"] == "date"
    assert not FormPage.objects.exists()  # derived, never stored


def test_support_staff_edit_pages_and_fields_in_django_admin(client, cast):
    form = make_form(cast.district)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = FormPage.objects.get(form=form, order=1)
    assert client.get(reverse("admin:forms_catalog_formpage_changelist")).status_code == 200
    response = client.get(reverse("admin:forms_catalog_formpage_change", args=[page.pk]))
    assert response.status_code == 200 and b"Preferred name" in response.content
    assert client.get(reverse("admin:forms_catalog_submissionrevision_changelist")).status_code == 200
    assert client.get(reverse("admin:forms_catalog_formlock_changelist")).status_code == 200


def test_the_readme_example_of_form_pages_loads():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Form pages in scenario files", 1)[1]
    form = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    load_data({"districts": [{"slug": "readme", "name": "Readme Schools", "forms": [form]}]})
    definition = definition_for(Form.objects.get(key="lunch"))
    assert [p.title for p in definition.pages] == ["Household", "Signature"]
    assert definition.page(1).fields[3].allowed_types == (".pdf", ".jpg", ".png")
