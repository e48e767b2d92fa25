"""Submission Workspace actions: the transition table, refusals, bulk all-or-nothing, the audit
entries, and the status the parent then sees (R5, through the portal selector)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from admin_config.models import AuditEvent
from forms_catalog import selectors, workspace
from forms_catalog import services as catalog
from forms_catalog.models import LedgerEntry, Submission

from .conftest import enrollment_form, submitted

STATES = ("not_imported", "pending_approval", "approved", "discarded", "rejected")

# The transition table, written out independently of forms_catalog.workspace.TRANSITIONS:
# action -> {state it starts from: state it leaves the submission in, or None when refused}.
EXPECTED = {
    "import": {"not_imported": "pending_approval", "pending_approval": None, "approved": None,
               "discarded": None, "rejected": None},
    "approve": {"not_imported": None, "pending_approval": "approved", "approved": None,
                "discarded": None, "rejected": None},
    "reject": {"not_imported": None, "pending_approval": "rejected", "approved": "rejected",
               "discarded": None, "rejected": None},
    "request_update": {"not_imported": "not_imported", "pending_approval": "pending_approval",
                       "approved": "approved", "discarded": None, "rejected": None},
    "discard": {"not_imported": "discarded", "pending_approval": "discarded", "approved": None,
                "discarded": None, "rejected": "discarded"},
    "adjust_balance": {s: s for s in STATES},
}


def run(action, submission, user, **params):
    calls = {
        "import": lambda: workspace.submission_import(submission=submission, user=user),
        "approve": lambda: workspace.submission_approve(submission=submission, user=user),
        "reject": lambda: workspace.submission_reject(submission=submission, user=user,
                                                      message=params.get("message", "Please sign page 2.")),
        "request_update": lambda: workspace.submission_request_update(submission=submission, user=user,
                                                                      message=params.get("message", "")),
        "discard": lambda: workspace.submission_discard(submission=submission, user=user),
        "adjust_balance": lambda: workspace.submission_balance_adjust(
            submission=submission, user=user, amount=params.get("amount", "5.00"),
            reason=params.get("reason", "Late fee")),
    }
    return calls[action]()


def portal_status(cast, form):
    """The status the co-guardian sees for the form (R5), through the portal's own selector."""
    link = selectors.guardian_link(district_slug=cast.district.slug, global_id=cast.co_guardian.global_id,
                                   sis_id=cast.student.sis_id)
    view = selectors.portal_view(link=link)
    items = {i.form: i for i in view.overview}
    return items[form.key].status, items[form.key]


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("state", STATES)
def test_transition_table(staff, action, state):
    form = enrollment_form(staff.district, "reg")
    # A rejected submission already has an update requested (that is what rejecting does).
    sub = submitted(staff.cast.student, form, workspace=state, update_requested=(state == "rejected"))
    want = EXPECTED[action][state]
    if want is None:
        with pytest.raises(workspace.WorkspaceError) as refused:
            run(action, sub, staff.workspace_admin)
        sub.refresh_from_db()
        assert sub.workspace == state
        assert "Cannot" in refused.value.message and staff.cast.student.full_name in refused.value.message
        assert not AuditEvent.objects.filter(action__startswith="workspace.").exists()
    else:
        run(action, sub, staff.workspace_admin)
        sub.refresh_from_db()
        assert sub.workspace == want
        event = AuditEvent.objects.get(action=f"workspace.{action}")
        assert event.actor == staff.workspace_admin
        assert event.district == staff.district
        assert event.object_id == str(sub.pk)


def test_refusal_message_says_the_state_and_what_is_allowed(staff):
    form = enrollment_form(staff.district, "reg", name="Returning Registration")
    sub = submitted(staff.cast.student, form)
    with pytest.raises(workspace.WorkspaceError) as refused:
        workspace.submission_approve(submission=sub, user=staff.workspace_admin)
    assert refused.value.message == (
        "Cannot approve “Returning Registration” of Ana Diaz (1001): it is Not imported; "
        "only Pending approval submissions can."
    )


def test_in_progress_submission_refuses_every_action(staff):
    form = enrollment_form(staff.district, "reg")
    draft, _ = catalog.submission_upsert(student=staff.cast.student, form=form)
    for action in EXPECTED:
        with pytest.raises(workspace.WorkspaceError, match="has not been submitted"):
            run(action, draft, staff.workspace_admin)


def test_r5_status_follows_each_action_with_approval_status_on(staff):
    cast = staff.cast
    form = enrollment_form(staff.district, "reg", approval_status=True)
    sub = submitted(cast.student, form)
    user = staff.workspace_admin
    assert portal_status(cast, form)[0] == "pending_review"  # not imported yet
    workspace.submission_import(submission=sub, user=user)
    assert portal_status(cast, form)[0] == "pending_review"
    workspace.submission_approve(submission=sub, user=user)
    status, item = portal_status(cast, form)
    sub.refresh_from_db()
    assert status == "approved"
    assert sub.approved_at is not None and item.approved_on == sub.approved_at.date()
    workspace.submission_reject(submission=sub, user=user, message="The birth certificate is unreadable.")
    status, item = portal_status(cast, form)
    assert status == "rejected"
    assert item.actions == ("edit_form",)  # R9: the parent is asked for an update
    sub.refresh_from_db()
    assert sub.review_message == "The birth certificate is unreadable."
    workspace.submission_discard(submission=sub, user=user)
    status, item = portal_status(cast, form)
    assert status == "submitted"  # R5: discarded shows as submitted
    assert item.actions == ()


def test_r5_status_with_approval_status_off_stays_submitted(staff):
    cast = staff.cast
    form = enrollment_form(staff.district, "reg", approval_status=False)
    sub = submitted(cast.student, form)
    workspace.submission_import(submission=sub, user=staff.workspace_admin)
    assert portal_status(cast, form)[0] == "submitted"
    workspace.submission_approve(submission=sub, user=staff.workspace_admin)
    assert portal_status(cast, form)[0] == "submitted"


def test_request_update_keeps_the_state_and_offers_edit(staff):
    cast = staff.cast
    form = enrollment_form(staff.district, "reg")
    sub = submitted(cast.student, form, workspace="pending_approval")
    workspace.submission_request_update(submission=sub, user=staff.workspace_admin, message="Add the second phone.")
    sub.refresh_from_db()
    assert (sub.workspace, sub.update_requested, sub.review_message) == (
        "pending_approval", True, "Add the second phone.")
    assert portal_status(cast, form)[1].actions == ("edit_form",)
    with pytest.raises(workspace.WorkspaceError, match="already requested"):
        workspace.submission_request_update(submission=sub, user=staff.workspace_admin)


def test_reject_needs_a_message(staff):
    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form, workspace="pending_approval")
    with pytest.raises(workspace.WorkspaceError, match="Write a message"):
        workspace.submission_reject(submission=sub, user=staff.workspace_admin, message="   ")
    sub.refresh_from_db()
    assert sub.workspace == "pending_approval" and not sub.update_requested


def test_approve_clears_an_update_request(staff):
    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form, workspace="pending_approval", update_requested=True,
                    review_message="Fix page 2")
    workspace.submission_approve(submission=sub, user=staff.workspace_admin)
    sub.refresh_from_db()
    assert not sub.update_requested and sub.review_message == ""


def test_balance_adjustment_writes_a_ledger_entry_and_drives_pay_balance(staff):
    cast = staff.cast
    form = enrollment_form(staff.district, "reg")
    sub = submitted(cast.student, form, balance=Decimal("25.00"))
    assert portal_status(cast, form)[1].actions == ("pay_balance",)
    workspace.submission_balance_adjust(submission=sub, amount="-25.00", reason="Fee waived",
                                        user=staff.workspace_admin)
    sub.refresh_from_db()
    assert sub.balance == Decimal("0.00")
    entry = sub.ledger_entries.order_by("-id").first()
    assert (entry.kind, entry.amount, entry.reason, entry.created_by) == (
        LedgerEntry.Kind.ADJUSTMENT, Decimal("-25.00"), "Fee waived", staff.workspace_admin)
    assert portal_status(cast, form)[1].actions == ()  # R9: nothing left to pay
    event = AuditEvent.objects.get(action="workspace.adjust_balance")
    assert event.changes["balance"] == {"old": "25.00", "new": "0.00"}
    assert event.details["reason"] == "Fee waived"


@pytest.mark.parametrize("amount, reason, message", [
    ("-30.00", "Refund", "cannot go below zero"),
    ("0", "Nothing", "cannot be zero"),
    ("abc", "Typo", "amount such as"),
    ("1.234", "Too precise", "amount such as"),
    ("5.00", "", "Give the reason"),
])
def test_balance_adjustment_refusals(staff, amount, reason, message):
    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form, balance=Decimal("25.00"))
    with pytest.raises(workspace.WorkspaceError, match=message):
        workspace.submission_balance_adjust(submission=sub, amount=amount, reason=reason,
                                            user=staff.workspace_admin)
    sub.refresh_from_db()
    assert sub.balance == Decimal("25.00")
    assert sub.ledger_entries.count() == 1


def test_bulk_applies_to_every_selected_submission(staff):
    form = enrollment_form(staff.district, "reg")
    subs = [submitted(staff.cast.student, form), submitted(staff.cast.sibling, form)]
    done = workspace.submissions_bulk_apply(district=staff.district, submission_ids=[s.pk for s in subs],
                                            action="import", user=staff.workspace_admin)
    assert len(done) == 2
    assert set(Submission.objects.values_list("workspace", flat=True)) == {"pending_approval"}
    assert AuditEvent.objects.filter(action="workspace.import").count() == 2


def test_bulk_with_one_refused_applies_none(staff):
    form = enrollment_form(staff.district, "reg")
    ok = submitted(staff.cast.student, form, workspace="pending_approval")
    refused = submitted(staff.cast.sibling, form, workspace="approved")
    with pytest.raises(workspace.BulkRefused) as exc:
        workspace.submissions_bulk_apply(district=staff.district, submission_ids=[ok.pk, refused.pk],
                                         action="approve", user=staff.workspace_admin)
    assert len(exc.value.errors) == 1 and exc.value.errors[0].submission.pk == refused.pk
    assert "Nothing was changed" in exc.value.message
    ok.refresh_from_db()
    assert ok.workspace == "pending_approval" and ok.approved_at is None
    assert not AuditEvent.objects.filter(action__startswith="workspace.").exists()


def test_bulk_balance_going_negative_for_one_rolls_back_all(staff):
    form = enrollment_form(staff.district, "reg")
    rich = submitted(staff.cast.student, form, balance=Decimal("50.00"))
    poor = submitted(staff.cast.sibling, form, balance=Decimal("5.00"))
    with pytest.raises(workspace.BulkRefused):
        workspace.submissions_bulk_apply(district=staff.district, submission_ids=[rich.pk, poor.pk],
                                         action="adjust_balance", amount="-10.00", reason="Discount",
                                         user=staff.workspace_admin)
    rich.refresh_from_db()
    poor.refresh_from_db()
    assert (rich.balance, poor.balance) == (Decimal("50.00"), Decimal("5.00"))
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 0


def test_bulk_refuses_another_districts_submission(staff):
    form = enrollment_form(staff.district, "reg")
    mine = submitted(staff.cast.student, form)
    theirs = submitted(staff.cast.stranger_student, enrollment_form(staff.cast.other_district, "reg"))
    with pytest.raises(workspace.WorkspaceError, match="not in this district"):
        workspace.submissions_bulk_apply(district=staff.district, submission_ids=[mine.pk, theirs.pk],
                                         action="import", user=staff.workspace_admin)
    mine.refresh_from_db()
    assert mine.workspace == "not_imported"


@pytest.mark.parametrize("approval", [True, False])
@pytest.mark.parametrize("state", STATES)
def test_display_status_filter_agrees_with_the_rules(staff, approval, state):
    """The workspace's "parent status" filter (a query) matches rules.display_status (R5) row by row."""
    from forms_catalog import rules

    form = enrollment_form(staff.district, "reg", approval_status=approval)
    sub = submitted(staff.cast.student, form, workspace=state)
    expected = rules.display_status(form, sub)
    matching = [s for s in workspace.DISPLAY_STATUSES
                if Submission.objects.filter(workspace.display_status_q(s), pk=sub.pk).exists()]
    assert matching == [expected]


def test_bulk_reject_without_a_message_is_refused_as_a_whole(staff):
    form = enrollment_form(staff.district, "reg")
    subs = [submitted(staff.cast.student, form, workspace="pending_approval"),
            submitted(staff.cast.sibling, form, workspace="pending_approval")]
    with pytest.raises(workspace.WorkspaceError) as exc:
        workspace.submissions_bulk_apply(district=staff.district, submission_ids=[s.pk for s in subs],
                                         action="reject", message="", user=staff.workspace_admin)
    assert not isinstance(exc.value, workspace.BulkRefused)
    assert exc.value.message == "Write a message to the parent saying what to fix."
    assert set(Submission.objects.values_list("workspace", flat=True)) == {"pending_approval"}
