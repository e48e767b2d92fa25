"""Parent portal pages: Overview and Forms (R3-R9), for one selected student of the signed-in guardian.

Views are thin: an access helper answers who may see which student (R8, one 404 for every refusal),
`selectors.portal_view` decides which forms show, in which order and with which status, and the
templates render that view model as it is. Link targets are reversed by `templatetags/portal.py`.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from forms_catalog import selectors
from forms_catalog.access import access_student_link_and_switcher, guardian_for_user

TABS = ("todo", "complete")
MAX_QUERY_LENGTH = 100


@require_safe
def health(request):
    return HttpResponse("ok", content_type="text/plain")


def current_time():
    """The instant the portal evaluates R1 at; tests freeze it by patching this function."""
    return timezone.now()


def portal_page(view):
    """Signed-out visitors go to the district's parent sign-in, then back here; pages are never cached."""

    @wraps(view)
    def wrapper(request, district, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("sso:login", kwargs={"district": district}))
        return view(request, district, *args, **kwargs)

    return require_safe(never_cache(wrapper))


def _student_context(request, district: str, student_id: int, *, query: str = "") -> dict:
    """The selected student's link (restricted links allowed: they see the "no forms" message), the
    switcher's students and the view model."""
    link, links = access_student_link_and_switcher(
        request.user, district_slug=district, student_id=student_id, allow_restricted=True
    )
    view = selectors.portal_view(link=link, now=current_time(), query=query)
    return {
        "district": link.student.district,
        "guardian": link.guardian,
        "student": link.student,
        "students": [other.student for other in links],
        "view": view,
    }


@require_safe
def landing(request):
    """The site's front door: parents pick their school district and sign in there."""
    return render(request, "parent_portal/landing.html", {"districts": selectors.districts_open_to_parents()})


@portal_page
def home(request, district):
    """The first linked student's Overview, or a page saying no student is linked yet."""
    guardian = guardian_for_user(request.user, district_slug=district)
    students = selectors.guardian_students(guardian=guardian)
    if students:
        return redirect("parent_portal:overview", district=district, student_id=students[0][0].id)
    return render(
        request,
        "parent_portal/no_students.html",
        {"district": guardian.district, "guardian": guardian, "students": []},
    )


@portal_page
def overview(request, district, student_id):
    context = _student_context(request, district, student_id)
    context["page"] = "overview"
    return render(request, "parent_portal/overview.html", context)


@portal_page
def forms(request, district, student_id):
    tab = request.GET.get("tab", "")
    if tab not in TABS:
        tab = TABS[0]
    query = request.GET.get("q", "")
    query = query.strip()[:MAX_QUERY_LENGTH] if isinstance(query, str) else ""
    context = _student_context(request, district, student_id, query=query)
    context.update(page="forms", tab=tab, query=context["view"].query)
    return render(request, "parent_portal/forms.html", context)
