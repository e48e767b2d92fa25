"""Submission Workspace pages: filters, keyset paging, pinned query counts, single and bulk actions."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from admin_config.models import AuditEvent
from forms_catalog import services as catalog
from forms_catalog.models import Submission

from .conftest import enrollment_form, submitted


def listed(response) -> list[int]:
    return [int(x) for x in re.findall(r'data-submission="(\d+)"', response.content.decode())]


def make_students(district, n, start=2000):
    return [catalog.student_upsert(district=district, sis_id=str(start + i), first_name=f"Kid{i}",
                                   last_name="Lopez" if i % 2 else "Nguyen")[0] for i in range(n)]


@pytest.fixture
def ws(client, staff):
    client.force_login(staff.workspace_admin)
    return client


def url(staff, name="admin_config:workspace", **kwargs):
    return reverse(name, kwargs={"district": staff.district.slug, **kwargs})


def test_list_shows_only_submitted_submissions_newest_first(ws, staff):
    form = enrollment_form(staff.district, "reg")
    older = submitted(staff.cast.student, form, minutes_ago=90)
    newer = submitted(staff.cast.sibling, form, minutes_ago=10)
    catalog.submission_upsert(student=make_students(staff.district, 1)[0], form=form)  # in progress
    foreign = submitted(staff.cast.stranger_student, enrollment_form(staff.cast.other_district, "reg"))
    response = ws.get(url(staff))
    assert listed(response) == [newer.pk, older.pk]
    assert foreign.pk not in listed(response)


def test_filters_form_state_status_and_student(ws, staff):
    reg = enrollment_form(staff.district, "reg", approval_status=True)
    health = enrollment_form(staff.district, "health", approval_status=False)
    a = submitted(staff.cast.student, reg, workspace="approved")
    b = submitted(staff.cast.sibling, reg, workspace="pending_approval")
    c = submitted(staff.cast.student, health, workspace="approved")
    assert set(listed(ws.get(url(staff), {"form": reg.pk}))) == {a.pk, b.pk}
    assert set(listed(ws.get(url(staff), {"state": "approved"}))) == {a.pk, c.pk}
    # Parent status (R5): the health form has no approval status, so its approved submission shows "submitted".
    assert set(listed(ws.get(url(staff), {"display_status": "approved"}))) == {a.pk}
    assert set(listed(ws.get(url(staff), {"display_status": "submitted"}))) == {c.pk}
    assert set(listed(ws.get(url(staff), {"display_status": "pending_review"}))) == {b.pk}
    assert set(listed(ws.get(url(staff), {"student": "1002"}))) == {b.pk}  # SIS id
    assert set(listed(ws.get(url(staff), {"student": "luis diaz"}))) == {b.pk}  # every word of the name
    assert set(listed(ws.get(url(staff), {"student": "ana"}))) == {a.pk, c.pk}


def test_keyset_paging_walks_every_row_once(ws, staff, settings):
    settings.CONSOLE_PAGE_SIZE = 4
    form = enrollment_form(staff.district, "reg")
    students = make_students(staff.district, 10)
    # Two submissions share a submission time: the id breaks the tie.
    subs = [submitted(s, form, minutes_ago=100 - i // 2) for i, s in enumerate(students)]
    seen, next_url, pages = [], url(staff), 0
    while next_url:
        response = ws.get(next_url)
        seen += listed(response)
        pages += 1
        match = re.search(r'href="\?([^"]*after=[^"]*)" rel="next"', response.content.decode())
        next_url = url(staff) + "?" + match.group(1).replace("&amp;", "&") if match else None
    assert pages == 3
    assert sorted(seen) == sorted(s.pk for s in subs) and len(seen) == len(set(seen))


def test_paging_keeps_the_filters(ws, staff, settings):
    settings.CONSOLE_PAGE_SIZE = 2
    form = enrollment_form(staff.district, "reg")
    other = enrollment_form(staff.district, "other")
    for s in make_students(staff.district, 5):
        submitted(s, form)
        submitted(s, other)
    first = ws.get(url(staff), {"form": form.pk})
    link = re.search(r'href="\?([^"]*)" rel="next"', first.content.decode()).group(1).replace("&amp;", "&")
    second = ws.get(url(staff) + "?" + link)
    assert {Submission.objects.get(pk=p).form_id for p in listed(second)} == {form.pk}


def test_malformed_cursor_shows_the_first_page(ws, staff):
    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form)
    assert listed(ws.get(url(staff), {"after": "not-a-cursor!!"})) == [sub.pk]


def baseline_queries(client, staff) -> int:
    """Queries of the console's plainest page (the dashboard): session, user, staff membership with its
    district, the request's savepoints, plus whatever the site-wide middleware reads. Page counts below
    are pinned relative to it, so they state what the page itself costs."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    dashboard = reverse("admin_config:dashboard", kwargs={"district": staff.district.slug})
    client.get(dashboard)  # warm caches
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(dashboard).status_code == 200
    return len(ctx)


@pytest.mark.parametrize("rows", [3, 30])
def test_list_query_count_does_not_grow_with_rows(ws, staff, django_assert_num_queries, rows):
    form = enrollment_form(staff.district, "reg")
    for s in make_students(staff.district, rows):
        submitted(s, form)
    base = baseline_queries(ws, staff)
    # The page itself: 1 the forms for the filter, 2 the page of submissions with form and student joined.
    with django_assert_num_queries(base + 2):
        response = ws.get(url(staff), {"state": "not_imported", "student": "Lopez"})
    assert len(listed(response)) == rows // 2


def test_single_action_from_the_detail_page(ws, staff):
    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form, workspace="pending_approval")
    response = ws.post(url(staff, "admin_config:workspace_action", submission_id=sub.pk),
                       {"action": "reject", "message": "Please upload proof of residence."}, follow=True)
    sub.refresh_from_db()
    assert sub.workspace == "rejected" and sub.update_requested
    page = response.content.decode()
    assert "Please upload proof of residence." in page  # shown in the detail and its history
    assert 'id="display-status">rejected<' in page


def test_refused_action_shows_the_reason(ws, staff):
    form = enrollment_form(staff.district, "reg", name="Returning Registration")
    sub = submitted(staff.cast.student, form)
    response = ws.post(url(staff, "admin_config:workspace_action", submission_id=sub.pk), {"action": "approve"},
                       follow=True)
    assert "Cannot approve “Returning Registration” of Ana Diaz (1001): it is Not imported" in (
        response.content.decode())
    sub.refresh_from_db()
    assert sub.workspace == "not_imported"


def test_bulk_action_from_the_list_keeps_the_filters(ws, staff):
    form = enrollment_form(staff.district, "reg")
    a, b = submitted(staff.cast.student, form), submitted(staff.cast.sibling, form)
    response = ws.post(url(staff, "admin_config:workspace_bulk"),
                       {"action": "import", "selected": [a.pk, b.pk], "back": f"form={form.pk}"})
    assert response.status_code == 302 and response["Location"].endswith(f"?form={form.pk}")
    assert set(Submission.objects.values_list("workspace", flat=True)) == {"pending_approval"}


def test_bulk_refusal_lists_each_refused_submission_and_changes_nothing(ws, staff):
    form = enrollment_form(staff.district, "reg", name="Registration")
    a = submitted(staff.cast.student, form, workspace="pending_approval")
    b = submitted(staff.cast.sibling, form, workspace="discarded")
    response = ws.post(url(staff, "admin_config:workspace_bulk"), {"action": "approve", "selected": [a.pk, b.pk]},
                       follow=True)
    page = response.content.decode()
    assert "Nothing was changed: 1 of the selected submissions cannot take this action." in page
    assert "Cannot approve “Registration” of Luis Diaz (1002): it is Discarded" in page
    a.refresh_from_db()
    assert a.workspace == "pending_approval"


def test_bulk_balance_adjustment_through_the_page(ws, staff):
    form = enrollment_form(staff.district, "reg")
    a = submitted(staff.cast.student, form, balance=Decimal("20.00"))
    b = submitted(staff.cast.sibling, form, balance=Decimal("20.00"))
    ws.post(url(staff, "admin_config:workspace_bulk"),
            {"action": "adjust_balance", "selected": [a.pk, b.pk], "amount": "-5.00", "reason": "Sibling discount"})
    assert list(Submission.objects.order_by("id").values_list("balance", flat=True)) == [Decimal("15.00")] * 2
    assert AuditEvent.objects.filter(action="workspace.adjust_balance").count() == 2


def test_detail_query_count(ws, staff, django_assert_num_queries):
    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form, balance=Decimal("20.00"))
    base = baseline_queries(ws, staff)
    # 1 the submission with form, student and district, 2 its ledger, 3 its audit history.
    with django_assert_num_queries(base + 3):
        ws.get(url(staff, "admin_config:workspace_detail", submission_id=sub.pk))
