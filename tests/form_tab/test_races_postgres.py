"""Races on PostgreSQL with real threads, each on its own connection: two starts (R9), two saves of
the same page (R10), a double submit, a double payment, two tabs taking the open-form lock (R9)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone

from forms_catalog import services as domain
from forms_catalog.form_definitions import definition_for
from forms_catalog.models import FormLock, LedgerEntry, Submission, SubmissionRevision
from parent_portal.form_runtime import services
from parent_portal.form_runtime.payments import Card, SandboxGateway
from tests.conftest import make_cast
from tests.form_tab.conftest import make_form

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

GOOD_CARD = Card("4242424242424242", 12, 2099, "123", "Maria Diaz")


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL's row locks (DATABASE_URL=postgres://...)")


def race(*calls, timeout=30):
    """Run `calls` at the same moment in threads; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a racing request hung"
    return results


def link_of(guardian, student):
    return guardian.links.select_related("guardian", "student", "student__district").get(student=student)


def data(**values) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in values.items():
        q[f"f-{key}"] = value
    return q


@pytest.fixture
def c():
    cast = make_cast()
    cast.form = make_form(cast.district)
    cast.other_form = make_form(cast.district, key="lunch", name="Free Meals", type="private")
    return cast


def test_two_guardians_starting_at_once_make_one_submission(c):
    results = race(
        lambda: services.submission_start(link=link_of(c.guardian, c.student), form=c.form),
        lambda: services.submission_start(link=link_of(c.co_guardian, c.student), form=c.form),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert results[0][0].pk == results[1][0].pk
    assert sorted(created for _, created in results) == [False, True]
    assert Submission.objects.filter(student=c.student, form=c.form).count() == 1


def test_two_saves_of_the_same_page_one_wins_the_other_is_refused_R10(c):
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    definition = definition_for(c.form)

    def save(name):
        return lambda: services.submission_save_page(
            submission=submission, definition=definition, page=1, files={}, base_version=1, next_page=2,
            data=data(nickname=name, birth_date="2017-04-12"),
        )

    results = race(save("Annie"), save("Ana Sofia"))
    saved = [r for r in results if isinstance(r, Submission)]
    stale = [r for r in results if isinstance(r, services.StaleVersion)]
    assert len(saved) == 1 and len(stale) == 1, results
    submission.refresh_from_db()
    assert submission.version == 2
    assert submission.answers["nickname"] == saved[0].answers["nickname"]


def test_double_submit_records_one_version(c):
    submission, _ = services.submission_start(link=link_of(c.guardian, c.student), form=c.form)
    definition = definition_for(c.form)
    submission = services.submission_save_page(
        submission=submission, definition=definition, page=1, files={}, base_version=1, next_page=2,
        data=data(nickname="Annie", birth_date="2017-04-12"),
    )
    version = submission.version

    def submit():  # what one click on Submit does: save the last page, then submit, in one transaction
        with transaction.atomic():
            saved = services.submission_save_page(
                submission=submission, definition=definition, page=2, files={}, base_version=version, next_page=2,
                data=data(lunch="Home", signature="Maria Diaz"),
            )
            return services.submission_submit(submission=saved, guardian=c.guardian, definition=definition,
                                              base_version=saved.version)

    results = race(submit, submit)
    assert sum(isinstance(r, Submission) for r in results) == 1, results
    assert all(isinstance(r, Submission | services.NotEditable) for r in results), results
    assert SubmissionRevision.objects.filter(submission=submission).count() == 1
    submission.refresh_from_db()
    assert submission.status == "submitted"


def test_double_payment_with_one_key_charges_once(c):
    submission, _ = domain.submission_upsert(student=c.student, form=c.form, status="submitted",
                                             submitted_at=timezone.now(), balance=Decimal("35.00"))

    def pay():
        return services.payment_make(submission=submission, amount=Decimal("35.00"), card=GOOD_CARD,
                                     idempotency_key="double-click")

    results = race(pay, pay)
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(r.repeated for r in results) == [False, True]
    assert LedgerEntry.objects.filter(submission=submission, kind="payment").count() == 1
    assert len(SandboxGateway.charges) == 1
    submission.refresh_from_db()
    assert submission.balance == Decimal("0.00")


def test_two_payments_of_the_whole_balance_cannot_both_go_through(c):
    submission, _ = domain.submission_upsert(student=c.student, form=c.form, status="submitted",
                                             submitted_at=timezone.now(), balance=Decimal("35.00"))

    def pay(key):
        return lambda: services.payment_make(submission=submission, amount=Decimal("35.00"), card=GOOD_CARD,
                                             idempotency_key=key)

    results = race(pay("tab-1"), pay("tab-2"))
    assert sum(isinstance(r, services.PaymentOutcome) for r in results) == 1, results
    assert sum(isinstance(r, services.PaymentRefused) for r in results) == 1, results
    submission.refresh_from_db()
    assert submission.balance == Decimal("0.00")
    assert len(SandboxGateway.charges) == 1


def test_two_app_servers_opening_two_forms_grant_one_R9(c):
    results = race(
        lambda: services.form_lock_acquire(guardian=c.guardian, form=c.form, student=c.student, token="a"),
        lambda: services.form_lock_acquire(guardian=c.guardian, form=c.other_form, student=c.student, token="b"),
    )
    assert sorted(r.granted for r in results) == [False, True], results
    assert FormLock.objects.filter(guardian=c.guardian).count() == 1
