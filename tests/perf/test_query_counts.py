"""Every portal and form-tab page answers in a constant number of queries (<= 8), however many forms
the district has. Measured on generated districts of 60 and 240 forms, for the well-known guardian.

Counted: the SQL statements a request sends, without the SAVEPOINT / RELEASE SAVEPOINT pair that
ATOMIC_REQUESTS adds inside the test's own transaction (in production that pair is the request's
BEGIN / COMMIT, which Django does not log as queries).
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from forms_catalog import services
from forms_catalog.management.commands.generate_district import BENCH_GUARDIAN, BENCH_SIS_ID
from forms_catalog.models import FormLock, Guardian, Student, Submission
from tests.conftest import login_cookie
from tests.factories import FormFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 8
# GET actions that write and redirect (R9): starting a form creates the submission (15 queries today:
# the rules are checked twice, by the view and by the service, and model validation checks each
# foreign key with a query of its own), Edit Form starts an update from the submitted answers (16).
# docs/performance.md lists them as above the target; this ceiling keeps them from growing further.
WRITE_ACTIONS = {"form start": 16, "form edit": 16}
SLUG = "perf-q"


class _Jar:
    def __init__(self, client):
        self.client = client

    def add_cookies(self, cookies):
        for cookie in cookies:
            self.client.cookies[cookie["name"]] = cookie["value"]


def build(n_forms: int):
    call_command("generate_district", slug=SLUG, seed=3, students=30, guardians=50, forms=n_forms,
                 submissions=150, replace=True, stdout=io.StringIO())
    guardian = Guardian.objects.select_related("user").get(district__slug=SLUG, global_id=BENCH_GUARDIAN)
    student = Student.objects.get(district__slug=SLUG, sis_id=BENCH_SIS_ID)
    # A public form in progress (opens on its instructions page) and a public form not started yet.
    in_progress_form = FormFactory(district=student.district, key="q-in-progress", name="Bus Rider Agreement",
                                   type="public", student_type="existing")
    not_started = FormFactory(district=student.district, key="q-not-started", name="Yearbook Order",
                              type="public", student_type="existing")
    in_progress, _ = services.submission_upsert(student=student, form=in_progress_form, status="in_progress")
    paid = Submission.objects.filter(student=student, status="submitted", balance__gt=0).select_related("form")[0]
    services.submission_upsert(student=student, form=paid.form, update_requested=True)
    return guardian, student, in_progress, paid, not_started


def pages(student, in_progress, paid, not_started) -> dict[str, tuple[str, int]]:
    d = {"district": SLUG}
    portal = {"district": SLUG, "student_id": student.id}
    forms = reverse("parent_portal:forms", kwargs=portal)
    return {
        "home": (reverse("parent_portal:home", kwargs=d), 302),
        "overview": (reverse("parent_portal:overview", kwargs=portal), 200),
        "forms to do": (forms + "?tab=todo", 200),
        "forms complete": (forms + "?tab=complete", 200),
        "forms to do, search": (forms + "?tab=todo&q=health", 200),
        "forms complete, search": (forms + "?tab=complete&q=form", 200),
        "form start": (reverse("parent_portal:form_start", kwargs={**portal, "form_id": not_started.id}), 302),
        "form continue": (reverse("parent_portal:form_continue",
                                  kwargs={**d, "submission_id": in_progress.id}), 302),
        "form instructions": (reverse("parent_portal:form_instructions",
                                      kwargs={**d, "submission_id": in_progress.id}), 200),
        "form page": (reverse("parent_portal:form_page", kwargs={**d, "submission_id": in_progress.id, "page": 1}),
                      200),
        "form confirmation": (reverse("parent_portal:form_confirmation", kwargs={**d, "submission_id": paid.id}),
                              200),
        "form pay": (reverse("parent_portal:form_pay", kwargs={**d, "submission_id": paid.id}), 200),
        "form edit": (reverse("parent_portal:form_edit", kwargs={**d, "submission_id": paid.id}), 302),
    }


def count_queries(client, url: str, status: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])


def measure(client, n_forms: int) -> dict[str, int]:
    guardian, student, in_progress, paid, not_started = build(n_forms)
    login_cookie(_Jar(client), "http://testserver", guardian.user)
    urls = pages(student, in_progress, paid, not_started)
    assert client.get(urls["overview"][0]).status_code == 200  # the session's first activity stamp (a write)
    assert client.get(urls["form confirmation"][0]).status_code == 200  # the guardian's first open-form lock row
    counts = {}
    for name, (url, status) in urls.items():
        # Each form-tab page opens its form afresh (R9): the guardian's earlier open-form lock has expired,
        # as after closing a tab, so opening takes it over with one UPDATE.
        FormLock.objects.filter(guardian=guardian).update(expires_at=timezone.now() - timedelta(seconds=1))
        counts[name] = count_queries(client, url, status)
    return counts


def test_every_portal_and_form_tab_page_needs_at_most_eight_queries_whatever_the_number_of_forms(client):
    small = measure(client, 60)
    client.cookies.clear()
    large = measure(client, 240)
    assert large == small, {k: (small[k], large[k]) for k in small if small[k] != large[k]}
    too_many = {name: n for name, n in small.items() if n > WRITE_ACTIONS.get(name, MAX_QUERIES)}
    assert not too_many, too_many
