"""Who may use which console page: one place for the tenant and role checks.

- anonymous: redirected to the console sign-in page;
- not staff of this district (another district's staff, a parent, an unknown district): 404, the same
  answer for all, so a URL never tells whether a district exists;
- staff of the district without the page's role: 403 with a page naming the missing role;
- support staff (Django superusers): every district, every role.

Objects inside a district (a submission, a guardian's link) come from the `access_*` helpers below,
which answer 404 for missing and foreign objects alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from forms_catalog.models import District, GuardianStudent, Submission

from .models import StaffMembership

CONFIGURATION = StaffMembership.Role.CONFIGURATION
SUBMISSION_WORKSPACE = StaffMembership.Role.SUBMISSION_WORKSPACE
ALL_ROLES = frozenset({CONFIGURATION, SUBMISSION_WORKSPACE})


@dataclass(frozen=True)
class StaffAccess:
    user: object
    district: District
    roles: frozenset[str]
    support: bool = False  # a support-staff superuser rather than a district member

    def has(self, role: str) -> bool:
        return role in self.roles


class RoleMissing(Exception):
    def __init__(self, access: StaffAccess, role: str):
        super().__init__(role)
        self.access = access
        self.role = role


def staff_access(user, *, district_slug: str) -> StaffAccess:
    """The user's access to the district's console, else 404 (one query for members)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise Http404
    if user.is_superuser:
        district = District.objects.filter(slug=district_slug).first()
        if district is None:
            raise Http404
        return StaffAccess(user=user, district=district, roles=ALL_ROLES, support=True)
    membership = (
        StaffMembership.objects.select_related("district")
        .filter(user_id=user.pk, active=True, district__slug=district_slug)
        .first()
    )
    if membership is None:
        raise Http404
    return StaffAccess(user=user, district=membership.district, roles=membership.roles)


def require_role(access: StaffAccess, role: str) -> None:
    if not access.has(role):
        raise RoleMissing(access, role)


def home_district_slug(user) -> str | None:
    """Where `console/` sends a signed-in staff member."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = StaffMembership.objects.select_related("district").filter(user_id=user.pk, active=True).first()
    return membership.district.slug if membership else None


def is_district_staff(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)
                and StaffMembership.objects.filter(user_id=user.pk, active=True).exists())


def forbidden(request, access: StaffAccess, role: str):
    label = StaffMembership.Role(role).label
    return render(
        request,
        "admin_config/forbidden.html",
        {"access": access, "district": access.district, "role_label": label},
        status=403,
    )


def console_view(*roles: str):
    """Decorate a console view taking `district` (slug): it receives `access` instead.

    With several roles, any one of them is enough.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(request, district, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("admin_config:login"))
            access = staff_access(request.user, district_slug=district)
            if roles and not any(access.has(r) for r in roles):
                return forbidden(request, access, roles[0])
            request.console = access
            try:
                return view(request, access, *args, **kwargs)
            except RoleMissing as exc:
                return forbidden(request, exc.access, exc.role)

        return wrapped

    return decorator


# --- Objects of a district -------------------------------------------------------------------


def access_submission(access: StaffAccess, *, submission_id: int, for_update: bool = False) -> Submission:
    """A submitted submission of the district (the Submission Workspace holds no other), else 404."""
    qs = Submission.objects.select_related("form", "student", "district")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    submission = qs.filter(id=submission_id, district_id=access.district.id, status=Submission.Status.SUBMITTED).first()
    if submission is None:
        raise Http404
    return submission


def access_guardian_link(access: StaffAccess, *, guardian_id: int, student_id: int) -> GuardianStudent:
    """A guardian's link to a student, both of the district, else 404 (for the parent view preview)."""
    link = (
        GuardianStudent.objects.select_related("guardian", "student", "student__district")
        .filter(
            guardian_id=guardian_id,
            student_id=student_id,
            guardian__district_id=access.district.id,
            student__district_id=access.district.id,
        )
        .first()
    )
    if link is None:
        raise Http404
    return link
