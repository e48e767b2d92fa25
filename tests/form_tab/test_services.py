"""Form-tab services, step by step: start (R9), page saves (R10), submit, update (R9 Edit Form),
payment (R9 Pay Outstanding Balance) and the one-open-form lock (R9)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone

from forms_catalog import services as domain
from forms_catalog.form_definitions import definition_for
from forms_catalog.models import FormLock, LedgerEntry, Submission, SubmissionRevision
from parent_portal.form_runtime import services
from parent_portal.form_runtime.payments import Card, SandboxGateway
from tests.form_tab.conftest import make_form

pytestmark = pytest.mark.django_db

GOOD_CARD = Card("4242424242424242", 12, 2099, "123", "Maria Diaz")
DECLINED_CARD = Card("4000000000000002", 12, 2099, "123", "Maria Diaz")


def link_of(guardian, student):
    return guardian.links.select_related("guardian", "student", "student__district").get(student=student)


def post(**values) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in values.items():
        if isinstance(value, list):
            q.setlist(f"f-{key}", value)
        else:
            q[f"f-{key}"] = value
    return q


def save(submission, page, base_version=None, next_page=None, **values):
    submission.refresh_from_db()
    return services.submission_save_page(
        submission=submission, definition=definition_for(submission.form), page=page, data=post(**values), files={},
        base_version=submission.version if base_version is None else base_version,
        next_page=next_page or page + 1,
    )


def fill_and_submit(c, submission):
    save(submission, 1, nickname="Annie", birth_date="2017-04-12")
    save(submission, 2, lunch="Home", signature="Maria Diaz")
    submission.refresh_from_db()
    return services.submission_submit(submission=submission, guardian=c.guardian,
                                      definition=definition_for(submission.form), base_version=submission.version)


# --- Start (R9) ---------------------------------------------------------------------------------


def test_start_creates_one_in_progress_submission_and_public_forms_open_on_instructions(form_cast):
    c = form_cast
    submission, created = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    assert created and submission.status == "in_progress" and submission.started_by == c.guardian
    assert submission.answers == {}  # public forms are not prefilled
    assert services.initial_page(c.form) == 0  # the instructions page
    again, created_again = services.submission_start(link=link_of(c.co_guardian, c.student), form=c.form)
    assert (again.pk, created_again) == (submission.pk, False)
    assert Submission.objects.filter(student=c.student, form=c.form).count() == 1


def test_private_form_starts_on_page_one_prefilled_from_the_sis_record(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.private_form)
    assert services.initial_page(c.private_form) == 1
    assert submission.answers == {"birth_date": "2017-04-12", "address": "418 Willow Lane"}


def test_year_round_update_form_without_pages_gets_the_default_page_prefilled(form_cast):
    c = form_cast
    form = make_form(c.district, key="yru", name="Address Update", type="year_round_update", pages=None)
    definition = definition_for(form)
    assert definition.derived and definition.page_count == 1
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=form)
    assert submission.answers["student_name"] == "Ana Diaz"
    assert submission.answers["birth_date"] == "2017-04-12"


@pytest.mark.parametrize(
    "change",
    [
        {"status": "closed"},  # R1: not open now
        {"student_type": "new"},  # R2/R3: new students only
    ],
)
def test_a_form_the_portal_does_not_show_cannot_be_started(form_cast, change):
    c = form_cast
    domain.form_update(form=c.form, **change)
    with pytest.raises(services.FormNotAvailable):
        services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    assert not Submission.objects.exists()


def test_available_forms_none_refuses_a_start(form_cast):
    c = form_cast
    domain.available_forms_set(district=c.district, mode="none")
    with pytest.raises(services.FormNotAvailable):
        services.submission_start(link=link_of(c.guardian, c.student), form=c.form)


def test_restricted_guardian_cannot_start_a_form_R8(form_cast):
    c = form_cast
    with pytest.raises(services.FormNotAvailable):
        services.submission_start(link=link_of(c.restricted_guardian, c.student), form=c.form)
    assert not Submission.objects.exists()


# --- Pages and R10 ------------------------------------------------------------------------------


def test_save_page_stores_clean_answers_bumps_the_version_and_remembers_the_next_page(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    saved = save(submission, 1, nickname=" Annie ", birth_date="2017-04-12", siblings="2", address="")
    assert saved.answers == {"nickname": "Annie", "birth_date": "2017-04-12", "siblings": "2", "address": ""}
    assert (saved.version, saved.last_page) == (2, 2)
    saved = save(submission, 2, lunch="School", activities=["Sports", "Art"], photo_ok="on", signature="Maria Diaz")
    assert saved.answers["activities"] == ["Art", "Sports"]  # in the form's order
    assert saved.answers["photo_ok"] is True
    assert saved.answers["signature"] == {"name": "Maria Diaz", "date": timezone.localdate().isoformat()}
    assert saved.last_page == 2  # the last page stays the last page


def test_invalid_page_is_refused_field_by_field_and_nothing_is_saved(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    with pytest.raises(services.PageInvalid) as exc:
        save(submission, 1, nickname="", birth_date="12/31/2017", siblings="many")
    assert set(exc.value.result.errors) == {"nickname", "birth_date", "siblings"}
    assert exc.value.result.typed["birth_date"] == "12/31/2017"  # shown again as typed
    submission.refresh_from_db()
    assert (submission.answers, submission.version) == ({}, 1)
    with pytest.raises(services.PageInvalid) as exc:
        save(submission, 2, lunch="Elsewhere", activities=["Chess"], signature="")
    assert set(exc.value.result.errors) == {"lunch", "activities", "signature"}


def test_stale_save_is_refused_R10(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    save(submission, 1, base_version=1, nickname="Annie", birth_date="2017-04-12")  # guardian A
    with pytest.raises(services.StaleVersion) as exc:  # guardian B opened page 1 at version 1 too
        save(submission, 1, base_version=1, nickname="Ana Sofia", birth_date="2017-04-12")
    assert exc.value.current_version == 2
    submission.refresh_from_db()
    assert submission.answers["nickname"] == "Annie"  # A's answers were not overwritten


def test_submit_checks_every_page(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    save(submission, 2, lunch="Home", signature="Maria Diaz")  # page 1 skipped
    submission.refresh_from_db()
    with pytest.raises(services.SubmitIncomplete) as exc:
        services.submission_submit(submission=submission, guardian=c.guardian, definition=definition_for(c.form),
                                   base_version=submission.version)
    assert exc.value.page == 1 and set(exc.value.errors) == {"nickname", "birth_date"}
    submission.refresh_from_db()
    assert submission.status == "in_progress" and not submission.revisions.exists()


def test_submit_records_the_first_version_and_a_second_submit_records_nothing(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    submitted = fill_and_submit(c, submission)
    assert submitted.status == "submitted" and submitted.submitted_at is not None
    assert submitted.workspace == "not_imported"
    revision = submitted.revisions.get()
    assert (revision.number, revision.kind, revision.submitted_by) == (1, "submission", c.guardian)
    assert revision.answers["nickname"] == "Annie"
    with pytest.raises(services.NotEditable):
        services.submission_submit(submission=submitted, guardian=c.guardian, definition=definition_for(c.form),
                                   base_version=submitted.version - 1)
    with pytest.raises(services.NotEditable):
        save(submitted, 1, nickname="Changed", birth_date="2017-04-12")
    assert submitted.revisions.count() == 1


# --- Edit Form (R9) -----------------------------------------------------------------------------


def test_update_only_when_requested(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    with pytest.raises(services.NotEditable):
        services.submission_update_start(submission=submission)  # in progress
    submitted = fill_and_submit(c, submission)
    with pytest.raises(services.NotEditable):
        services.submission_update_start(submission=submitted)  # no update requested


def test_update_starts_from_submitted_answers_and_resubmitting_keeps_every_version(form_cast):
    c = form_cast
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    submitted = fill_and_submit(c, submission)
    first_submitted_at = submitted.submitted_at
    domain.submission_upsert(student=c.student, form=c.form, update_requested=True, workspace="rejected",
                             answers={**submitted.answers, "nickname": "scribbled"})
    updating = services.submission_update_start(submission=submitted)
    assert updating.answers["nickname"] == "Annie"  # from the submitted version, at page 1
    assert updating.last_page == 1
    save(updating, 1, nickname="Ana", birth_date="2017-04-12")
    updating.refresh_from_db()
    done = services.submission_submit(submission=updating, guardian=c.co_guardian, definition=definition_for(c.form),
                                      base_version=updating.version)
    assert done.update_requested is False
    assert done.workspace == "not_imported"
    assert done.last_updated_at is not None and done.submitted_at == first_submitted_at
    versions = list(done.revisions.values_list("number", "kind", "answers__nickname"))
    assert versions == [(1, "submission", "Annie"), (2, "update", "Ana")]


def test_update_of_an_imported_submission_keeps_its_original_answers_as_version_one(form_cast):
    c = form_cast
    submission, _ = domain.submission_upsert(
        student=c.student, form=c.form, status="submitted", submitted_at=timezone.now() - timedelta(days=3),
        update_requested=True, answers={"nickname": "Imported", "birth_date": "2017-04-12", "lunch": "Home",
                                        "signature": {"name": "M D", "date": "2026-01-01"}},
    )
    services.submission_update_start(submission=submission)
    first = SubmissionRevision.objects.get(submission=submission)
    assert (first.number, first.kind, first.answers["nickname"]) == (1, "imported", "Imported")


# --- Payment (R9) -------------------------------------------------------------------------------


@pytest.fixture
def owing(form_cast):
    c = form_cast
    submission, _ = domain.submission_upsert(student=c.student, form=c.form, status="submitted",
                                             submitted_at=timezone.now(), balance=Decimal("35.00"))
    return submission


def test_payment_is_a_ledger_entry_and_the_balance_comes_from_the_ledger(owing, form_cast):
    outcome = services.payment_make(submission=owing, amount=Decimal("20.00"), card=GOOD_CARD,
                                    idempotency_key="k1", user=form_cast.guardian.user)
    owing.refresh_from_db()
    assert owing.balance == Decimal("15.00")
    entry = outcome.entry
    assert (entry.kind, entry.amount, entry.reference) == ("payment", Decimal("-20.00"), "pay-k1")
    assert "4242" in entry.reason and "4242424242424242" not in entry.reason  # never the card number
    assert sum(e.amount for e in owing.ledger_entries.all()) == owing.balance
    assert SandboxGateway.charges == [("pay-k1", Decimal("20.00"))]


def test_the_same_idempotency_key_pays_once(owing):
    first = services.payment_make(submission=owing, amount=Decimal("35.00"), card=GOOD_CARD, idempotency_key="k2")
    second = services.payment_make(submission=owing, amount=Decimal("35.00"), card=GOOD_CARD, idempotency_key="k2")
    assert second.repeated and second.entry.pk == first.entry.pk
    owing.refresh_from_db()
    assert owing.balance == Decimal("0.00")
    assert LedgerEntry.objects.filter(kind="payment").count() == 1
    assert len(SandboxGateway.charges) == 1


def test_declined_card_records_nothing(owing):
    with pytest.raises(services.PaymentRefused, match="declined"):
        services.payment_make(submission=owing, amount=Decimal("35.00"), card=DECLINED_CARD, idempotency_key="k3")
    owing.refresh_from_db()
    assert owing.balance == Decimal("35.00") and not LedgerEntry.objects.filter(kind="payment").exists()


def test_cannot_pay_more_than_the_balance(owing):
    with pytest.raises(services.PaymentRefused, match="more than"):
        services.payment_make(submission=owing, amount=Decimal("35.01"), card=GOOD_CARD, idempotency_key="k4")
    assert SandboxGateway.charges == []


# --- Cannot Open Another Form (R9) ----------------------------------------------------------------


def test_one_open_form_per_guardian(form_cast):
    c = form_cast
    assert services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.student, token="t1").granted
    refused = services.form_lock_acquire(guardian=c.guardian, form=c.private_form, student=c.student, token="t2")
    assert not refused.granted and refused.held_form == c.form and refused.held_student == c.student
    # The same form of another student is another form.
    assert not services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.sibling, token="t3").granted
    # Reopening the same form is fine, and other guardians are not affected.
    assert services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.student, token="t4").granted
    assert services.form_lock_acquire(guardian=c.co_guardian, form=c.private_form, student=c.student,
                                      token="t5").granted


def test_closing_the_tab_releases_only_its_own_lock(form_cast):
    c = form_cast
    services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.student, token="old-page")
    services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.student, token="next-page")
    assert not services.form_lock_release(guardian=c.guardian, token="old-page")  # the page that was left
    assert FormLock.objects.filter(guardian=c.guardian).exists()
    assert services.form_lock_release(guardian=c.guardian, token="next-page")  # the tab was closed
    assert services.form_lock_acquire(guardian=c.guardian, form=c.private_form, student=c.student,
                                      token="t").granted


def test_an_idle_lock_expires(form_cast, settings):
    c = form_cast
    settings.FORM_LOCK_TIMEOUT = 60
    t0 = timezone.now()
    services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.student, token="a", now=t0)
    assert not services.form_lock_acquire(guardian=c.guardian, form=c.private_form, student=c.student, token="b",
                                          now=t0 + timedelta(seconds=59)).granted
    assert services.form_lock_acquire(guardian=c.guardian, form=c.private_form, student=c.student, token="b",
                                      now=t0 + timedelta(seconds=60)).granted
