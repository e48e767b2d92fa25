"""The portal pages check access and read the student switcher in one query
(`access.access_student_link_and_switcher`): the same refusals as `access_student_link` (R8: one 404
for missing, another district's, unlinked, inactive and restricted) and the same switcher students,
in the same order, as `selectors.guardian_students`."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from forms_catalog import access, selectors
from forms_catalog.models import GuardianStudent
from tests.factories import DistrictFactory, GuardianFactory, LinkFactory, StudentFactory

pytestmark = pytest.mark.django_db


def outcome(helper, *args, **kwargs):
    try:
        return helper(*args, **kwargs)
    except Http404:
        return "404"


@pytest.fixture
def world():
    home, other = DistrictFactory(slug="home-usd"), DistrictFactory(slug="other-usd")
    parent = GuardianFactory(district=home)
    students = {
        "zoe": LinkFactory(guardian=parent, student__first_name="Zoe", student__last_name="Adams").student,
        "amy": LinkFactory(guardian=parent, student__first_name="Amy", student__last_name="Young").student,
        "amy2": LinkFactory(guardian=parent, student__first_name="Amy", student__last_name="Young").student,
        "restricted": LinkFactory(guardian=parent, restricted=True, student__first_name="Rae").student,
        "inactive link": LinkFactory(guardian=parent, active=False, student__first_name="Ian").student,
        "inactive student": LinkFactory(guardian=parent, student__active=False, student__first_name="Ina").student,
        "not linked": StudentFactory(district=home),
        "other district": StudentFactory(district=other),
    }
    LinkFactory(guardian=GuardianFactory(district=other), student=students["other district"])
    deactivated = GuardianFactory(district=home, active=False)
    LinkFactory(guardian=deactivated, student=students["zoe"])
    stranger = GuardianFactory(district=home)
    LinkFactory(guardian=stranger, student=students["amy"])
    return parent, deactivated, stranger, students


def test_same_answer_as_the_access_helper_and_the_switcher_for_every_user_student_and_district(world):
    parent, deactivated, stranger, students = world
    checked = 0
    for guardian, (name, student), slug, allow in itertools.product(
        (parent, deactivated, stranger), students.items(), ("home-usd", "other-usd"), (True, False)
    ):
        kwargs = {"district_slug": slug, "student_id": student.id, "allow_restricted": allow}
        expected = outcome(access.access_student_link, guardian.user, **kwargs)
        got = outcome(access.access_student_link_and_switcher, guardian.user, **kwargs)
        if expected == "404":
            assert got == "404", (guardian, name, slug, allow)
            continue
        link, switcher = got
        assert link == expected
        assert (link.guardian, link.student, link.student.district) == (
            expected.guardian, expected.student, expected.student.district)
        assert [other.student for other in switcher] == [
            s for s, _link in selectors.guardian_students(guardian=expected.guardian)]
        checked += 1
    assert checked >= 8  # the combinations that answer a page, not only refusals


def test_switcher_order_and_one_query(world, django_assert_num_queries):
    parent, _deactivated, _stranger, students = world
    with django_assert_num_queries(1):
        link, switcher = access.access_student_link_and_switcher(
            parent.user, district_slug="home-usd", student_id=students["zoe"].id)
        names = [(other.student.first_name, other.student.district.slug, other.guardian.pk) for other in switcher]
    assert [n[0] for n in names] == ["Amy", "Amy", "Rae", "Zoe"]  # first name, last name, SIS id
    assert {n[1:] for n in names} == {("home-usd", parent.pk)}
    assert isinstance(link, GuardianStudent) and link.student == students["zoe"]


def test_signed_out_visitor_gets_the_same_404_without_a_query(world):
    from django.contrib.auth.models import AnonymousUser

    _parent, _deactivated, _stranger, students = world
    with CaptureQueriesContext(connection) as ctx, pytest.raises(Http404):
        access.access_student_link_and_switcher(AnonymousUser(), district_slug="home-usd",
                                                 student_id=students["zoe"].id)
    assert not ctx.captured_queries
