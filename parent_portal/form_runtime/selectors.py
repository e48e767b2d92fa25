"""Reads of the form tab. What a guardian may open, and with which status, comes from the rules
engine (`forms_catalog.rules.decide` / `display_status` / `actions_for`), never from new logic here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404
from django.utils import timezone

from forms_catalog import rules, selectors
from forms_catalog.models import Form, GuardianStudent, Submission, SubmissionRevision


def access_form(*, link: GuardianStudent, form_id: int) -> Form:
    """A form of the link's district, else the same 404 as for a student one may not see (R8)."""
    form = Form.objects.select_related("packet").filter(id=form_id, district_id=link.student.district_id).first()
    if form is None:
        raise Http404
    return form


def form_decision(*, link: GuardianStudent, form: Form, now: datetime) -> rules.Decision:
    """R3/R5 for one form of the link's student, as the portal decides it (two queries)."""
    facts = next(
        (f for f in selectors.form_facts(district_id=form.district_id, student_id=link.student_id) if f.id == form.id),
        None,
    )
    if facts is None:
        return rules.Decision(False, reason=rules.HIDDEN_PRODUCT)
    submission = selectors.submission_facts(student_id=link.student_id).get(form.id)
    return rules.decide(
        selectors.district_facts(link.student.district), facts, submission, now, restricted=not link.grants_access
    )


def _form_facts(form: Form) -> rules.FormFacts:
    return rules.FormFacts(
        id=form.id,
        key=form.key,
        name=form.name,
        product=form.product,
        type=form.type,
        student_type=form.student_type,
        status=form.status,
        opens_at=form.opens_at,
        closes_at=form.closes_at,
        academic_year=form.academic_year,
        approval_status=form.approval_status,
        in_available_selection=form.in_available_selection,
        packet_key=form.packet.key if form.packet_id else None,
        packet_name=form.packet.name if form.packet_id else None,
    )


def submission_facts_of(submission: Submission) -> rules.SubmissionFacts:
    return rules.SubmissionFacts(
        id=submission.id,
        status=submission.status,
        workspace=submission.workspace,
        submitted_at=submission.submitted_at,
        last_updated_at=submission.last_updated_at,
        approved_at=submission.approved_at,
        balance=submission.balance,
        update_requested=submission.update_requested,
        last_page=submission.last_page,
    )


@dataclass(frozen=True)
class SubmissionState:
    shown: bool  # R3: the portal shows this submission to the guardian now
    status: str | None  # R5 display status
    actions: tuple[str, ...]  # R9 menu actions: pay_balance, edit_form
    opens: str  # R9: start | continue | confirmation


def submission_state(*, link: GuardianStudent, submission: Submission, now: datetime | None = None) -> SubmissionState:
    """The rules' view of one submission (no query: `submission` has form, packet and district loaded)."""
    facts = submission_facts_of(submission)
    decision = rules.decide(
        selectors.district_facts(submission.district),
        _form_facts(submission.form),
        facts,
        now or timezone.now(),
        restricted=not link.grants_access,
    )
    if not decision.shown:
        return SubmissionState(False, None, (), "")
    return SubmissionState(
        True, decision.status, rules.actions_for(decision.status, facts), rules.opens_for(decision.status)
    )


def submitted_answers(submission: Submission) -> dict:
    """The answers of the latest submitted version (one query); the working copy when none is kept."""
    latest = SubmissionRevision.objects.filter(submission=submission).order_by("-number").first()
    return latest.answers if latest is not None else (submission.answers or {})
