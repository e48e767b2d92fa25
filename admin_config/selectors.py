"""Reads of the admin console: each one tenant-scoped and in a fixed number of queries.

Lists page by keyset (newest first, a cursor of the last row's time and id) so a page of the
Submission Workspace or the audit log costs the same on the first page and the thousandth, and
no page counts every row.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from forms_catalog import rules, workspace
from forms_catalog.models import District, Form, Guardian, GuardianStudent, Student, Submission
from forms_catalog.selectors import form_facts

from .models import AuditEvent


def page_size() -> int:
    return int(getattr(settings, "CONSOLE_PAGE_SIZE", 50))


# --- Keyset cursors --------------------------------------------------------------------------


def encode_cursor(at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (time, id) of a cursor, or None for a missing or malformed one (the first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at_text, pk_text = raw.rsplit("|", 1)
        at = parse_datetime(at_text)
        pk = int(pk_text)
    except (ValueError, UnicodeDecodeError):
        return None
    if at is None or timezone.is_naive(at):
        return None
    return at, pk


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None
    is_first: bool


def _keyset(qs, *, time_field: str, cursor: str | None, limit: int) -> Page:
    position = decode_cursor(cursor)
    if position is not None:
        at, pk = position
        qs = qs.filter(Q(**{f"{time_field}__lt": at}) | Q(**{time_field: at, "id__lt": pk}))
    rows = list(qs.order_by(f"-{time_field}", "-id")[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, time_field), last.pk)
    return Page(rows=rows, next_cursor=next_cursor, is_first=position is None)


# --- Submission Workspace --------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceFilters:
    form: int | None = None
    display_status: str = ""
    state: str = ""
    student: str = ""

    @classmethod
    def from_query(cls, data) -> WorkspaceFilters:
        try:
            form = int(data.get("form") or 0) or None
        except ValueError:
            form = None
        status = data.get("display_status", "")
        state = data.get("state", "")
        return cls(
            form=form,
            display_status=status if status in workspace.DISPLAY_STATUSES else "",
            state=state if state in Submission.Workspace.values else "",
            student=(data.get("student") or "").strip()[:100],
        )

    @property
    def active(self) -> bool:
        return bool(self.form or self.display_status or self.state or self.student)


def students_matching(*, district: District, text: str):
    """Students of the district whose SIS id is `text`, or whose names contain every word of it."""
    words = text.split()
    by_name = Q()
    for word in words:
        by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return Student.objects.filter(district=district).filter(Q(sis_id=text) | by_name).values("id")


@dataclass(frozen=True)
class WorkspaceRow:
    submission: Submission
    display_status: str  # R5, as the parent sees it

    @property
    def display_label(self) -> str:
        return str(workspace.DISPLAY_STATUS_LABELS[self.display_status])


def workspace_page(*, district: District, filters: WorkspaceFilters, cursor: str | None = None,
                   limit: int | None = None) -> Page:
    """A page of the district's submitted submissions, newest first (one query)."""
    qs = (
        Submission.objects.filter(district=district, status=Submission.Status.SUBMITTED)
        .select_related("form", "student")
        .defer("answers", "student__sis_data")  # the list never shows them
    )
    if filters.form:
        qs = qs.filter(form_id=filters.form)
    if filters.state:
        qs = qs.filter(workspace=filters.state)
    if filters.display_status:
        qs = qs.filter(workspace.display_status_q(filters.display_status))
    if filters.student:
        qs = qs.filter(student_id__in=students_matching(district=district, text=filters.student))
    page = _keyset(qs, time_field="submitted_at", cursor=cursor, limit=limit or page_size())
    rows = [WorkspaceRow(s, rules.display_status(s.form, s)) for s in page.rows]
    return Page(rows=rows, next_cursor=page.next_cursor, is_first=page.is_first)


def district_forms(*, district: District) -> list[Form]:
    return list(Form.objects.filter(district=district).only("id", "name", "key").order_by("name", "key"))


def submission_ledger(*, submission: Submission):
    return list(submission.ledger_entries.select_related("created_by").order_by("-created_at", "-id"))


def object_audit(*, district: District, obj, limit: int = 50) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(district=district, object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .order_by("-at", "-id")[:limit]
    )


# --- Audit log -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    actor: str = ""
    object_type: str = ""
    since: datetime | None = None

    @classmethod
    def from_query(cls, data) -> AuditFilters:
        since = None
        if text := (data.get("since") or "").strip():
            since = parse_datetime(text) or parse_datetime(f"{text}T00:00:00")
            if since is not None and timezone.is_naive(since):
                since = timezone.make_aware(since, timezone.get_current_timezone())
        return cls(
            action=(data.get("action") or "").strip()[:64],
            actor=(data.get("actor") or "").strip()[:150],
            object_type=(data.get("object_type") or "").strip()[:64],
            since=since,
        )


def audit_page(*, district: District, filters: AuditFilters, cursor: str | None = None,
               limit: int | None = None) -> Page:
    """A page of the district's audit log, newest first (one query)."""
    qs = AuditEvent.objects.filter(district=district)
    if filters.action:
        qs = qs.filter(action__startswith=filters.action)
    if filters.actor:
        qs = qs.filter(actor_label__iexact=filters.actor)
    if filters.object_type:
        qs = qs.filter(object_type=filters.object_type)
    if filters.since:
        qs = qs.filter(at__gte=filters.since)
    return _keyset(qs, time_field="at", cursor=cursor, limit=limit or page_size())


# The audit log's action filter: groups by prefix (no query over the whole log), then the known codes.
AUDIT_ACTION_GROUPS = (
    ("configuration.", _("Configuration changes")),
    ("workspace.", _("Submission Workspace actions")),
    ("staff.", _("Staff and roles")),
    ("people.", _("Guardian links and restrictions")),
    ("auth.", _("Sign-in and security")),
)
AUDIT_ACTIONS = (
    "configuration.sso_saved", "configuration.available_forms_saved", "configuration.district_saved",
    "configuration.form_saved", "people.guardian_link_saved", "staff.membership_created", "staff.roles_changed",
    "staff.membership_removed", *(f"workspace.{a}" for a in workspace.ACTIONS), "auth.sign_in",
    "auth.sign_in_failed", "auth.sign_in_refused", "auth.sign_out", "auth.password_changed",
)


# --- Available Forms -------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectableForm:
    id: int
    key: str
    name: str
    academic_year: str
    status: str  # open | scheduled | closed (the configured status)
    open_now: bool
    opens_at: datetime | None
    closes_at: datetime | None
    selected: bool


def available_forms_rows(*, district: District, now: datetime | None = None) -> list[SelectableForm]:
    """The district's existing-student enrollment forms (R2), the ones the manual selection can hold (one query)."""
    now = now or timezone.now()
    rows = []
    for facts in form_facts(district_id=district.id, student_id=0):
        if facts.product != Form.Product.ENROLLMENT or not rules.is_existing_student_form(facts):
            continue
        rows.append(SelectableForm(
            id=facts.id, key=facts.key, name=facts.name, academic_year=facts.academic_year,
            status=facts.status, open_now=rules.is_open_now(facts, now), opens_at=facts.opens_at,
            closes_at=facts.closes_at, selected=facts.in_available_selection,
        ))
    rows.sort(key=lambda r: (rules.year_key(r.academic_year), rules.name_key(r.name, r.key)))
    return rows


# --- Parent view preview ---------------------------------------------------------------------


def guardians_matching(*, district: District, text: str, limit: int = 25) -> list[Guardian]:
    text = text.strip()
    if not text:
        return []
    by_name = Q()
    for word in text.split():
        by_name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
    return list(
        Guardian.objects.filter(district=district)
        .filter(Q(global_id__icontains=text) | Q(email__icontains=text) | by_name)
        .order_by("last_name", "first_name", "global_id")[:limit]
    )


def guardian_of_district(*, district: District, guardian_id: int) -> Guardian | None:
    return Guardian.objects.filter(district=district, id=guardian_id).first()


def guardian_links(*, guardian: Guardian) -> list[GuardianStudent]:
    return list(
        GuardianStudent.objects.select_related("student")
        .filter(guardian=guardian, student__district_id=guardian.district_id)
        .order_by("student__last_name", "student__first_name", "student__sis_id")
    )
