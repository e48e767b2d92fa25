"""Writes to the domain. Every change goes through a function here: admin, console, commands.

Each service validates with `full_clean()` before saving, saves only the fields that changed
(so repeating a call changes nothing), and runs in a transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from . import catalog_cache
from .models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission


def _apply(obj, values: dict) -> list[str]:
    """Set `values` on `obj`; return the names of the fields that changed."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def _save(obj, values: dict, *, exclude_unique: bool = False) -> tuple[object, bool]:
    """Validate and save `obj` with `values`; returns (obj, changed)."""
    creating = obj.pk is None
    changed = _apply(obj, values)
    if not creating and not changed:
        return obj, False
    obj.full_clean(validate_unique=not exclude_unique)
    if creating:
        obj.save()
    else:
        obj.save(update_fields=changed)
    return obj, True


# --- Districts -------------------------------------------------------------------------------


@transaction.atomic
def district_upsert(*, slug: str, **values) -> tuple[District, bool]:
    district = District.objects.filter(slug=slug).first() or District(slug=slug)
    return _save(district, values)


@transaction.atomic
def district_update(*, district: District, **values) -> District:
    _save(district, values)
    return district


@transaction.atomic
def available_forms_set(*, district: District, mode: str, form_ids: Iterable[int] = ()) -> bool:
    """R4: the district's Available Forms mode and manual selection (enrollment forms only)."""
    changed = _save(district, {"available_forms_mode": mode})[1]
    selected = set(form_ids)
    forms = Form.objects.filter(district=district)
    foreign = selected - set(forms.values_list("id", flat=True))
    if foreign:
        raise ValueError("The selection names forms of another district.")
    if forms.filter(id__in=selected, product=Form.Product.EXPRESS).exists():
        raise ValueError("Only enrollment forms can be selected.")
    changed |= bool(forms.filter(id__in=selected, in_available_selection=False).update(in_available_selection=True))
    changed |= bool(
        forms.exclude(id__in=selected).filter(in_available_selection=True).update(in_available_selection=False)
    )
    catalog_cache.bump(district.pk)  # QuerySet.update() sends no signal
    return changed


# --- People ----------------------------------------------------------------------------------


@transaction.atomic
def student_upsert(*, district: District, sis_id: str, **values) -> tuple[Student, bool]:
    student = Student.objects.filter(district=district, sis_id=sis_id).first() or Student(
        district=district, sis_id=sis_id
    )
    return _save(student, values)


def guardian_username(district: District, global_id: str) -> str:
    """A stable, unique Django username for a guardian account (usernames hold 150 chars)."""
    digest = hashlib.sha256(f"{district.pk}:{global_id}".encode()).hexdigest()[:24]
    return f"g-{district.pk}-{digest}"


@transaction.atomic
def guardian_upsert(*, district: District, global_id: str, **values) -> tuple[Guardian, bool]:
    """Create or update a guardian and the Django user that signs in as them."""
    guardian = Guardian.objects.select_related("user").filter(district=district, global_id=global_id).first()
    User = get_user_model()
    if guardian is None:
        user = User(username=guardian_username(district, global_id))
        user.set_unusable_password()
        user.email = values.get("email", "")
        user.first_name = values.get("first_name", "")[:150]
        user.last_name = values.get("last_name", "")[:150]
        user.save()
        guardian = Guardian(district=district, global_id=global_id, user=user)
    else:
        user_changed = _apply(
            guardian.user,
            {
                "email": values.get("email", guardian.email),
                "first_name": values.get("first_name", guardian.first_name)[:150],
                "last_name": values.get("last_name", guardian.last_name)[:150],
            },
        )
        if user_changed:
            guardian.user.save(update_fields=user_changed)
    return _save(guardian, values)


@transaction.atomic
def guardian_link_set(
    *, guardian: Guardian, student: Student, restricted: bool = False, active: bool = True
) -> tuple[GuardianStudent, bool]:
    """Link a guardian to a student, or change the link's restriction (R8)."""
    link = GuardianStudent.objects.filter(guardian=guardian, student=student).first() or GuardianStudent(
        guardian=guardian, student=student
    )
    return _save(link, {"restricted": restricted, "active": active})


# --- Packets and forms -----------------------------------------------------------------------


@transaction.atomic
def packet_upsert(
    *, district: District, key: str, name: str, students: Iterable[Student] | None = None
) -> tuple[Packet, bool]:
    """A packet for all students (`students=None`) or for the given students."""
    packet = Packet.objects.filter(district=district, key=key).first() or Packet(district=district, key=key)
    packet, changed = _save(packet, {"name": name, "all_students": students is None})
    wanted = {s.pk for s in students or ()}
    current = set(packet.students.values_list("id", flat=True))
    if wanted != current:
        packet.students.set(wanted)
        changed = True
    return packet, changed


def default_student_type(product: str, form_type: str) -> str:
    if product == Form.Product.EXPRESS or form_type in Form.FIXED_EXISTING_TYPES:
        return Form.StudentType.EXISTING
    return Form.StudentType.NEW_AND_EXISTING


@transaction.atomic
def form_upsert(*, district: District, key: str, **values) -> tuple[Form, bool]:
    form = Form.objects.filter(district=district, key=key).first() or Form(district=district, key=key)
    return _save(form, values)


@transaction.atomic
def form_update(*, form: Form, **values) -> Form:
    """Change a form's settings (Student Type, Approval Status...); R2 is enforced by validation."""
    _save(form, values)
    return form


# --- Submissions and money -------------------------------------------------------------------


@transaction.atomic
def submission_upsert(*, student: Student, form: Form, **values) -> tuple[Submission, bool]:
    """Create or update a submission as a whole (scenario files, support staff)."""
    balance = values.pop("balance", None)
    submission = Submission.objects.filter(student=student, form=form).first()
    creating = submission is None
    if creating:
        submission = Submission(student=student, form=form, district_id=student.district_id)
        values.setdefault("started_at", values.get("submitted_at") or timezone.now())
    submission, changed = _save(submission, values)
    if balance is not None:
        changed |= balance_set(submission=submission, balance=balance, reason="Balance set by import")
    return submission, changed


def _ledger_total(submission: Submission) -> Decimal:
    """The sum of the submission's ledger entries, in cents (SQLite sums decimals as floats)."""
    total = submission.ledger_entries.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    return Decimal(total).quantize(Decimal("0.01"))


def _refresh_balance(submission: Submission) -> None:
    total = _ledger_total(submission)
    if total != submission.balance:
        submission.balance = total
        submission.full_clean()
        submission.save(update_fields=["balance"])


@transaction.atomic
def ledger_add(
    *, submission: Submission, kind: str, amount: Decimal, reason: str = "", reference: str = "", user=None
) -> LedgerEntry:
    """Record a money movement and recompute the balance from the ledger."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    entry = LedgerEntry(
        submission=submission,
        kind=kind,
        amount=amount,
        reason=reason,
        reference=reference,
        created_at=timezone.now(),
        created_by=user,
    )
    entry.full_clean()
    entry.save()
    _refresh_balance(submission)
    return entry


@transaction.atomic
def balance_set(*, submission: Submission, balance: Decimal, reason: str, user=None) -> bool:
    """Bring the balance to `balance` with a charge or an adjustment entry; False when already there."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    current = _ledger_total(submission)
    delta = Decimal(balance) - current
    if delta == 0:
        _refresh_balance(submission)
        return False
    kind = LedgerEntry.Kind.CHARGE if not submission.ledger_entries.exists() and delta > 0 else "adjustment"
    ledger_add(submission=submission, kind=kind, amount=delta, reason=reason, user=user)
    return True
