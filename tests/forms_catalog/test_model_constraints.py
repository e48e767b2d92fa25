"""The database itself refuses rows that break an invariant, even when validation is bypassed.

Each test writes a bad row with `QuerySet.update` or `bulk_create` (no `full_clean`) and expects
an IntegrityError from the database; check constraints are recognised by name. Model validation
(`full_clean`, what services and admin use) gives a clear message for the same rows.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from forms_catalog import services
from forms_catalog.models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission
from tests.factories import (
    DistrictFactory,
    ExpressFormFactory,
    FormFactory,
    GuardianFactory,
    LinkFactory,
    PacketFactory,
    StudentFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AT = datetime(2025, 4, 2, 15, tzinfo=UTC)


def refused(name: str | None = None):
    """Expect the database to refuse the write; a check constraint must be named in the error."""

    class _Refused:
        def __enter__(self):
            self.raises = pytest.raises(IntegrityError)
            self.info = self.raises.__enter__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()

        def __exit__(self, *exc):
            self.atomic.__exit__(*exc)
            handled = self.raises.__exit__(*exc)
            if name is not None:
                assert name in str(self.info.value)
            return handled

    return _Refused()


def update(obj, **values):
    type(obj).objects.filter(pk=obj.pk).update(**values)


# --- District -----------------------------------------------------------------------------------


def test_district_environment_must_be_us1_us2_or_can():
    d = DistrictFactory()
    with refused("district_environment_valid"):
        update(d, environment="EU1")


def test_district_available_forms_mode_must_be_known():
    d = DistrictFactory()
    with refused("district_available_forms_mode_valid"):
        update(d, available_forms_mode="some")


def test_district_slug_is_unique():
    DistrictFactory(slug="lincoln")
    with refused():
        District.objects.bulk_create([District(slug="lincoln", name="Another Lincoln")])


# --- People -------------------------------------------------------------------------------------


def test_student_sis_id_is_unique_per_district_only():
    s = StudentFactory(sis_id="42")
    StudentFactory(sis_id="42")  # another district: fine
    with refused():
        Student.objects.bulk_create([Student(district=s.district, sis_id="42", first_name="A", last_name="B")])


def test_guardian_global_id_is_unique_per_district():
    g = GuardianFactory(global_id="g-1")
    GuardianFactory(global_id="g-1")  # another district: fine
    with refused():
        Guardian.objects.bulk_create([Guardian(district=g.district, global_id="g-1", user=UserFactory())])


def test_guardian_user_signs_in_as_one_guardian_only():
    g = GuardianFactory()
    with refused():
        Guardian.objects.bulk_create([Guardian(district=g.district, global_id="other", user=g.user)])


def test_guardian_is_linked_to_a_student_once():
    link = LinkFactory()
    with refused():
        GuardianStudent.objects.bulk_create([GuardianStudent(guardian=link.guardian, student=link.student)])


def test_packet_key_is_unique_per_district():
    p = PacketFactory(key="bts")
    with refused():
        Packet.objects.bulk_create([Packet(district=p.district, key="bts", name="Again")])


# --- Forms --------------------------------------------------------------------------------------


def test_form_key_is_unique_per_district():
    f = FormFactory(key="reg")
    FormFactory(key="reg")  # another district: fine
    with refused():
        Form.objects.bulk_create([Form(district=f.district, key="reg", name="Again", type="public")])


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"product": "sis"}, "form_product_valid"),
        ({"status": "archived"}, "form_status_valid"),
        ({"student_type": "returning"}, "form_student_type_valid"),
        ({"type": ""}, "form_enrollment_has_type"),
        ({"type": "other"}, "form_enrollment_has_type"),
    ],
)
def test_form_enum_and_type_constraints(values, constraint):
    f = FormFactory()
    with refused(constraint):
        update(f, **values)


def test_enrollment_form_cannot_belong_to_a_packet():
    f = FormFactory()
    packet = PacketFactory(district=f.district)
    with refused("form_enrollment_has_type"):
        update(f, packet=packet)


def test_express_form_needs_a_packet():
    f = ExpressFormFactory()
    with refused("form_express_needs_packet"):
        update(f, packet=None)


def test_express_form_has_no_type():
    f = ExpressFormFactory()
    with refused("form_express_needs_packet"):
        update(f, type="public")


@pytest.mark.parametrize("form_type", ["private", "year_round_update"])
@pytest.mark.parametrize("student_type", ["new", "new_and_existing"])
def test_r2_database_refuses_a_non_existing_student_type_on_fixed_types(form_type, student_type):
    f = FormFactory(type=form_type, student_type="existing")
    with refused("form_fixed_student_type"):
        update(f, student_type=student_type)
    with refused("form_fixed_student_type"):
        Form.objects.bulk_create([Form(district=f.district, key="x", name="X", type=form_type,
                                       student_type=student_type)])


@pytest.mark.parametrize("student_type", ["new", "new_and_existing"])
def test_r2_database_refuses_a_non_existing_student_type_on_express_forms(student_type):
    f = ExpressFormFactory()
    with refused("form_express_student_type"):
        update(f, student_type=student_type)


@pytest.mark.parametrize("form_type", ["private", "year_round_update"])
@pytest.mark.parametrize("student_type", ["new", "new_and_existing"])
def test_r2_model_validation_refuses_it_with_a_clear_message_on_student_type(form_type, student_type):
    district = DistrictFactory()
    form = Form(district=district, key="k", name="Lunch", type=form_type, student_type=student_type)
    with pytest.raises(ValidationError) as info:
        form.full_clean()
    assert info.value.message_dict == {
        "student_type": [
            "Private and Year-Round Update forms are always for existing students; Student Type must be Existing."
        ]
    }


@pytest.mark.parametrize("form_type", ["public", "restricted"])
@pytest.mark.parametrize("student_type", ["new", "existing", "new_and_existing"])
def test_r2_public_and_restricted_forms_accept_every_student_type(form_type, student_type):
    district = DistrictFactory()
    form, _ = services.form_upsert(district=district, key="k", name="Reg", type=form_type,
                                   student_type=student_type)
    assert Form.objects.get(pk=form.pk).student_type == student_type


@pytest.mark.parametrize("form_type", ["private", "year_round_update"])
def test_r2_form_update_service_refuses_new_students_on_fixed_types_and_keeps_the_row(form_type):
    form = FormFactory(type=form_type, student_type="existing")
    with pytest.raises(ValidationError) as info:
        services.form_update(form=form, student_type="new")
    assert "always for existing students" in info.value.message_dict["student_type"][0]
    assert Form.objects.get(pk=form.pk).student_type == "existing"


def test_express_form_validation_messages():
    district = DistrictFactory()
    form = Form(district=district, key="m", name="Media", product="express", type="public",
                student_type="new")
    with pytest.raises(ValidationError) as info:
        form.full_clean()
    assert info.value.message_dict == {
        "type": ["Enrollment Express forms have no form type."],
        "packet": ["An Enrollment Express form needs a packet."],
        "student_type": ["Enrollment Express forms are always for existing students."],
    }


def test_form_packet_of_another_district_is_refused():
    form = ExpressFormFactory()
    foreign = PacketFactory()
    form.packet = foreign
    with pytest.raises(ValidationError) as info:
        form.full_clean()
    assert info.value.message_dict["packet"] == ["The packet belongs to another district."]


# --- Submissions --------------------------------------------------------------------------------


def test_one_submission_per_student_and_form():
    s = SubmissionFactory()
    with refused():
        Submission.objects.bulk_create([Submission(student=s.student, form=s.form, district=s.district)])


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"status": "draft"}, "submission_status_valid"),
        ({"workspace": "lost"}, "submission_workspace_valid"),
        ({"balance": Decimal("-0.01")}, "submission_balance_not_negative"),
        ({"last_page": 0}, "submission_last_page_positive"),
        ({"version": 0}, "submission_version_positive"),
    ],
)
def test_submission_value_constraints(values, constraint):
    s = SubmissionFactory()
    with refused(constraint):
        update(s, **values)


def test_submitted_submission_needs_its_submission_time():
    s = SubmissionFactory()
    with refused("submission_submitted_has_time"):
        update(s, status="submitted")
    update(s, status="submitted", submitted_at=AT)  # with the time it is fine
    with refused("submission_submitted_has_time"):
        update(s, submitted_at=None)


def test_submission_validation_messages():
    s = SubmissionFactory.build(student=StudentFactory(), status="submitted", submitted_at=None)
    s.form = FormFactory(district=s.student.district)
    s.district = s.student.district
    with pytest.raises(ValidationError) as info:
        s.full_clean()
    assert info.value.message_dict["submitted_at"] == ["A submitted submission needs its submission time."]


# --- Ledger -------------------------------------------------------------------------------------


def _entry(submission, **values):
    base = {"submission": submission, "kind": "charge", "amount": Decimal("10.00"), "created_at": timezone.now()}
    base.update(values)
    return LedgerEntry(**base)


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"kind": "refund"}, "ledger_kind_valid"),
        ({"amount": Decimal("0")}, "ledger_amount_nonzero"),
        ({"kind": "payment", "amount": Decimal("5.00")}, "ledger_payment_negative"),
        ({"kind": "charge", "amount": Decimal("-5.00")}, "ledger_charge_positive"),
    ],
)
def test_ledger_value_constraints(values, constraint):
    s = SubmissionFactory()
    with refused(constraint):
        LedgerEntry.objects.bulk_create([_entry(s, **values)])


def test_ledger_payment_reference_is_unique_per_submission_but_blank_repeats():
    s = SubmissionFactory()
    LedgerEntry.objects.bulk_create([_entry(s, reference=""), _entry(s, reference=""), _entry(s, reference="pi_1")])
    with refused():
        LedgerEntry.objects.bulk_create([_entry(s, reference="pi_1")])
    other = SubmissionFactory()
    LedgerEntry.objects.bulk_create([_entry(other, reference="pi_1")])  # another submission: fine


# --- Model validation names the broken rule in words -------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": "payment", "amount": Decimal("5.00")}, "A payment is recorded as a negative amount."),
        ({"kind": "charge", "amount": Decimal("-5.00")}, "A charge is a positive amount."),
        ({"kind": "adjustment", "amount": Decimal("0.00")}, "A ledger entry cannot be zero."),
    ],
)
def test_ledger_validation_explains_the_broken_rule(values, message):
    entry = _entry(SubmissionFactory(), **values)
    with pytest.raises(ValidationError) as info:
        entry.full_clean()
    assert info.value.messages == [message]


def test_submission_version_validation_explains_the_broken_rule():
    s = SubmissionFactory()
    s.version = 0
    with pytest.raises(ValidationError) as info:
        s.full_clean()
    assert info.value.messages == ["The version is at least 1."]


def test_r2_constraint_message_matches_the_field_message():
    constraint = next(c for c in Form._meta.constraints if c.name == "form_fixed_student_type")
    assert constraint.violation_error_message == (
        "Private and Year-Round Update forms are always for existing students; Student Type must be Existing."
    )
