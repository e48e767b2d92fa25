"""The Submission Workspace: district staff review submitted submissions.

Every action is a service here, audited, and allowed only from the states of `TRANSITIONS`;
anything else is refused with a message saying why. The parent's status follows from R5
(`rules.display_status`); nothing here decides what a parent sees.

  action          allowed from                               to                also
  --------------  -----------------------------------------  ----------------  ----------------------------------
  import          not_imported                               pending_approval
  approve         pending_approval                           approved          approved_at = now; clears the
                                                                               update request and message
  reject          pending_approval, approved                 rejected          message required;
                                                                               update_requested = True
  request_update  not_imported, pending_approval, approved   (unchanged)       update_requested = True; optional
                  (refused when an update is already asked)                    message
  discard         not_imported, pending_approval, rejected   discarded         clears the update request
  adjust_balance  any state                                  (unchanged)       ledger adjustment with a reason;
                                                                               the balance stays >= 0

Only submitted submissions are in the workspace; an in-progress one is refused for every action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .models import District, LedgerEntry, Submission

W = Submission.Workspace
MESSAGE_MAX = 2000


@dataclass(frozen=True)
class Transition:
    action: str
    verb: str  # "approve"
    allowed_from: frozenset[str]
    to: str | None  # None: the workspace state does not change


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("import", "import", frozenset({W.NOT_IMPORTED}), W.PENDING_APPROVAL),
        Transition("approve", "approve", frozenset({W.PENDING_APPROVAL}), W.APPROVED),
        Transition("reject", "reject", frozenset({W.PENDING_APPROVAL, W.APPROVED}), W.REJECTED),
        Transition(
            "request_update", "request an update of", frozenset({W.NOT_IMPORTED, W.PENDING_APPROVAL, W.APPROVED}), None
        ),
        Transition("discard", "discard", frozenset({W.NOT_IMPORTED, W.PENDING_APPROVAL, W.REJECTED}), W.DISCARDED),
        Transition("adjust_balance", "adjust the balance of", frozenset(W.values), None),
    )
}
ACTIONS = tuple(TRANSITIONS)


class WorkspaceError(Exception):
    """An action refused; `str()` is the message for the staff member."""

    def __init__(self, message: str, submission: Submission | None = None):
        super().__init__(message)
        self.message = message
        self.submission = submission


class BulkRefused(WorkspaceError):
    """A bulk action refused for at least one submission; nothing was applied."""

    def __init__(self, errors: list[WorkspaceError]):
        self.errors = errors
        super().__init__(
            _("Nothing was changed: %(count)d of the selected submissions cannot take this action.")
            % {"count": len(errors)}
        )


def _label(submission: Submission) -> str:
    return f"“{submission.form.name}” of {submission.student.full_name} ({submission.student.sis_id})"


def _state_label(state: str) -> str:
    return str(W(state).label)


def refusal(action: str, submission: Submission) -> str | None:
    """Why `action` cannot be taken on `submission` now, or None when it can."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return _("Unknown action %(action)s.") % {"action": action}
    if submission.status != Submission.Status.SUBMITTED:
        return _("Cannot %(verb)s %(label)s: it has not been submitted.") % {
            "verb": transition.verb, "label": _label(submission)}
    if submission.workspace not in transition.allowed_from:
        allowed = ", ".join(sorted(_state_label(s) for s in transition.allowed_from))
        return _("Cannot %(verb)s %(label)s: it is %(state)s; only %(allowed)s submissions can.") % {
            "verb": transition.verb, "label": _label(submission),
            "state": _state_label(submission.workspace), "allowed": allowed}
    if action == "request_update" and submission.update_requested:
        return _("Cannot %(verb)s %(label)s: an update is already requested.") % {
            "verb": transition.verb, "label": _label(submission)}
    return None


def _clean_message(message: str, *, required: bool) -> str:
    message = (message or "").strip()
    if required and not message:
        raise WorkspaceError(_("Write a message to the parent saying what to fix."))
    if len(message) > MESSAGE_MAX:
        raise WorkspaceError(_("The message is longer than %(max)d characters.") % {"max": MESSAGE_MAX})
    return message


def parse_amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise WorkspaceError(_("Enter the adjustment as an amount such as -10.00 or 25.50.")) from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise WorkspaceError(_("Enter the adjustment as an amount such as -10.00 or 25.50."))
    if amount == 0:
        raise WorkspaceError(_("The adjustment cannot be zero."))
    if abs(amount) >= Decimal("100000000"):
        raise WorkspaceError(_("The adjustment is too large."))
    return amount


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise WorkspaceError(_("Give the reason for the balance adjustment."))
    if len(reason) > 255:
        raise WorkspaceError(_("The reason is longer than 255 characters."))
    return reason


def check_parameters(action: str, *, message: str = "", amount=None, reason: str = "") -> None:
    """Refuse an action's missing or malformed parameters (the same for every submission of a bulk action)."""
    if action == "reject":
        _clean_message(message, required=True)
    elif action == "request_update":
        _clean_message(message, required=False)
    elif action == "adjust_balance":
        parse_amount(amount)
        _clean_reason(reason)


def _snapshot(submission: Submission) -> dict:
    return {
        "workspace": submission.workspace,
        "approved_at": submission.approved_at,
        "update_requested": submission.update_requested,
        "review_message": submission.review_message,
        "balance": submission.balance,
    }


def _locked(submission: Submission) -> Submission:
    return (
        Submission.objects.select_for_update(of=("self",))
        .select_related("form", "student", "district")
        .get(pk=submission.pk)
    )


def _audit(action: str, submission: Submission, before: dict, *, user, request, details=None) -> None:
    from admin_config.services import audit_record, changes_between

    audit_record(
        action=f"workspace.{action}", actor=user, district=submission.district, obj=submission,
        changes=changes_between(before, _snapshot(submission)), details=details, request=request,
    )


def _apply(action: str, submission: Submission, *, user, request, message: str = "", amount=None,
           reason: str = "") -> Submission:
    """Check and apply one action on a locked submission; audited."""
    if why := refusal(action, submission):
        raise WorkspaceError(why, submission)
    before = _snapshot(submission)
    values: dict = {}
    details: dict = {}
    if action == "import":
        values = {"workspace": W.PENDING_APPROVAL}
    elif action == "approve":
        values = {"workspace": W.APPROVED, "approved_at": timezone.now(), "update_requested": False,
                  "review_message": ""}
    elif action == "reject":
        values = {"workspace": W.REJECTED, "update_requested": True,
                  "review_message": _clean_message(message, required=True)}
    elif action == "request_update":
        values = {"update_requested": True, "review_message": _clean_message(message, required=False)}
    elif action == "discard":
        values = {"workspace": W.DISCARDED, "update_requested": False}
    elif action == "adjust_balance":
        amount = parse_amount(amount)
        reason = _clean_reason(reason)
        if submission.balance + amount < 0:
            raise WorkspaceError(
                _("Cannot adjust the balance of %(label)s by %(amount)s: the balance is %(balance)s and "
                  "cannot go below zero.") % {"label": _label(submission), "amount": amount,
                                              "balance": submission.balance},
                submission,
            )
        entry = services.ledger_add(submission=submission, kind=LedgerEntry.Kind.ADJUSTMENT, amount=amount,
                                    reason=reason, user=user)
        submission.refresh_from_db(fields=["balance"])
        details = {"amount": amount, "reason": reason, "ledger_entry": entry.pk}
    if values:
        services._save(submission, values)
    if action in ("reject", "request_update") and values.get("review_message"):
        details["message"] = values["review_message"]
    _audit(action, submission, before, user=user, request=request, details=details)
    return submission


@transaction.atomic
def submission_import(*, submission: Submission, user, request=None) -> Submission:
    """not imported -> pending approval."""
    return _apply("import", _locked(submission), user=user, request=request)


@transaction.atomic
def submission_approve(*, submission: Submission, user, request=None) -> Submission:
    """pending approval -> approved, recording the approval time (R5 `approved` + its date)."""
    return _apply("approve", _locked(submission), user=user, request=request)


@transaction.atomic
def submission_reject(*, submission: Submission, message: str, user, request=None) -> Submission:
    """-> rejected with a message to the parent, who is asked for an update (R9 `edit_form`)."""
    return _apply("reject", _locked(submission), user=user, request=request, message=message)


@transaction.atomic
def submission_request_update(*, submission: Submission, user, message: str = "", request=None) -> Submission:
    """Ask the parent to submit an update (R9 `edit_form`); the workspace state stays."""
    return _apply("request_update", _locked(submission), user=user, request=request, message=message)


@transaction.atomic
def submission_discard(*, submission: Submission, user, request=None) -> Submission:
    return _apply("discard", _locked(submission), user=user, request=request)


@transaction.atomic
def submission_balance_adjust(*, submission: Submission, amount, reason: str, user, request=None) -> Submission:
    """Add a ledger adjustment (+ charge more, - reduce) with a reason; R9 `pay_balance` follows the balance."""
    return _apply("adjust_balance", _locked(submission), user=user, request=request, amount=amount, reason=reason)


@transaction.atomic
def submissions_bulk_apply(
    *, district: District, submission_ids: Iterable[int], action: str, user, request=None,
    message: str = "", amount=None, reason: str = "",
) -> list[Submission]:
    """Apply one action to every selected submission of the district, all or nothing.

    Raises `BulkRefused` (listing every refusal) and changes nothing when any one is refused.
    """
    if action not in TRANSITIONS:
        raise WorkspaceError(_("Unknown action %(action)s.") % {"action": action})
    ids = sorted({int(i) for i in submission_ids})
    if not ids:
        raise WorkspaceError(_("Select at least one submission."))
    submissions = list(
        Submission.objects.select_for_update(of=("self",))
        .select_related("form", "student", "district")
        .filter(district=district, id__in=ids, status=Submission.Status.SUBMITTED)
        .order_by("id")
    )
    if len(submissions) != len(ids):
        raise WorkspaceError(_("Some selected submissions are not in this district's workspace; nothing was changed."))
    check_parameters(action, message=message, amount=amount, reason=reason)
    errors = [WorkspaceError(why, s) for s in submissions if (why := refusal(action, s))]
    if errors:
        raise BulkRefused(errors)
    done = []
    try:
        for submission in submissions:
            done.append(_apply(action, submission, user=user, request=request, message=message, amount=amount,
                               reason=reason))
    except WorkspaceError as exc:
        # A balance that would go below zero: the transaction rolls back, nothing is applied.
        raise BulkRefused([exc]) from exc
    return done


# --- Display status filter (R5, as a query) ------------------------------------------------------

DISPLAY_STATUSES = ("pending_review", "submitted", "approved", "rejected")
DISPLAY_STATUS_LABELS = {
    "pending_review": gettext_lazy("Pending review"),
    "submitted": gettext_lazy("Submitted"),
    "approved": gettext_lazy("Approved"),
    "rejected": gettext_lazy("Rejected"),
}


def display_status_q(status: str) -> Q:
    """Submitted submissions whose R5 display status is `status` (mirrors `rules.display_status`)."""
    approval = Q(form__approval_status=True)
    if status == "submitted":
        return Q(form__approval_status=False) | Q(workspace=W.DISCARDED)
    if status == "pending_review":
        return approval & Q(workspace__in=[W.NOT_IMPORTED, W.PENDING_APPROVAL])
    if status == "approved":
        return approval & Q(workspace=W.APPROVED)
    if status == "rejected":
        return approval & Q(workspace=W.REJECTED)
    raise ValueError(status)
