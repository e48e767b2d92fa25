"""What a parent sees, and why: RULES.md R1-R7 as pure functions over plain values.

Nothing here touches the ORM. `forms_catalog.selectors` loads rows in a fixed number of queries,
turns them into the facts below and calls `build_portal_view`. Every page, command and API
showing a guardian's forms goes through that one path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

# --- Facts (plain values) ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DistrictFacts:
    products: frozenset[str]  # {"enrollment", "express"}
    mypowerhub_enabled: bool
    available_forms_mode: str  # automatic | none | manual


@dataclass(frozen=True, slots=True)
class FormFacts:
    id: int
    key: str
    name: str
    product: str  # enrollment | express
    type: str  # public | restricted | private | year_round_update | "" (express)
    student_type: str  # new | existing | new_and_existing
    status: str  # open | closed | scheduled
    opens_at: datetime | None
    closes_at: datetime | None
    academic_year: str
    approval_status: bool
    in_available_selection: bool = False
    packet_key: str | None = None
    packet_name: str | None = None
    packet_targets_student: bool = True  # express: the packet's audience includes the student


@dataclass(frozen=True, slots=True)
class SubmissionFacts:
    id: int
    status: str  # in_progress | submitted
    workspace: str  # not_imported | pending_approval | approved | discarded | rejected
    submitted_at: datetime | None
    last_updated_at: datetime | None
    approved_at: datetime | None
    balance: Decimal
    update_requested: bool
    last_page: int = 1


# --- R1 / R2 / R4 -----------------------------------------------------------------------------


def is_open_now(form: FormFacts, now: datetime) -> bool:
    """R1: open, or scheduled with opens_at <= now < closes_at (a missing bound is unbounded)."""
    if form.status == "open":
        return True
    if form.status != "scheduled":
        return False
    if form.opens_at is not None and now < form.opens_at:
        return False
    return not (form.closes_at is not None and now >= form.closes_at)


FIXED_EXISTING_TYPES = frozenset({"private", "year_round_update"})
CONFIGURABLE_STUDENT_TYPES = frozenset({"new", "existing", "new_and_existing"})


def student_type_error(form_type: str, student_type: str) -> str | None:
    """R2: the message when a student type is not allowed on a form type, else None."""
    if student_type not in CONFIGURABLE_STUDENT_TYPES:
        return f"'{student_type}' is not a student type."
    if form_type in FIXED_EXISTING_TYPES and student_type != "existing":
        return "Private and Year-Round Update forms are always for existing students."
    return None


def effective_student_type(form: FormFacts) -> str:
    """R2: private, year-round-update and express forms are always `existing`."""
    if form.product == "express" or form.type in FIXED_EXISTING_TYPES:
        return "existing"
    return form.student_type


def is_existing_student_form(form: FormFacts) -> bool:
    return effective_student_type(form) in ("existing", "new_and_existing")


def passes_available_forms(district: DistrictFacts, form: FormFacts) -> bool:
    """R4, for enrollment forms without a submission."""
    if district.available_forms_mode == "automatic":
        return True
    if district.available_forms_mode == "manual":
        return form.in_available_selection
    return False


# --- R3 / R5: the decision for one form -----------------------------------------------------

# Reasons a form is hidden (for the admin preview and `portal_forms --explain`).
HIDDEN_INTEGRATION_OFF = "integration_off"
HIDDEN_RESTRICTED = "restricted_link"
HIDDEN_PRODUCT = "product_not_bought"
HIDDEN_NOT_OPEN = "not_open"
HIDDEN_NEW_ONLY = "new_students_only"
HIDDEN_AVAILABLE_NONE = "available_forms_none"
HIDDEN_NOT_SELECTED = "not_in_manual_selection"
HIDDEN_PACKET_AUDIENCE = "packet_audience"

HIDDEN_REASONS = {
    HIDDEN_INTEGRATION_OFF: "The district has not enabled the MyPowerHub integration.",
    HIDDEN_RESTRICTED: "The guardian's link to this student is restricted.",
    HIDDEN_PRODUCT: "The district does not have this form's product.",
    HIDDEN_NOT_OPEN: "The form is not open now.",
    HIDDEN_NEW_ONLY: "The form is for new students only.",
    HIDDEN_AVAILABLE_NONE: "Available Forms is set to None.",
    HIDDEN_NOT_SELECTED: "The form is not in the Available Forms manual selection.",
    HIDDEN_PACKET_AUDIENCE: "The form's packet does not target this student.",
}


@dataclass(frozen=True, slots=True)
class Decision:
    shown: bool
    status: str | None = None  # R5 display status when shown
    reason: str | None = None  # a HIDDEN_* code when not shown


def display_status(form: FormFacts, submission: SubmissionFacts | None) -> str:
    """R5: the status badge of a shown form."""
    if submission is None:
        return "not_started"
    if submission.status == "in_progress":
        return "started"
    if not form.approval_status:
        return "submitted"
    return {
        "not_imported": "pending_review",
        "pending_approval": "pending_review",
        "approved": "approved",
        "discarded": "submitted",
        "rejected": "rejected",
    }[submission.workspace]


def decide(
    district: DistrictFacts,
    form: FormFacts,
    submission: SubmissionFacts | None,
    now: datetime,
    *,
    restricted: bool = False,
) -> Decision:
    """R3: is this form shown to an unrestricted guardian of the student, and with which status."""
    if not district.mypowerhub_enabled:
        return Decision(False, reason=HIDDEN_INTEGRATION_OFF)
    if restricted:
        return Decision(False, reason=HIDDEN_RESTRICTED)
    if form.product not in district.products:
        return Decision(False, reason=HIDDEN_PRODUCT)
    if submission is not None and submission.status == "submitted":
        return Decision(True, display_status(form, submission))
    if not is_open_now(form, now):
        return Decision(False, reason=HIDDEN_NOT_OPEN)
    if submission is not None:  # in progress and open now
        return Decision(True, display_status(form, submission))
    if form.product == "express":
        if not form.packet_targets_student:
            return Decision(False, reason=HIDDEN_PACKET_AUDIENCE)
        return Decision(True, "not_started")
    if not is_existing_student_form(form):
        return Decision(False, reason=HIDDEN_NEW_ONLY)
    if not passes_available_forms(district, form):
        if district.available_forms_mode == "none":
            return Decision(False, reason=HIDDEN_AVAILABLE_NONE)
        return Decision(False, reason=HIDDEN_NOT_SELECTED)
    return Decision(True, "not_started")


# --- R9: actions and link targets -----------------------------------------------------------

SUBMITTED_STATUSES = frozenset({"rejected", "pending_review", "submitted", "approved"})
TODO_STATUSES = frozenset({"rejected", "started", "not_started", "pending_review"})
COMPLETE_STATUSES = frozenset({"submitted", "approved"})


def actions_for(status: str, submission: SubmissionFacts | None) -> tuple[str, ...]:
    if submission is None or status not in SUBMITTED_STATUSES:
        return ()
    actions = []
    if submission.balance > 0:
        actions.append("pay_balance")
    if submission.update_requested:
        actions.append("edit_form")
    return tuple(actions)


def opens_for(status: str) -> str:
    return {"not_started": "start", "started": "continue"}.get(status, "confirmation")


# --- R6: ordering -----------------------------------------------------------------------------

STATUS_RANK = {"rejected": 0, "started": 1, "not_started": 2, "pending_review": 3, "submitted": 4, "approved": 4}

_YEAR = re.compile(r"^(\d{4})$")
_YEAR_RANGE = re.compile(r"^(\d{4})-(\d{4}|\d{2})$")


def year_key(academic_year: str) -> tuple:
    """R6: 2022 < 2022-2023 < 2023 < 2023-2024 < free text (case-folded) < empty."""
    text = (academic_year or "").strip()
    if not text:
        return (2, 0, 0, "")
    if m := _YEAR.match(text):
        return (0, int(m.group(1)), 0, "")
    if m := _YEAR_RANGE.match(text):
        return (0, int(m.group(1)), 1, "")
    return (1, 0, 0, text.casefold())


def name_key(name: str, key: str) -> tuple[str, str]:
    return (name.casefold(), key)


# --- The view model --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortalItem:
    form_id: int
    form: str
    name: str
    product: str
    status: str
    academic_year: str
    approved_at: datetime | None
    actions: tuple[str, ...]
    opens: str
    packet: str | None
    packet_name: str | None
    submission_id: int | None
    balance: Decimal
    effective_at: datetime | None  # Complete tab date: last updated, else submitted

    @property
    def approved_on(self) -> date | None:
        if self.status != "approved" or self.approved_at is None:
            return None
        return self.approved_at.astimezone(UTC).date()

    def as_json(self) -> dict:
        approved_on = self.approved_on
        return {
            "form": self.form,
            "name": self.name,
            "product": self.product,
            "status": self.status,
            "academic_year": self.academic_year,
            "approved_on": approved_on.isoformat() if approved_on else None,
            "actions": list(self.actions),
            "opens": self.opens,
        }


@dataclass(frozen=True, slots=True)
class PacketGroup:
    packet: str
    name: str
    forms: tuple[PortalItem, ...]

    def as_json(self) -> dict:
        return {"packet": self.packet, "forms": [i.as_json() for i in self.forms]}


@dataclass(frozen=True, slots=True)
class TabView:
    enrollment: tuple[PortalItem, ...]
    express: tuple[PacketGroup, ...]

    @property
    def is_empty(self) -> bool:
        return not self.enrollment and not self.express

    @property
    def count(self) -> int:
        return len(self.enrollment) + sum(len(g.forms) for g in self.express)

    def as_json(self) -> dict:
        return {"enrollment": [i.as_json() for i in self.enrollment], "express": [g.as_json() for g in self.express]}


@dataclass(frozen=True, slots=True)
class HiddenForm:
    form: str
    name: str
    product: str
    reason: str

    @property
    def explanation(self) -> str:
        return HIDDEN_REASONS[self.reason]

    def as_json(self) -> dict:
        return {"form": self.form, "name": self.name, "reason": self.reason, "explanation": self.explanation}


@dataclass(frozen=True, slots=True)
class PortalView:
    restricted: bool
    product_headers: bool
    overview: tuple[PortalItem, ...]
    todo: TabView
    complete: TabView
    query: str = ""
    hidden: tuple[HiddenForm, ...] = field(default=())

    def as_json(self) -> dict:
        return {
            "restricted": self.restricted,
            "product_headers": self.product_headers,
            "overview": [i.as_json() for i in self.overview],
            "todo": self.todo.as_json(),
            "complete": self.complete.as_json(),
        }


OVERVIEW_LIMIT = 5


def todo_key(item: PortalItem) -> tuple:
    return (STATUS_RANK[item.status], year_key(item.academic_year), name_key(item.name, item.form))


def complete_key(item: PortalItem) -> tuple:
    # Effective date descending, then name key ascending: sort by name first, then stably by date.
    return name_key(item.name, item.form)


def _sorted_complete(items: Iterable[PortalItem]) -> list[PortalItem]:
    by_name = sorted(items, key=complete_key)
    return sorted(by_name, key=lambda i: i.effective_at or datetime.min.replace(tzinfo=UTC), reverse=True)


def matches_search(item: PortalItem, query: str) -> bool:
    return not query or query.casefold() in item.name.casefold()


def _sections(items: Sequence[PortalItem]) -> TabView:
    """R7: enrollment forms on their own; express forms grouped by packet in first-appearance order."""
    enrollment = tuple(i for i in items if i.product == "enrollment")
    groups: dict[str, list[PortalItem]] = {}
    names: dict[str, str] = {}
    for item in items:
        if item.product == "express":
            groups.setdefault(item.packet or "", []).append(item)
            names.setdefault(item.packet or "", item.packet_name or "")
    express = tuple(PacketGroup(key, names[key], tuple(forms)) for key, forms in groups.items())
    return TabView(enrollment, express)


def make_item(form: FormFacts, submission: SubmissionFacts | None, status: str) -> PortalItem:
    effective = None
    if submission is not None:
        effective = submission.last_updated_at or submission.submitted_at
    return PortalItem(
        form_id=form.id,
        form=form.key,
        name=form.name,
        product=form.product,
        status=status,
        academic_year=form.academic_year,
        approved_at=submission.approved_at if submission else None,
        actions=actions_for(status, submission),
        opens=opens_for(status),
        packet=form.packet_key,
        packet_name=form.packet_name,
        submission_id=submission.id if submission else None,
        balance=submission.balance if submission else Decimal("0"),
        effective_at=effective,
    )


def build_portal_view(
    *,
    district: DistrictFacts,
    forms: Iterable[FormFacts],
    submissions: dict[int, SubmissionFacts],
    now: datetime,
    restricted: bool = False,
    query: str = "",
    explain: bool = False,
) -> PortalView:
    """R3-R7: the whole portal view of one guardian for one student.

    `submissions` maps form id to the student's submission of that form.
    """
    query = (query or "").strip()
    shown: list[PortalItem] = []
    hidden: list[HiddenForm] = []
    for form in forms:
        submission = submissions.get(form.id)
        decision = decide(district, form, submission, now, restricted=restricted)
        if decision.shown:
            shown.append(make_item(form, submission, decision.status))
        elif explain:
            hidden.append(HiddenForm(form.key, form.name, form.product, decision.reason))

    ordered = sorted(shown, key=todo_key)
    todo = [i for i in ordered if i.status in TODO_STATUSES and matches_search(i, query)]
    complete = _sorted_complete(i for i in shown if i.status in COMPLETE_STATUSES and matches_search(i, query))
    hidden.sort(key=lambda h: name_key(h.name, h.form))
    return PortalView(
        restricted=restricted,
        product_headers={"enrollment", "express"} <= district.products,
        overview=tuple(ordered[:OVERVIEW_LIMIT]),
        todo=_sections(todo),
        complete=_sections(complete),
        query=query,
        hidden=tuple(hidden),
    )
