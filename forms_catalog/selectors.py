"""Reads. The portal view model is built here, once, for pages, commands and any API."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from . import catalog_cache, rules
from .models import District, Form, Guardian, GuardianStudent, Packet, Student, Submission


def district_facts(district: District) -> rules.DistrictFacts:
    return rules.DistrictFacts(
        products=frozenset(district.products),
        mypowerhub_enabled=district.mypowerhub_enabled,
        available_forms_mode=district.available_forms_mode,
    )


def _form_facts_rows(*, district_id: int, student_id: int):
    audience = Packet.students.through.objects.filter(packet_id=OuterRef("packet_id"), student_id=student_id)
    return (
        Form.objects.filter(district_id=district_id)
        .annotate(targets_student=Exists(audience))
        .values(
            "id",
            "key",
            "name",
            "product",
            "type",
            "student_type",
            "status",
            "opens_at",
            "closes_at",
            "academic_year",
            "approval_status",
            "in_available_selection",
            "packet_id",
            "packet__key",
            "packet__name",
            "packet__all_students",
            "targets_student",
        )
    )


def _load_catalog(*, district_id: int, student_id: int):
    """(the district's catalog entries, the student's facts) from one query over every form."""
    entries, facts = [], []
    for row in _form_facts_rows(district_id=district_id, student_id=student_id):
        fact = rules.FormFacts(
            id=row["id"],
            key=row["key"],
            name=row["name"],
            product=row["product"],
            type=row["type"],
            student_type=row["student_type"],
            status=row["status"],
            opens_at=row["opens_at"],
            closes_at=row["closes_at"],
            academic_year=row["academic_year"],
            approval_status=row["approval_status"],
            in_available_selection=row["in_available_selection"],
            packet_key=row["packet__key"],
            packet_name=row["packet__name"],
            packet_targets_student=bool(row["packet__all_students"] or row["targets_student"]),
        )
        facts.append(fact)
        list_packet = row["packet_id"] if row["packet_id"] and not row["packet__all_students"] else None
        if list_packet:
            fact = replace(fact, packet_targets_student=False)
        entries.append(catalog_cache.CatalogEntry(fact, list_packet))
    return tuple(entries), facts


def form_facts(*, district_id: int, student_id: int) -> list[rules.FormFacts]:
    """Every form of the district, with whether its packet targets the student (one query).

    The district's forms come from its cached catalog when current (`catalog_cache`); the one
    query then reads only the student's packet memberships. Otherwise every form is read (and the
    catalog cached) in that one query.
    """
    version = catalog_cache.token(district_id)
    entries = catalog_cache.get(district_id, version)
    if entries is None:
        entries, facts = _load_catalog(district_id=district_id, student_id=student_id)
        catalog_cache.put(district_id, version, entries)
        return facts
    audience = set(
        Packet.students.through.objects.filter(student_id=student_id).values_list("packet_id", flat=True)
    )
    return [
        e.facts if e.list_packet_id is None else replace(e.facts, packet_targets_student=e.list_packet_id in audience)
        for e in entries
    ]


def submission_facts(*, student_id: int) -> dict[int, rules.SubmissionFacts]:
    """The student's submissions keyed by form id (one query)."""
    rows = Submission.objects.filter(student_id=student_id).values(
        "id",
        "form_id",
        "status",
        "workspace",
        "submitted_at",
        "last_updated_at",
        "approved_at",
        "balance",
        "update_requested",
        "last_page",
    )
    return {
        row.pop("form_id"): rules.SubmissionFacts(**row)
        for row in rows
    }


def portal_view(
    *,
    link: GuardianStudent,
    now: datetime | None = None,
    query: str = "",
    explain: bool = False,
) -> rules.PortalView:
    """What the guardian of `link` sees for its student (R3-R7), in two queries.

    `link` comes from an access helper with guardian, student and district loaded. A restricted
    or inactive link shows nothing (R8) without reading any form.
    """
    district = link.student.district
    facts = district_facts(district)
    restricted = not link.grants_access
    if restricted and not explain:
        forms, submissions = [], {}
    else:
        forms = form_facts(district_id=district.id, student_id=link.student_id)
        submissions = submission_facts(student_id=link.student_id)
    return rules.build_portal_view(
        district=facts,
        forms=forms,
        submissions=submissions,
        now=now or timezone.now(),
        restricted=restricted,
        query=query,
        explain=explain,
    )


def guardian_link(*, district_slug: str, global_id: str, sis_id: str) -> GuardianStudent | None:
    """The link between a guardian and a student of one district, or None (one query)."""
    return (
        GuardianStudent.objects.select_related("guardian", "student", "student__district")
        .filter(
            guardian__district__slug=district_slug,
            guardian__global_id=global_id,
            student__district__slug=district_slug,
            student__sis_id=sis_id,
        )
        .first()
    )


SWITCHER_ORDER = ("student__first_name", "student__last_name", "student__sis_id")


def guardian_students(*, guardian: Guardian) -> list[tuple[Student, GuardianStudent]]:
    """The guardian's active linked students of their district, for the student switcher."""
    links = (
        GuardianStudent.objects.select_related("student")
        .filter(guardian=guardian, active=True, student__active=True, student__district_id=guardian.district_id)
        .order_by(*SWITCHER_ORDER)
    )
    return [(link.student, link) for link in links]


def user_student_links(*, user_id: int, district_slug: str) -> list[GuardianStudent]:
    """The same links as `guardian_students`, for the user's active guardian account of the district,
    with guardian, student and district loaded, in the switcher's order (one query): a portal page
    finds its student's link among them (`access.access_student_link_and_switcher`)."""
    return list(active_user_links(user_id=user_id, district_slug=district_slug).order_by(*SWITCHER_ORDER))


def active_user_links(*, user_id: int, district_slug: str):
    """The user's active guardian account's active links to active students of the district, with
    guardian, student and district loaded: every link that may grant access (restriction aside, R8)."""
    return GuardianStudent.objects.select_related("guardian", "student", "student__district").filter(
        guardian__user_id=user_id,
        guardian__active=True,
        guardian__district__slug=district_slug,
        student__district__slug=district_slug,
        student__active=True,
        active=True,
    )


def districts_open_to_parents() -> list[District]:
    """Districts whose parents use the portal (MyPowerHub integration on), by name, for the front page."""
    return list(District.objects.filter(mypowerhub_enabled=True).only("slug", "name").order_by("name"))


def district_by_slug(*, slug: str) -> District | None:
    return District.objects.filter(slug=slug).first()
