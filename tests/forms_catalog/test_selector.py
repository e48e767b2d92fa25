"""The selector over the database: what a guardian sees for a student (R3-R8), in a fixed number of queries."""

from datetime import UTC, datetime, timedelta

import pytest

from forms_catalog import selectors, services
from forms_catalog.models import Form, GuardianStudent, Submission
from tests.factories import ExpressFormFactory, FormFactory, PacketFactory, SubmissionFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 9, 15, tzinfo=UTC)
# portal_view reads exactly:
#   1. the district's forms, joined to their packet, with an EXISTS subquery for "the packet targets the student";
#   2. the student's submissions.
# The link (guardian, student, district) is loaded beforehand by the access helper or `guardian_link`.
PORTAL_VIEW_QUERIES = 2


def link_of(guardian, student) -> GuardianStudent:
    return selectors.guardian_link(district_slug=student.district.slug, global_id=guardian.global_id,
                                   sis_id=student.sis_id)


def shown(view) -> dict[str, str]:
    items = [*view.todo.enrollment, *view.complete.enrollment]
    items += [i for tab in (view.todo, view.complete) for g in tab.express for i in g.forms]
    return {i.form: i.status for i in items}


def populate(district, student, n: int) -> None:
    """`n` forms of every kind: enrollment and express, open and closed, half with submissions."""
    packets = [PacketFactory(district=district, key=f"p{i}", all_students=i % 2 == 0) for i in range(3)]
    packets[1].students.add(student)
    forms = []
    for i in range(n):
        if i % 3 == 0:
            forms.append(Form(district=district, key=f"x{i}", name=f"Express {i}", product="express", type="",
                              student_type="existing", packet=packets[i % 3], academic_year="2025"))
        else:
            forms.append(Form(district=district, key=f"e{i}", name=f"Form {i}", type="public",
                              status="closed" if i % 7 == 0 else "open", academic_year=f"{2020 + i % 5}",
                              approval_status=i % 2 == 0))
    Form.objects.bulk_create(forms)
    Submission.objects.bulk_create([
        Submission(district=district, student=student, form=f, status="submitted" if i % 4 else "in_progress",
                   submitted_at=NOW - timedelta(days=i), workspace="approved", approved_at=NOW)
        for i, f in enumerate(Form.objects.filter(district=district).order_by("id")) if i % 2
    ])


@pytest.mark.parametrize("n_forms", [5, 500])
def test_portal_view_query_count_does_not_grow_with_the_number_of_forms(cast, django_assert_num_queries, n_forms):
    populate(cast.district, cast.student, n_forms)
    link = link_of(cast.guardian, cast.student)
    with django_assert_num_queries(PORTAL_VIEW_QUERIES):
        view = selectors.portal_view(link=link, now=NOW)
    assert len(shown(view)) > n_forms // 3  # the queries did load the forms
    with django_assert_num_queries(PORTAL_VIEW_QUERIES):
        selectors.portal_view(link=link, now=NOW, query="form", explain=True)


def test_portal_view_of_a_restricted_link_reads_no_form(cast, django_assert_num_queries):
    populate(cast.district, cast.student, 5)
    link = link_of(cast.restricted_guardian, cast.student)
    with django_assert_num_queries(0):
        view = selectors.portal_view(link=link, now=NOW)
    assert view.restricted and view.overview == ()


def test_guardian_link_is_one_query(cast, django_assert_num_queries):
    with django_assert_num_queries(1):
        link = link_of(cast.guardian, cast.student)
        assert link.student.district.slug == "springfield"  # loaded with the link


def test_r3_selector_applies_the_rules_to_database_rows(cast):
    d, s = cast.district, cast.student
    FormFactory(district=d, key="reg", student_type="existing")
    FormFactory(district=d, key="kinder", student_type="new")
    FormFactory(district=d, key="closed", status="closed")
    FormFactory(district=d, key="window", status="scheduled", opens_at=NOW, closes_at=NOW + timedelta(days=1))
    closed_done = FormFactory(district=d, key="closed-done", status="closed", approval_status=True)
    closed_wip = FormFactory(district=d, key="closed-wip", status="closed")
    SubmissionFactory(student=s, form=closed_done, status="submitted", submitted_at=NOW, workspace="rejected")
    SubmissionFactory(student=s, form=closed_wip)
    view = selectors.portal_view(link=link_of(cast.guardian, s), now=NOW, explain=True)
    assert shown(view) == {"reg": "not_started", "window": "not_started", "closed-done": "rejected"}
    assert {h.form: h.reason for h in view.hidden} == {
        "kinder": "new_students_only", "closed": "not_open", "closed-wip": "not_open"}
    later = selectors.portal_view(link=link_of(cast.guardian, s), now=NOW + timedelta(days=1))
    assert "window" not in shown(later)


def test_r3_packet_audience_read_from_the_packet_students(cast):
    d = cast.district
    everyone = PacketFactory(district=d, key="bts", all_students=True)
    some = PacketFactory(district=d, key="sports", all_students=False)
    some.students.add(cast.sibling)
    ExpressFormFactory(district=d, key="media", packet=everyone)
    ExpressFormFactory(district=d, key="physical", packet=some)
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)) == {
        "media": "not_started"}
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.sibling), now=NOW)) == {
        "media": "not_started", "physical": "not_started"}


def test_r3_products_and_integration_switch_read_from_the_district(cast):
    d = cast.district
    FormFactory(district=d, key="reg")
    ExpressFormFactory(district=d, key="media")
    services.district_update(district=d, has_express=False)
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)) == {"reg": "not_started"}
    services.district_update(district=d, mypowerhub_enabled=False)
    view = selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)
    assert shown(view) == {} and view.overview == ()


def test_r4_manual_selection_from_the_database(cast):
    d = cast.district
    reg = FormFactory(district=d, key="reg")
    FormFactory(district=d, key="other")
    wip = FormFactory(district=d, key="wip")
    SubmissionFactory(student=cast.student, form=wip)
    services.available_forms_set(district=d, mode="manual", form_ids=[reg.id])
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)) == {
        "reg": "not_started", "wip": "started"}
    services.available_forms_set(district=d, mode="none")
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)) == {"wip": "started"}


def test_r8_restricted_guardian_sees_nothing_while_the_co_guardian_sees_the_shared_submission(cast):
    form = FormFactory(district=cast.district, key="reg")
    SubmissionFactory(student=cast.student, form=form)
    assert selectors.portal_view(link=link_of(cast.restricted_guardian, cast.student), now=NOW).overview == ()
    for guardian in (cast.guardian, cast.co_guardian):  # R10: one submission, shared
        assert shown(selectors.portal_view(link=link_of(guardian, cast.student), now=NOW)) == {"reg": "started"}


def test_r8_inactive_link_shows_nothing(cast):
    FormFactory(district=cast.district, key="reg")
    services.guardian_link_set(guardian=cast.guardian, student=cast.student, active=False)
    view = selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)
    assert view.restricted and view.overview == ()


def test_a_students_view_ignores_other_students_and_other_districts(cast):
    form = FormFactory(district=cast.district, key="reg")
    SubmissionFactory(student=cast.sibling, form=form, status="submitted", submitted_at=NOW)
    FormFactory(district=cast.other_district, key="foreign")
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.student), now=NOW)) == {
        "reg": "not_started"}
    assert shown(selectors.portal_view(link=link_of(cast.guardian, cast.sibling), now=NOW)) == {"reg": "submitted"}


def test_guardian_link_is_scoped_to_the_district(cast):
    assert selectors.guardian_link(district_slug="shelbyville", global_id="maria@example.org",
                                   sis_id="1001").student == cast.stranger_student
    assert selectors.guardian_link(district_slug="springfield", global_id="maria@example.org",
                                   sis_id="1001").student == cast.student
    assert selectors.guardian_link(district_slug="springfield", global_id="jose@example.org",
                                   sis_id="1002") is None

