"""The form tab (R9, R10). Every view checks access first: a restricted guardian or a stranger gets 404."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from forms_catalog.access import access_student_link, access_submission
from forms_catalog.models import Form


def _placeholder(action: str) -> HttpResponse:
    return HttpResponse(f"{action}", content_type="text/plain")


@login_required
def start(request, district, student_id, form_id):
    link = access_student_link(request.user, district_slug=district, student_id=student_id)
    get_object_or_404(Form, id=form_id, district_id=link.student.district_id)
    return _placeholder("Start form")


@login_required
def continue_form(request, district, submission_id):
    access_submission(request.user, district_slug=district, submission_id=submission_id)
    return _placeholder("Continue form")


@login_required
def confirmation(request, district, submission_id):
    access_submission(request.user, district_slug=district, submission_id=submission_id)
    return _placeholder("Submission confirmation")


@login_required
def pay(request, district, submission_id):
    access_submission(request.user, district_slug=district, submission_id=submission_id)
    return _placeholder("Pay outstanding balance")


@login_required
def edit(request, district, submission_id):
    access_submission(request.user, district_slug=district, submission_id=submission_id)
    return _placeholder("Edit form")
