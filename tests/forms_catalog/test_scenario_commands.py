"""`load_scenario` (idempotent create-or-update) and `portal_forms` (what a guardian sees), per SCENARIOS.md."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from forms_catalog.models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Submission
from sso.models import SSOConfiguration
from tests.forms_catalog.scenarios import BASE, document, snapshot, write

pytestmark = pytest.mark.django_db

AT = "2025-09-15T00:00:00Z"


def load(tmp_path, data, name="scenario.json") -> str:
    out = io.StringIO()
    call_command("load_scenario", write(tmp_path, data, name), stdout=out)
    return out.getvalue()


def portal(*args, guardian="g-maria", student="1001", at=AT) -> dict:
    out = io.StringIO()
    argv = ["--district", "maple", "--guardian", guardian, "--student", student, *args]
    if at:
        argv += ["--at", at]
    call_command("portal_forms", *argv, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def maple(tmp_path):
    load(tmp_path, BASE, "base.json")


def item(form, name, product, status, year, approved_on=None, actions=(), opens="confirmation") -> dict:
    return {"form": form, "name": name, "product": product, "status": status, "academic_year": year,
            "approved_on": approved_on, "actions": list(actions), "opens": opens}


REG = item("reg", "Returning Registration", "enrollment", "started", "2025-2026", opens="continue")
FALL = item("fall", "Fall Survey", "enrollment", "not_started", "2025", opens="start")
MEDIA = item("media", "Media Release", "express", "not_started", "", opens="start")
OLD = item("old", "Old Registration", "enrollment", "submitted", "2024-2025", actions=["edit_form"])
LUNCH = item("lunch", "Lunch Application", "enrollment", "approved", "2025-26", approved_on="2025-04-11",
             actions=["pay_balance"])


# --- load_scenario ------------------------------------------------------------------------------


def test_load_scenario_creates_everything_in_the_file(tmp_path):
    out = load(tmp_path, BASE)
    # district + sso + 2 students + 3 guardians + 3 links + 2 packets + 7 forms + 3 submissions
    assert out.endswith("1 district(s) loaded, 22 change(s).\n")
    d = District.objects.get(slug="maple")
    assert (d.name, d.environment, d.has_enrollment, d.has_express, d.mypowerhub_enabled) == (
        "Maple Grove Schools", "US2", True, True, True)
    assert GuardianStudent.objects.get(guardian__global_id="g-carlos").restricted is True
    assert set(Packet.objects.get(key="sports").students.values_list("sis_id", flat=True)) == {"1002"}
    assert Packet.objects.get(key="bts").all_students is True
    lunch = Submission.objects.get(form__key="lunch")
    assert lunch.balance == Decimal("25.00") and lunch.started_by.global_id == "g-maria"
    assert list(lunch.ledger_entries.values_list("kind", "amount")) == [("charge", Decimal("25.00"))]
    assert Submission.objects.get(form__key="reg").answers == {"phone": "555-0100"}
    sso = SSOConfiguration.objects.get(district=d)
    assert sso.client_secret == "s3cret" and "s3cret" not in sso.client_secret_encrypted


def test_guardians_get_a_django_user_without_a_password(tmp_path):
    load(tmp_path, BASE)
    maria = Guardian.objects.select_related("user").get(global_id="g-maria")
    assert maria.user.email == "maria@example.org" and maria.user.first_name == "Maria"
    assert not maria.user.has_usable_password()
    assert get_user_model().objects.count() == 3


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    load(tmp_path, BASE)
    first = snapshot()
    assert first["forms_catalog.LedgerEntry"] and first["auth.User"]  # compared below, not empty
    out = load(tmp_path, BASE)
    assert out.endswith("1 district(s) loaded, 0 change(s).\n")
    assert snapshot() == first


def test_a_second_file_updates_values_in_place(tmp_path):
    load(tmp_path, BASE)
    ids = {f.key: f.id for f in Form.objects.all()}
    data = document(name="Maple Grove Unified", available_forms={"mode": "manual", "forms": ["reg"]})
    d = data["districts"][0]
    d["forms"][0]["name"] = "Returning Student Registration"
    d["forms"][3]["closes_at"] = "2025-12-01T00:00:00Z"
    d["guardians"][1]["students"][0]["restricted"] = False
    d["guardians"][0]["email"] = "maria.diaz@example.org"
    d["submissions"][0]["balance"] = "10.00"
    d["submissions"][1]["workspace"] = "approved"
    d["students"].append({"sis_id": "1003", "first_name": "Eva", "last_name": "Diaz"})
    d["sso"]["client_secret"] = "n3w-secret"
    out = load(tmp_path, data, "update.json")
    # district name + mode, form name + closes_at, restriction, guardian, selection, balance, workspace,
    # new student, sso secret
    assert out.endswith("1 district(s) loaded, 10 change(s).\n")

    assert District.objects.get().name == "Maple Grove Unified"
    assert District.objects.get().available_forms_mode == "manual"
    assert list(Form.objects.filter(in_available_selection=True).values_list("key", flat=True)) == ["reg"]
    assert {f.key: f.id for f in Form.objects.all()} == ids  # updated, not re-created
    assert Form.objects.get(key="reg").name == "Returning Student Registration"
    assert Form.objects.get(key="fall").closes_at.isoformat() == "2025-12-01T00:00:00+00:00"
    assert GuardianStudent.objects.get(guardian__global_id="g-carlos").restricted is False
    maria = Guardian.objects.select_related("user").get(global_id="g-maria")
    assert maria.email == maria.user.email == "maria.diaz@example.org"
    lunch = Submission.objects.get(form__key="lunch")
    assert lunch.balance == Decimal("10.00")
    assert list(lunch.ledger_entries.values_list("kind", "amount")) == [
        ("charge", Decimal("25.00")), ("adjustment", Decimal("-15.00"))]
    assert Submission.objects.get(form__key="old").workspace == "approved"
    assert SSOConfiguration.objects.get().client_secret == "n3w-secret"
    # And the update, loaded again, changes nothing.
    after = snapshot()
    assert load(tmp_path, data, "update.json").endswith("0 change(s).\n")
    assert snapshot() == after
    assert LedgerEntry.objects.count() == 2


def test_omitted_optional_values_fall_back_to_the_documented_defaults(tmp_path):
    data = {"districts": [{"slug": "tiny", "name": "Tiny", "students": [{"sis_id": "1", "first_name": "A",
                                                                          "last_name": "B"}],
                           "forms": [{"key": "f", "name": "F", "type": "public"}, {"key": "p", "name": "P",
                                                                                    "type": "private"}],
                           "submissions": [{"form": "f", "student": "1"}]}]}
    load(tmp_path, data)
    d = District.objects.get(slug="tiny")
    assert (d.environment, d.has_enrollment, d.has_express, d.mypowerhub_enabled, d.available_forms_mode) == (
        "US1", True, False, True, "automatic")
    f, p = Form.objects.get(key="f"), Form.objects.get(key="p")
    assert (f.student_type, f.status, f.opens_at, f.closes_at, f.academic_year, f.approval_status) == (
        "new_and_existing", "open", None, None, "", False)
    assert p.student_type == "existing"
    s = Submission.objects.get()
    assert (s.status, s.last_page, s.workspace, s.balance, s.update_requested, s.submitted_at) == (
        "in_progress", 1, "not_imported", Decimal("0.00"), False, None)
    assert not SSOConfiguration.objects.exists()


# --- portal_forms -------------------------------------------------------------------------------


def test_portal_forms_prints_the_documented_view_model(maple):
    assert portal() == {
        "district": "maple", "guardian": "g-maria", "student": "1001",
        "restricted": False,
        "product_headers": True,
        "overview": [REG, FALL, MEDIA, OLD, LUNCH],
        "todo": {"enrollment": [REG, FALL], "express": [{"packet": "bts", "forms": [MEDIA]}]},
        # Complete tab: "old" was last updated 1 May, "lunch" submitted 2 April.
        "complete": {"enrollment": [OLD, LUNCH], "express": []},
    }


def test_portal_forms_for_a_sibling_follows_the_packet_audience(maple):
    view = portal(student="1002")
    assert [(g["packet"], [i["form"] for i in g["forms"]]) for g in view["todo"]["express"]] == [
        ("bts", ["media"]), ("sports", ["physical"])]
    assert [i["form"] for i in view["todo"]["enrollment"]] == ["fall", "lunch", "reg"]


def test_portal_forms_at_evaluates_the_schedule_at_that_instant(maple):
    assert "fall" in [i["form"] for i in portal(at="2025-09-30T23:59:59Z")["todo"]["enrollment"]]
    assert "fall" not in [i["form"] for i in portal(at="2025-10-01T00:00:00Z")["todo"]["enrollment"]]
    assert "fall" in [i["form"] for i in portal(at="2025-09-01")["todo"]["enrollment"]]  # a date is midnight UTC
    assert "fall" not in [i["form"] for i in portal(at="2025-08-31T23:59:59Z")["todo"]["enrollment"]]


def test_portal_forms_at_rejects_a_bad_instant(maple):
    with pytest.raises(CommandError, match=r"--at: 'tomorrow' is not an ISO 8601 date-time"):
        portal(at="tomorrow")


def test_portal_forms_q_searches_both_tabs_but_not_the_overview(maple):
    full = portal()
    view = portal("--q", "REG")
    assert view["overview"] == full["overview"]
    assert view["todo"] == {"enrollment": [REG], "express": []}
    assert view["complete"] == {"enrollment": [OLD], "express": []}


def test_portal_forms_explain_lists_hidden_forms_with_reasons(maple):
    view = portal("--explain")
    assert view["hidden"] == [
        {"form": "kinder", "name": "Kindergarten Registration", "reason": "new_students_only",
         "explanation": "The form is for new students only."},
        {"form": "physical", "name": "Sports Physical", "reason": "packet_audience",
         "explanation": "The form's packet does not target this student."},
    ]
    assert "hidden" not in portal()


def test_portal_forms_restricted_guardian_sees_nothing_and_explain_says_why(maple):
    view = portal(guardian="g-carlos")
    assert view["restricted"] is True
    assert view["overview"] == [] and view["todo"] == view["complete"] == {"enrollment": [], "express": []}
    explained = portal("--explain", guardian="g-carlos")
    assert {h["reason"] for h in explained["hidden"]} == {"restricted_link"}
    assert len(explained["hidden"]) == 7


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--district", "nowhere", "--guardian", "g-maria", "--student", "1001"], "Unknown district 'nowhere'."),
        (["--district", "maple", "--guardian", "g-x", "--student", "1001"],
         "Unknown guardian 'g-x' in district 'maple'."),
        (["--district", "maple", "--guardian", "g-maria", "--student", "9"],
         "Unknown student '9' in district 'maple'."),
        (["--district", "maple", "--guardian", "g-lonely", "--student", "1001"],
         "Guardian 'g-lonely' is not linked to student '1001'."),
        (["--district", "maple", "--guardian", "g-carlos", "--student", "1002"],
         "Guardian 'g-carlos' is not linked to student '1002'."),
    ],
    ids=["unknown-district", "unknown-guardian", "unknown-student", "not-linked", "linked-to-a-sibling-only"],
)
def test_portal_forms_errors(maple, args, message):
    with pytest.raises(CommandError) as info:
        call_command("portal_forms", *args, stdout=io.StringIO())
    assert str(info.value) == message


def test_portal_forms_does_not_cross_districts(tmp_path, maple):
    oak = document(slug="oak", name="Oak", sso={}, submissions=[])
    oak["districts"][0]["guardians"] = [{"global_id": "g-oak", "students": [{"sis_id": "1001"}]}]
    load(tmp_path, oak, "oak.json")
    with pytest.raises(CommandError, match=r"^Unknown guardian 'g-oak' in district 'maple'\.$"):
        call_command("portal_forms", "--district", "maple", "--guardian", "g-oak", "--student", "1001")
    out = io.StringIO()
    call_command("portal_forms", "--district", "oak", "--guardian", "g-oak", "--student", "1001", "--at", AT,
                 stdout=out)
    oak_view = json.loads(out.getvalue())
    assert oak_view["complete"] == {"enrollment": [], "express": []}  # maple's submissions are not oak's
    assert portal()["complete"]["enrollment"] == [OLD, LUNCH]
