"""R1 (form open now) and R2 (student type) as pure rules: no database."""

from datetime import timedelta

import pytest

from forms_catalog import rules
from tests.forms_catalog.facts import BOTH, NOW, district, form, view

US = timedelta(microseconds=1)
DAY = timedelta(days=1)

# --- R1 ----------------------------------------------------------------------------------------


def test_r1_open_form_is_open_whatever_its_window_says():
    assert rules.is_open_now(form(status="open", opens_at=NOW + DAY, closes_at=NOW + 2 * DAY), NOW)
    assert rules.is_open_now(form(status="open", opens_at=NOW - 2 * DAY, closes_at=NOW - DAY), NOW)


def test_r1_closed_form_is_never_open_even_inside_its_window():
    assert not rules.is_open_now(form(status="closed"), NOW)
    assert not rules.is_open_now(form(status="closed", opens_at=NOW - DAY, closes_at=NOW + DAY), NOW)


def test_r1_scheduled_form_opens_exactly_at_opens_at_inclusive():
    f = form(status="scheduled", opens_at=NOW, closes_at=NOW + DAY)
    assert rules.is_open_now(f, NOW)
    assert not rules.is_open_now(f, NOW - US)


def test_r1_scheduled_form_is_closed_exactly_at_closes_at_exclusive():
    f = form(status="scheduled", opens_at=NOW - DAY, closes_at=NOW)
    assert not rules.is_open_now(f, NOW)
    assert rules.is_open_now(f, NOW - US)


def test_r1_scheduled_form_without_opens_at_is_open_until_it_closes():
    f = form(status="scheduled", opens_at=None, closes_at=NOW + DAY)
    assert rules.is_open_now(f, NOW - timedelta(days=3650))
    assert not rules.is_open_now(f, NOW + DAY)


def test_r1_scheduled_form_without_closes_at_stays_open_after_opening():
    f = form(status="scheduled", opens_at=NOW, closes_at=None)
    assert not rules.is_open_now(f, NOW - US)
    assert rules.is_open_now(f, NOW + timedelta(days=3650))


def test_r1_scheduled_form_without_any_bound_is_open():
    assert rules.is_open_now(form(status="scheduled"), NOW)


@pytest.mark.parametrize("offset", [-2 * DAY, 2 * DAY], ids=["before-window", "after-window"])
def test_r1_scheduled_form_outside_its_window_is_hidden_when_not_started(offset):
    f = form("reg", status="scheduled", opens_at=NOW - DAY, closes_at=NOW + DAY)
    assert rules.is_open_now(f, NOW)
    assert not rules.is_open_now(f, NOW + offset)
    decision = rules.decide(BOTH, f, None, NOW + offset)
    assert decision == rules.Decision(False, reason=rules.HIDDEN_NOT_OPEN)
    assert [i.form for i in view([f], now=NOW).overview] == ["reg"]
    assert view([f], now=NOW + offset).overview == ()


def test_r1_window_compares_instants_not_wall_clock_time():
    from datetime import timezone

    minus5 = timezone(timedelta(hours=-5))
    opens = NOW.astimezone(minus5)  # same instant, different offset
    assert rules.is_open_now(form(status="scheduled", opens_at=opens), NOW)
    assert not rules.is_open_now(form(status="scheduled", opens_at=opens), NOW - US)


# --- R2 ----------------------------------------------------------------------------------------

TYPES = ["public", "restricted", "private", "year_round_update"]
STUDENT_TYPES = ["new", "existing", "new_and_existing"]

# (type, student type) -> (allowed, existing-student form)
R2_TABLE = {
    ("public", "new"): (True, False),
    ("public", "existing"): (True, True),
    ("public", "new_and_existing"): (True, True),
    ("restricted", "new"): (True, False),
    ("restricted", "existing"): (True, True),
    ("restricted", "new_and_existing"): (True, True),
    ("private", "new"): (False, True),
    ("private", "existing"): (True, True),
    ("private", "new_and_existing"): (False, True),
    ("year_round_update", "new"): (False, True),
    ("year_round_update", "existing"): (True, True),
    ("year_round_update", "new_and_existing"): (False, True),
}


def test_r2_table_covers_every_type_and_student_type():
    assert set(R2_TABLE) == {(t, s) for t in TYPES for s in STUDENT_TYPES}


@pytest.mark.parametrize(("form_type", "student_type"), sorted(R2_TABLE))
def test_r2_student_type_allowed_per_form_type(form_type, student_type):
    allowed, _ = R2_TABLE[(form_type, student_type)]
    error = rules.student_type_error(form_type, student_type)
    if allowed:
        assert error is None
    else:
        assert error == "Private and Year-Round Update forms are always for existing students."


@pytest.mark.parametrize(("form_type", "student_type"), sorted(R2_TABLE))
def test_r2_existing_student_form_per_type_and_student_type(form_type, student_type):
    _, existing = R2_TABLE[(form_type, student_type)]
    f = form(type=form_type, student_type=student_type)
    assert rules.is_existing_student_form(f) is existing
    if form_type in ("private", "year_round_update"):
        assert rules.effective_student_type(f) == "existing"
    else:
        assert rules.effective_student_type(f) == student_type


@pytest.mark.parametrize(("form_type", "student_type"), sorted(R2_TABLE))
def test_r2_only_existing_student_forms_are_offered_without_a_submission(form_type, student_type):
    _, existing = R2_TABLE[(form_type, student_type)]
    f = form("f", type=form_type, student_type=student_type)
    decision = rules.decide(BOTH, f, None, NOW)
    if existing:
        assert decision == rules.Decision(True, "not_started")
    else:
        assert decision == rules.Decision(False, reason=rules.HIDDEN_NEW_ONLY)


def test_r2_unknown_student_type_is_refused_with_its_name():
    assert rules.student_type_error("public", "returning") == "'returning' is not a student type."


def test_r2_express_forms_count_as_existing_student_forms():
    f = form(product="express", type="", student_type="new", packet_key="p")
    assert rules.effective_student_type(f) == "existing"
    assert rules.is_existing_student_form(f)
    assert rules.decide(district(mode="none"), f, None, NOW).shown
