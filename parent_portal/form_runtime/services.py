"""Every write of the form tab: start, save a page, submit, start an update, pay, and the form lock.

Concurrency (R9, R10):
- one in-progress submission per student and form: the (student, form) unique constraint decides
  between two starts; the loser reads the winner's row;
- a page save names the version it was based on and is refused when the row moved on (the row is
  locked with SELECT ... FOR UPDATE while it is compared and written);
- a payment carries an idempotency key that becomes the ledger entry's reference, unique per
  submission, and is charged with the submission row locked;
- the open-form lock is one row per guardian, taken over with a conditional UPDATE.
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext

from forms_catalog import services
from forms_catalog.form_definitions import Definition, definition_for, prefilled_answers
from forms_catalog.models import (
    Form,
    FormLock,
    Guardian,
    GuardianStudent,
    LedgerEntry,
    Student,
    Submission,
    SubmissionRevision,
)

from . import fields as page_fields
from . import payments, selectors

PREFILLED_TYPES = ("private", "year_round_update")
INSTRUCTIONS_TYPES = ("public", "restricted")


class FormNotAvailable(Exception):
    """R3: the form is not shown to this guardian for this student, so it cannot be started."""


class NotEditable(Exception):
    """The submission takes no answers now (submitted, and no update requested)."""


class StaleVersion(Exception):
    """R10: the page was based on an older version of the answers."""

    def __init__(self, current_version: int):
        super().__init__(f"the answers are at version {current_version}")
        self.current_version = current_version


class PageInvalid(Exception):
    def __init__(self, result: page_fields.PageResult):
        super().__init__("the page has errors")
        self.result = result


class SubmitIncomplete(Exception):
    """Submit checks every page: the first page with a missing answer, and its messages."""

    def __init__(self, page: int, errors: dict[str, str]):
        super().__init__(f"page {page} is incomplete")
        self.page = page
        self.errors = errors


class PaymentRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Start ------------------------------------------------------------------------------------


def initial_page(form: Form) -> int:
    """R9: public and restricted forms open on the instructions page (0), the others on page 1."""
    return 0 if form.type in INSTRUCTIONS_TYPES else 1


def submission_start(
    *, link: GuardianStudent, form: Form, now: datetime | None = None
) -> tuple[Submission, bool]:
    """Start `form` for the link's student, or return the submission it already has.

    Refused (FormNotAvailable) unless the rules show the form to this guardian (R3). Exactly one
    submission exists afterwards even when two starts race (double click, two guardians).
    """
    now = now or timezone.now()
    decision = selectors.form_decision(link=link, form=form, now=now)
    if not decision.shown:
        raise FormNotAvailable(decision.reason)
    if decision.status != "not_started":
        return Submission.objects.get(student_id=link.student_id, form=form), False
    answers = {}
    if form.type in PREFILLED_TYPES:
        answers = prefilled_answers(definition_for(form), link.student)
    submission = Submission(
        district_id=link.student.district_id,
        student=link.student,
        form=form,
        started_by=link.guardian,
        status=Submission.Status.IN_PROGRESS,
        started_at=now,
        answers=answers,
        last_page=1,
    )
    # Uniqueness is left to the database: the (student, form) constraint settles a race.
    submission.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            submission.save(force_insert=True)
    except IntegrityError:
        return Submission.objects.get(student_id=link.student_id, form=form), False
    return submission, True


# --- Pages --------------------------------------------------------------------------------------


def is_editable(submission: Submission) -> bool:
    """Answers can change while in progress, and while a requested update is being made (R9)."""
    return submission.status == Submission.Status.IN_PROGRESS or submission.update_requested


def _store_upload(submission: Submission, upload) -> dict:
    name = get_valid_filename(os.path.basename(upload.name))[:100] or "upload"
    path = default_storage.save(f"form-uploads/{submission.pk}/{uuid.uuid4().hex}/{name}", upload)
    return {"name": name, "size": upload.size, "content_type": getattr(upload, "content_type", ""), "path": path}


@transaction.atomic
def submission_save_page(
    *,
    submission: Submission,
    definition: Definition,
    page: int,
    data,
    files,
    base_version: int,
    next_page: int,
    require: bool = True,
    today=None,
) -> Submission:
    """Save one page's answers (R10: only over the version the page was based on).

    Raises PageInvalid (nothing saved; what was typed comes back), StaleVersion (another guardian
    saved first; nothing saved) or NotEditable. `next_page` becomes the page the form resumes at.
    `require=False` (the Back button) saves a page whose required fields are still empty; formats are
    always checked, and Submit checks every required field.
    """
    today = today or timezone.localdate()
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if not is_editable(locked):
        raise NotEditable
    result = page_fields.clean_page(definition.page(page), data, files, locked.answers or {}, today, require=require)
    if locked.version != base_version:
        raise StaleVersion(locked.version)
    if not result.valid:
        raise PageInvalid(result)
    for key, upload in result.uploads.items():
        result.answers[key] = _store_upload(locked, upload)
    answers = {**(locked.answers or {}), **result.answers}
    locked.answers = answers
    locked.last_page = max(1, min(next_page, definition.page_count))
    locked.version = locked.version + 1
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save(update_fields=["answers", "last_page", "version"])
    return locked


def first_incomplete_page(definition: Definition, answers: dict) -> tuple[int, dict[str, str]] | None:
    for page in definition.pages:
        errors = page_fields.missing_answers(page, answers)
        if errors:
            return page.number, errors
    return None


@transaction.atomic
def submission_submit(
    *, submission: Submission, guardian: Guardian, definition: Definition, base_version: int,
    now: datetime | None = None,
) -> Submission:
    """Submit the answers, or resubmit a requested update; every submitted version is kept.

    A second submit of the same version (double click) raises NotEditable and records nothing.
    """
    now = now or timezone.now()
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if not is_editable(locked):
        raise NotEditable
    if locked.version != base_version:
        raise StaleVersion(locked.version)
    incomplete = first_incomplete_page(definition, locked.answers or {})
    if incomplete:
        raise SubmitIncomplete(*incomplete)
    updating = locked.status == Submission.Status.SUBMITTED
    if updating:
        _ensure_history(locked)
    number = (locked.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    revision = SubmissionRevision(
        submission=locked,
        number=number,
        kind=SubmissionRevision.Kind.UPDATE if updating else SubmissionRevision.Kind.SUBMISSION,
        answers=locked.answers or {},
        submitted_at=now,
        submitted_by=guardian,
    )
    revision.full_clean(validate_constraints=False)
    revision.save()
    changed = ["status", "workspace", "version", "update_requested"]
    locked.status = Submission.Status.SUBMITTED
    locked.workspace = Submission.Workspace.NOT_IMPORTED
    locked.update_requested = False
    locked.version += 1
    if updating:
        locked.last_updated_at = now
        changed.append("last_updated_at")
    else:
        locked.submitted_at = now
        changed.append("submitted_at")
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save(update_fields=changed)
    return locked


def _ensure_history(locked: Submission) -> None:
    """A submission submitted before history was kept (an import) gets its answers as version 1."""
    if not locked.revisions.exists():
        SubmissionRevision.objects.create(
            submission=locked,
            number=1,
            kind=SubmissionRevision.Kind.IMPORTED,
            answers=locked.answers or {},
            submitted_at=locked.submitted_at or timezone.now(),
        )


@transaction.atomic
def submission_update_start(*, submission: Submission) -> Submission:
    """R9 Edit Form: start an update from the last submitted answers, at the first page.

    Only when the submission requires an update (else NotEditable). The submitted answers stay in
    the history; the working copy is what the update changes.
    """
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if locked.status != Submission.Status.SUBMITTED or not locked.update_requested:
        raise NotEditable
    _ensure_history(locked)
    latest = locked.revisions.order_by("-number").first()
    locked.answers = dict(latest.answers)
    locked.last_page = 1
    locked.version += 1
    locked.full_clean(validate_unique=False, validate_constraints=False)
    locked.save(update_fields=["answers", "last_page", "version"])
    return locked


# --- Payments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentOutcome:
    entry: LedgerEntry
    repeated: bool  # the same idempotency key was already paid: nothing was charged this time


@transaction.atomic
def payment_make(
    *,
    submission: Submission,
    amount: Decimal,
    card: payments.Card,
    idempotency_key: str,
    user=None,
    gateway: payments.PaymentGateway | None = None,
) -> PaymentOutcome:
    """Pay part or all of the outstanding balance; a repeated idempotency key pays once.

    The payment becomes a ledger entry (kind payment, negative amount) and the balance is recomputed
    from the ledger. Raises PaymentRefused with a message for the parent.
    """
    reference = f"pay-{idempotency_key}"[:100]
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    existing = LedgerEntry.objects.filter(submission=locked, reference=reference).first()
    if existing is not None:
        return PaymentOutcome(existing, True)
    if locked.status != Submission.Status.SUBMITTED:
        raise PaymentRefused(gettext("Only a submitted form can be paid."))
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise PaymentRefused(gettext("Enter an amount such as 25.00."))
    if amount > locked.balance:
        raise PaymentRefused(gettext("The amount is more than the outstanding balance."))
    gateway = gateway or payments.get_gateway()
    result = gateway.charge(
        amount=amount, card=card, idempotency_key=reference, description=f"{locked.form.name} — {locked.student}"
    )
    if not result.approved:
        raise PaymentRefused(result.message)
    try:
        with transaction.atomic():
            entry = services.ledger_add(
                submission=locked,
                kind=LedgerEntry.Kind.PAYMENT,
                amount=-amount,
                reason=f"Card payment, {result.brand} ending {card.last4} ({result.transaction_id})",
                reference=reference,
                user=user,
            )
    except IntegrityError:  # the same key recorded by a concurrent request (databases without row locks)
        return PaymentOutcome(LedgerEntry.objects.get(submission=locked, reference=reference), True)
    return PaymentOutcome(entry, False)


# --- The one open form (R9) -----------------------------------------------------------------------


@dataclass(frozen=True)
class LockResult:
    granted: bool
    held_form: Form | None = None  # the other form the guardian has open, when refused
    held_student: Student | None = None


def lock_timeout() -> int:
    return settings.FORM_LOCK_TIMEOUT


def new_lock_token() -> str:
    return secrets.token_urlsafe(16)


def form_lock_acquire(
    *, guardian: Guardian, form: Form, student: Student, token: str, now: datetime | None = None
) -> LockResult:
    """Open `form` of `student` in the tab named `token`: granted unless another form is open.

    The guardian's lock row is taken over when it has expired or names the same form and student;
    the takeover is one conditional UPDATE, so two app servers cannot both grant a different form.
    """
    now = now or timezone.now()
    expires = now + timedelta(seconds=lock_timeout())
    values = {"form": form, "student": student, "token": token, "expires_at": expires}
    taken = (  # one statement, atomic on its own
        FormLock.objects.filter(guardian=guardian)
        .filter(Q(expires_at__lte=now) | Q(form=form, student=student))
        .update(**values)
    )
    if taken:
        return LockResult(True)
    try:
        with transaction.atomic():
            FormLock.objects.create(guardian=guardian, **values)
        return LockResult(True)
    except IntegrityError:
        pass
    held = FormLock.objects.select_related("form", "student").filter(guardian=guardian).first()
    if held is None:  # released in between: try once more
        return form_lock_acquire(guardian=guardian, form=form, student=student, token=token, now=now)
    return LockResult(False, held.form, held.student)


@transaction.atomic
def form_lock_release(*, guardian: Guardian, token: str) -> bool:
    """The tab named `token` was closed: release the lock if that tab still holds it."""
    return bool(FormLock.objects.filter(guardian=guardian, token=token).delete()[0])
