"""Shared pieces of the roster tests: the hand-written rosters and what each guardian sees."""

from __future__ import annotations

import shutil
from pathlib import Path

from django.contrib.auth import get_user_model
from django.http import Http404

from forms_catalog import access, selectors
from forms_catalog.models import Guardian, GuardianStudent, Student
from roster.oneroster import FolderSource
from roster.services import roster_import

ROSTERS = Path(__file__).resolve().parent / "rosters"


def copy_roster(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(ROSTERS / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def run(district, folder, **kwargs):
    return roster_import(district=district, source=FolderSource(folder), **kwargs)


def portal(district, global_id: str) -> dict | None:
    """What the guardian sees, through the access helpers and the selector the pages use.

    None when the guardian cannot use the portal at all; else {sis_id: [form keys] or "restricted"}.
    Restricted students answer 404 from `access_student_link` (R8), and the selector shows no form.
    """
    guardian = Guardian.objects.filter(district=district, global_id=global_id).select_related("user").first()
    if guardian is None:
        return None
    try:
        access.guardian_for_user(guardian.user, district_slug=district.slug)
    except Http404:
        return None
    seen = {}
    for student, _link in selectors.guardian_students(guardian=guardian):
        link = access.access_student_link(guardian.user, district_slug=district.slug, student_id=student.pk,
                                          allow_restricted=True)
        view = selectors.portal_view(link=link)
        if view.restricted:
            try:
                access.access_student_link(guardian.user, district_slug=district.slug, student_id=student.pk)
            except Http404:
                seen[student.sis_id] = "restricted"
                continue
            raise AssertionError("a restricted link passed the access helper")
        seen[student.sis_id] = sorted(item.form for item in view.todo.enrollment)
    return seen


def snapshot() -> tuple:
    """Every roster-owned row, to prove that a refused or failed import wrote nothing."""
    return (
        sorted(Student.objects.values_list("district_id", "sis_id", "first_name", "last_name", "grade", "sis_data",
                                           "active")),
        sorted(Guardian.objects.values_list("district_id", "global_id", "email", "first_name", "last_name",
                                            "active", "user_id")),
        sorted(GuardianStudent.objects.values_list("guardian_id", "student_id", "restricted", "active")),
        get_user_model().objects.count(),
    )
