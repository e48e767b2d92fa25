"""Money: a submission's balance is the sum of its ledger entries, and only services move it (R9 pay_balance)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from forms_catalog import services
from forms_catalog.models import LedgerEntry, Submission
from tests.factories import SubmissionFactory

pytestmark = pytest.mark.django_db


def balance_of(submission) -> Decimal:
    return Submission.objects.get(pk=submission.pk).balance


def entries(submission) -> list[tuple[str, Decimal]]:
    return list(LedgerEntry.objects.filter(submission=submission).values_list("kind", "amount"))


def test_balance_is_the_sum_of_charges_payments_and_adjustments():
    s = SubmissionFactory()
    services.ledger_add(submission=s, kind="charge", amount=Decimal("40.00"), reason="Athletics fee")
    services.ledger_add(submission=s, kind="payment", amount=Decimal("-15.50"), reference="pi_1")
    services.ledger_add(submission=s, kind="adjustment", amount=Decimal("-4.50"), reason="Sibling discount")
    assert balance_of(s) == Decimal("20.00")
    assert sum(a for _, a in entries(s)) == balance_of(s)


def test_ledger_entry_records_who_and_when(django_user_model):
    s = SubmissionFactory()
    staff = django_user_model.objects.create_user("clerk")
    entry = services.ledger_add(submission=s, kind="charge", amount=Decimal("5.00"), reason="Fee", user=staff)
    entry.refresh_from_db()
    assert entry.created_by == staff and entry.created_at is not None and entry.reason == "Fee"


def test_balance_set_from_zero_records_a_charge():
    s = SubmissionFactory()
    assert services.balance_set(submission=s, balance=Decimal("25.00"), reason="Import") is True
    assert entries(s) == [("charge", Decimal("25.00"))]
    assert balance_of(s) == Decimal("25.00")


def test_balance_set_is_idempotent():
    s = SubmissionFactory()
    services.balance_set(submission=s, balance=Decimal("25.00"), reason="Import")
    assert services.balance_set(submission=s, balance=Decimal("25.00"), reason="Import") is False
    assert services.balance_set(submission=s, balance=Decimal("25"), reason="Import") is False
    assert entries(s) == [("charge", Decimal("25.00"))]


def test_balance_set_to_zero_from_zero_writes_nothing():
    s = SubmissionFactory()
    assert services.balance_set(submission=s, balance=Decimal("0"), reason="Import") is False
    assert entries(s) == []


def test_balance_set_lower_records_an_adjustment_not_a_payment():
    s = SubmissionFactory()
    services.balance_set(submission=s, balance=Decimal("25.00"), reason="Import")
    assert services.balance_set(submission=s, balance=Decimal("10.00"), reason="Import") is True
    assert entries(s) == [("charge", Decimal("25.00")), ("adjustment", Decimal("-15.00"))]
    assert balance_of(s) == Decimal("10.00")


def test_balance_set_repairs_a_stale_cached_balance_without_a_new_entry():
    s = SubmissionFactory()
    services.balance_set(submission=s, balance=Decimal("25.00"), reason="Import")
    Submission.objects.filter(pk=s.pk).update(balance=Decimal("99.00"))
    assert services.balance_set(submission=s, balance=Decimal("25.00"), reason="Import") is False
    assert balance_of(s) == Decimal("25.00")
    assert len(entries(s)) == 1


def test_a_payment_larger_than_the_balance_is_refused_and_leaves_no_entry():
    s = SubmissionFactory()
    services.ledger_add(submission=s, kind="charge", amount=Decimal("10.00"))
    with pytest.raises(ValidationError) as info:
        services.ledger_add(submission=s, kind="payment", amount=Decimal("-10.01"), reference="pi_big")
    assert info.value.message_dict["balance"] == ["The balance cannot be negative."]
    assert entries(s) == [("charge", Decimal("10.00"))]
    assert balance_of(s) == Decimal("10.00")


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("payment", Decimal("5.00")), ("charge", Decimal("-5.00")), ("charge", Decimal("0")), ("refund", Decimal("1"))],
)
def test_ledger_add_refuses_entries_of_the_wrong_sign_or_kind(kind, amount):
    s = SubmissionFactory()
    services.ledger_add(submission=s, kind="charge", amount=Decimal("50.00"))
    with pytest.raises(ValidationError):
        services.ledger_add(submission=s, kind=kind, amount=amount)
    assert balance_of(s) == Decimal("50.00")
    assert len(entries(s)) == 1


def test_the_same_payment_reference_is_recorded_once():
    s = SubmissionFactory()
    services.ledger_add(submission=s, kind="charge", amount=Decimal("50.00"))
    services.ledger_add(submission=s, kind="payment", amount=Decimal("-20.00"), reference="pi_same")
    with pytest.raises((ValidationError, IntegrityError)):
        services.ledger_add(submission=s, kind="payment", amount=Decimal("-20.00"), reference="pi_same")
    assert balance_of(s) == Decimal("30.00")
    assert len(entries(s)) == 2


def test_submission_upsert_with_a_balance_goes_through_the_ledger():
    s = SubmissionFactory()
    _, changed = services.submission_upsert(student=s.student, form=s.form, balance=Decimal("12.00"))
    assert changed is True
    assert entries(s) == [("charge", Decimal("12.00"))]
    _, changed = services.submission_upsert(student=s.student, form=s.form, balance=Decimal("12.00"))
    assert changed is False
    assert len(entries(s)) == 1


def test_balance_is_exact_to_the_cent_when_amounts_are_not_binary_fractions():
    # 0.30 - 0.10 is 0.19999999999999998 in binary floating point (SQLite sums decimals as floats).
    s = SubmissionFactory()
    services.ledger_add(submission=s, kind="charge", amount=Decimal("0.30"))
    services.ledger_add(submission=s, kind="payment", amount=Decimal("-0.10"), reference="pi_a")
    assert balance_of(s) == Decimal("0.20")
    services.ledger_add(submission=s, kind="payment", amount=Decimal("-0.20"), reference="pi_b")
    assert balance_of(s) == Decimal("0.00")
    assert services.balance_set(submission=s, balance=Decimal("0.00"), reason="Import") is False
