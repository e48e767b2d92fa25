"""R3 (which forms are shown), R4 (Available Forms) and R5 (display status) as pure rules."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from forms_catalog import rules
from tests.forms_catalog.facts import BOTH, NOW, district, express, form, keys, sub, view

WORKSPACES = ["not_imported", "pending_approval", "approved", "discarded", "rejected"]

# --- R3 ----------------------------------------------------------------------------------------


def test_r3_integration_off_shows_nothing_not_even_submitted_forms():
    forms = [form("a"), form("b"), express("c")]
    v = view(forms, {"b": sub("submitted"), "a": sub("in_progress")}, dist=district(enabled=False))
    assert v.overview == () and v.todo.is_empty and v.complete.is_empty
    for f in forms:
        assert rules.decide(district(enabled=False), f, None, NOW).reason == rules.HIDDEN_INTEGRATION_OFF


def test_r3_restricted_link_shows_nothing():
    forms = [form("a"), express("c")]
    v = view(forms, {"a": sub("submitted")}, restricted=True)
    assert v.restricted is True
    assert v.overview == () and v.todo.is_empty and v.complete.is_empty
    assert rules.decide(BOTH, forms[0], None, NOW, restricted=True).reason == rules.HIDDEN_RESTRICTED


def test_r3_restricted_link_explains_every_hidden_form():
    v = view([form("a"), express("c")], restricted=True, explain=True)
    assert {(h.form, h.reason) for h in v.hidden} == {("a", "restricted_link"), ("c", "restricted_link")}


@pytest.mark.parametrize("submission", [None, "in_progress", "submitted"])
def test_r3_product_the_district_did_not_buy_is_hidden(submission):
    only_enrollment = district(products=("enrollment",))
    f = express("media")
    s = sub(submission) if submission else None
    assert rules.decide(only_enrollment, f, s, NOW) == rules.Decision(False, reason=rules.HIDDEN_PRODUCT)
    only_express = district(products=("express",))
    e = form("reg")
    assert rules.decide(only_express, e, s, NOW).reason == rules.HIDDEN_PRODUCT


@pytest.mark.parametrize("workspace", WORKSPACES)
@pytest.mark.parametrize("status", ["closed", "scheduled"])
def test_r3_submitted_form_is_shown_even_when_not_open(status, workspace):
    f = form("a", status=status, opens_at=NOW - timedelta(days=9), closes_at=NOW - timedelta(days=1))
    assert not rules.is_open_now(f, NOW)
    assert rules.decide(BOTH, f, sub("submitted", workspace), NOW).shown


def test_r3_in_progress_submission_on_a_closed_form_is_hidden():
    f = form("a", status="closed")
    assert rules.decide(BOTH, f, sub("in_progress"), NOW) == rules.Decision(False, reason=rules.HIDDEN_NOT_OPEN)


def test_r3_in_progress_submission_of_a_scheduled_form_is_shown_only_inside_the_window():
    f = form("a", status="scheduled", opens_at=NOW, closes_at=NOW + timedelta(days=1))
    assert rules.decide(BOTH, f, sub("in_progress"), NOW) == rules.Decision(True, "started")
    assert not rules.decide(BOTH, f, sub("in_progress"), NOW + timedelta(days=1)).shown


def test_r3_closed_form_in_progress_vs_submitted():
    closed = form("a", status="closed")
    assert not rules.decide(BOTH, closed, sub("in_progress"), NOW).shown
    assert rules.decide(BOTH, closed, sub("submitted"), NOW).shown


def test_r3_closed_form_without_submission_is_hidden():
    assert rules.decide(BOTH, form(status="closed"), None, NOW).reason == rules.HIDDEN_NOT_OPEN


def test_r3_new_only_form_is_not_offered_but_its_in_progress_submission_is_shown():
    f = form("kinder", student_type="new")
    assert rules.decide(BOTH, f, None, NOW) == rules.Decision(False, reason=rules.HIDDEN_NEW_ONLY)
    assert rules.decide(BOTH, f, sub("in_progress"), NOW) == rules.Decision(True, "started")
    assert rules.decide(BOTH, f, sub("submitted"), NOW) == rules.Decision(True, "submitted")


def test_r3_express_packet_for_all_students_is_offered():
    assert rules.decide(BOTH, express("media", packet_targets_student=True), None, NOW) == rules.Decision(
        True, "not_started"
    )


def test_r3_express_packet_for_a_list_without_the_student_is_hidden():
    f = express("sports", packet_targets_student=False)
    assert rules.decide(BOTH, f, None, NOW) == rules.Decision(False, reason=rules.HIDDEN_PACKET_AUDIENCE)


def test_r3_express_submission_outside_the_packet_audience_stays_visible():
    f = express("sports", packet_targets_student=False)
    assert rules.decide(BOTH, f, sub("submitted"), NOW).shown
    assert rules.decide(BOTH, f, sub("in_progress"), NOW).shown


def test_r3_express_form_not_open_is_hidden():
    assert rules.decide(BOTH, express(status="closed"), None, NOW).reason == rules.HIDDEN_NOT_OPEN


def test_r3_explain_lists_each_hidden_form_with_its_reason_sorted_by_name():
    forms = [
        form("zz", name="Zebra", status="closed"),
        form("kinder", name="Kindergarten", student_type="new"),
        express("sports", name="Athletics", packet_targets_student=False),
        form("shown", name="Registration"),
    ]
    v = view(forms, explain=True)
    assert [(h.form, h.reason) for h in v.hidden] == [
        ("sports", "packet_audience"),
        ("kinder", "new_students_only"),
        ("zz", "not_open"),
    ]
    assert v.hidden[0].explanation == "The form's packet does not target this student."
    assert keys(v.overview) == ["shown"]
    assert view(forms).hidden == ()  # only on request


# --- R4 ----------------------------------------------------------------------------------------


def test_r4_automatic_offers_every_open_existing_student_form():
    forms = [form("a"), form("b", type="private", student_type="existing")]
    assert keys(view(forms, dist=district(mode="automatic")).overview) == ["a", "b"]


def test_r4_none_offers_no_enrollment_form_but_express_forms_still_appear():
    forms = [form("a"), express("m")]
    v = view(forms, dist=district(mode="none"), explain=True)
    assert keys(v.overview) == ["m"]
    assert [(h.form, h.reason) for h in v.hidden] == [("a", "available_forms_none")]


def test_r4_manual_offers_only_the_selected_forms():
    forms = [form("a", in_available_selection=True), form("b", in_available_selection=False)]
    v = view(forms, dist=district(mode="manual"), explain=True)
    assert keys(v.overview) == ["a"]
    assert [(h.form, h.reason) for h in v.hidden] == [("b", "not_in_manual_selection")]


def test_r4_manual_selection_holding_a_new_only_form_does_not_offer_it():
    f = form("kinder", student_type="new", in_available_selection=True)
    assert rules.decide(district(mode="manual"), f, None, NOW).reason == rules.HIDDEN_NEW_ONLY


def test_r4_manual_selection_holding_a_closed_form_does_not_offer_it():
    f = form("old", status="closed", in_available_selection=True)
    assert rules.decide(district(mode="manual"), f, None, NOW).reason == rules.HIDDEN_NOT_OPEN


def test_r4_manual_selection_holding_a_scheduled_form_follows_its_window():
    f = form("s", status="scheduled", opens_at=NOW + timedelta(hours=1), in_available_selection=True)
    assert not rules.decide(district(mode="manual"), f, None, NOW).shown
    assert rules.decide(district(mode="manual"), f, None, NOW + timedelta(hours=1)).shown


@pytest.mark.parametrize("mode", ["automatic", "none", "manual"])
@pytest.mark.parametrize(("status", "expected"), [("in_progress", "started"), ("submitted", "submitted")])
def test_r4_setting_never_hides_in_progress_or_submitted_forms(mode, status, expected):
    f = form("a", in_available_selection=False)
    assert rules.decide(district(mode=mode), f, sub(status), NOW) == rules.Decision(True, expected)


# --- R5 ----------------------------------------------------------------------------------------

# (submission, workspace, approval status) -> display status
R5_TABLE = [
    (None, None, False, "not_started"),
    (None, None, True, "not_started"),
    ("in_progress", "not_imported", False, "started"),
    ("in_progress", "not_imported", True, "started"),
    ("submitted", "not_imported", False, "submitted"),
    ("submitted", "not_imported", True, "pending_review"),
    ("submitted", "pending_approval", False, "submitted"),
    ("submitted", "pending_approval", True, "pending_review"),
    ("submitted", "approved", False, "submitted"),
    ("submitted", "approved", True, "approved"),
    ("submitted", "discarded", False, "submitted"),
    ("submitted", "discarded", True, "submitted"),
    ("submitted", "rejected", False, "submitted"),
    ("submitted", "rejected", True, "rejected"),
]


@pytest.mark.parametrize(("status", "workspace", "approval", "expected"), R5_TABLE)
def test_r5_display_status_table(status, workspace, approval, expected):
    f = form("a", approval_status=approval)
    s = sub(status, workspace) if status else None
    assert rules.display_status(f, s) == expected
    (item,) = view([f], {"a": s} if s else None).overview
    assert item.status == expected


def test_r5_in_progress_status_ignores_the_workspace():
    for workspace in WORKSPACES:
        assert rules.display_status(form(approval_status=True), sub("in_progress", workspace)) == "started"


def test_r5_approved_on_is_the_utc_date_of_the_approval_time():
    # 21:30 in UTC-5 on 10 April is 02:30 UTC on 11 April.
    approved_at = datetime(2025, 4, 10, 21, 30, tzinfo=timezone(timedelta(hours=-5)))
    f = form("a", approval_status=True)
    (item,) = view([f], {"a": sub("submitted", "approved", approved_at=approved_at)}).overview
    assert item.status == "approved"
    assert item.as_json()["approved_on"] == "2025-04-11"


def test_r5_approved_on_is_only_set_for_approved_forms():
    at = datetime(2025, 4, 10, 9, tzinfo=UTC)
    off = form("off", approval_status=False)
    rejected = form("rej", approval_status=True)
    v = view([off, rejected], {"off": sub("submitted", "approved", approved_at=at),
                                "rej": sub("submitted", "rejected", approved_at=at)})
    assert {i.form: (i.status, i.as_json()["approved_on"]) for i in v.overview} == {
        "off": ("submitted", None),
        "rej": ("rejected", None),
    }


def test_r5_approved_without_an_approval_time_has_no_date():
    (item,) = view([form("a", approval_status=True)], {"a": sub("submitted", "approved")}).overview
    assert item.status == "approved" and item.as_json()["approved_on"] is None
