"""Who may see which student: one helper per object kind, one 404 for every refusal.

"Missing", "another district" and "restricted guardian" all answer the same 404 (R8), so a URL
never tells a stranger whether a student exists.
"""

from __future__ import annotations

from django.http import Http404

from .models import Guardian, GuardianStudent, Submission
from .selectors import active_user_links, user_student_links


def guardian_for_user(user, *, district_slug: str) -> Guardian:
    """The signed-in user's active guardian account in this district, else 404."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    guardian = (
        Guardian.objects.select_related("district")
        .filter(user_id=user.pk, active=True, district__slug=district_slug)
        .first()
    )
    if guardian is None:
        raise Http404
    return guardian


def access_student_link(
    user, *, district_slug: str, student_id: int, allow_restricted: bool = False
) -> GuardianStudent:
    """The guardian's link to the student, with guardian, student and district loaded.

    Raises 404 for a missing student, another district's student, an unlinked or inactive
    link, and (unless `allow_restricted`, for the portal's "no forms available" page) a
    restricted link.
    """
    if not getattr(user, "is_authenticated", False):
        raise Http404
    link = active_user_links(user_id=user.pk, district_slug=district_slug).filter(student_id=student_id).first()
    if link is None or (link.restricted and not allow_restricted):
        raise Http404
    return link


def access_student_link_and_switcher(
    user, *, district_slug: str, student_id: int, allow_restricted: bool = False
) -> tuple[GuardianStudent, list[GuardianStudent]]:
    """`access_student_link` (the same refusals, the same 404) and the guardian's links of the student
    switcher, in one query instead of two: the student's link is looked up among the guardian's
    active links to active students of the district."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    links = user_student_links(user_id=user.pk, district_slug=district_slug)
    link = next((candidate for candidate in links if candidate.student_id == student_id), None)
    if link is None or (link.restricted and not allow_restricted):
        raise Http404
    return link, links


def access_submission(user, *, district_slug: str, submission_id: int) -> tuple[Submission, GuardianStudent]:
    """A submission of a student the user may act for (R8, R10), else 404."""
    submission = (
        Submission.objects.select_related("form", "form__packet", "student", "district")
        .filter(id=submission_id, district__slug=district_slug)
        .first()
    )
    if submission is None:
        raise Http404
    link = access_student_link(user, district_slug=district_slug, student_id=submission.student_id)
    return submission, link
