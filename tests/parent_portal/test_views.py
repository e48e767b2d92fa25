"""Portal pages over HTTP: who may see which student (R8), what each page costs in queries, and
that bad input never breaks a page."""

from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from django.utils import timezone

from forms_catalog import services
from forms_catalog.models import Form, Submission
from tests.factories import ExpressFormFactory, FormFactory, PacketFactory, UserFactory

from .rendered import read_page


def overview_url(district, student):
    return reverse("parent_portal:overview", kwargs={"district": district.slug, "student_id": student.id})


def forms_url(district, student):
    return reverse("parent_portal:forms", kwargs={"district": district.slug, "student_id": student.id})


def form_urls(cast, form, submission):
    d = cast.district.slug
    return [
        reverse("parent_portal:form_start", kwargs={"district": d, "student_id": cast.student.id, "form_id": form.id}),
        *[reverse(f"parent_portal:{name}", kwargs={"district": d, "submission_id": submission.id})
          for name in ("form_continue", "form_confirmation", "form_pay", "form_edit")],
    ]


def add_forms(district, student, count):
    """`count` forms of both products, half with a submission in varied states, some with actions."""
    packets = [PacketFactory(district=district) for _ in range(3)]
    now = timezone.now()
    for i in range(count):
        if i % 2:
            form = ExpressFormFactory(district=district, packet=packets[i % 3], academic_year=f"{2020 + i % 6}")
        else:
            form = FormFactory(district=district, academic_year=f"{2020 + i % 6}-{2021 + i % 6}",
                               approval_status=bool(i % 3))
        if i % 4 == 0:
            Submission.objects.create(district=district, student=student, form=form, status="submitted",
                                      submitted_at=now, workspace="approved", approved_at=now,
                                      balance=Decimal("5.00"), update_requested=True)
        elif i % 4 == 1:
            Submission.objects.create(district=district, student=student, form=form, status="in_progress")


# --- Access (R8) ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_signed_out_visitor_is_sent_to_the_district_sign_in(client, cast):
    for url in (overview_url(cast.district, cast.student), forms_url(cast.district, cast.student) + "?tab=complete",
                reverse("parent_portal:home", kwargs={"district": cast.district.slug})):
        response = client.get(url)
        assert response.status_code == 302
        location = urlparse(response["Location"])
        assert location.path == reverse("sso:login", kwargs={"district": cast.district.slug})
        assert parse_qs(location.query) == {"next": [url]}


@pytest.mark.django_db
def test_guardian_sees_own_student(sign_in, cast):
    client = sign_in(cast.guardian.user)
    response = client.get(overview_url(cast.district, cast.student))
    assert response.status_code == 200
    assert cast.student.full_name in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("page", [overview_url, forms_url])
def test_unlinked_and_foreign_students_answer_404_like_missing_ones(sign_in, cast, page):
    """R8: not linked, another district's student, a missing id and a foreign district all look the same."""
    client = sign_in(cast.co_guardian.user)  # linked to `student` only, not to `sibling`
    assert client.get(page(cast.district, cast.sibling)).status_code == 404
    assert client.get(page(cast.district, cast.stranger_student)).status_code == 404
    assert client.get(page(cast.other_district, cast.stranger_student)).status_code == 404
    missing = type(cast.student)(id=cast.student.id + 10_000)
    assert client.get(page(cast.district, missing)).status_code == 404
    # The stranger (a guardian of the other district) cannot reach this district's student.
    client = sign_in(cast.stranger.user)
    assert client.get(page(cast.district, cast.student)).status_code == 404


@pytest.mark.django_db
def test_signed_in_user_who_is_no_guardian_of_the_district_gets_404(sign_in, cast):
    client = sign_in(UserFactory())
    assert client.get(reverse("parent_portal:home", kwargs={"district": cast.district.slug})).status_code == 404
    assert client.get(overview_url(cast.district, cast.student)).status_code == 404
    client = sign_in(cast.stranger.user)
    assert client.get(reverse("parent_portal:home", kwargs={"district": cast.district.slug})).status_code == 404


@pytest.mark.django_db
def test_restricted_guardian_sees_only_the_no_forms_message(sign_in, cast):
    """R8: the student is shown with a plain message; no form, no search, no tabs, no links to forms."""
    form = FormFactory(district=cast.district, name="Registration")
    Submission.objects.create(district=cast.district, student=cast.student, form=form, status="submitted",
                              submitted_at=timezone.now(), balance=Decimal("10.00"))
    client = sign_in(cast.restricted_guardian.user)
    for url in (overview_url(cast.district, cast.student), forms_url(cast.district, cast.student)):
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        page = read_page(html)
        assert page["restricted"] is True
        assert page["overview"] == [] and "todo" not in page and "complete" not in page
        assert f"No forms are available for {cast.student.full_name}." in html
        assert "Registration" not in html
        assert 'role="search"' not in html and "data-tabs" not in html and "More Forms" not in html
        assert "/submissions/" not in html and "/start/" not in html


@pytest.mark.django_db
def test_restricted_guardian_cannot_open_any_form_url(sign_in, cast):
    """R8: every form-tab route answers 404 to a restricted guardian, as to a stranger."""
    form = FormFactory(district=cast.district)
    submission = Submission.objects.create(district=cast.district, student=cast.student, form=form,
                                           status="submitted", submitted_at=timezone.now(),
                                           balance=Decimal("10.00"), update_requested=True)
    for user in (cast.restricted_guardian.user, cast.stranger.user):
        client = sign_in(user)
        for url in form_urls(cast, form, submission):
            assert client.get(url).status_code == 404, url
    client = sign_in(cast.co_guardian.user)
    assert client.get(form_urls(cast, form, submission)[2]).status_code == 200


@pytest.mark.django_db
def test_home_opens_the_first_students_overview(sign_in, cast):
    client = sign_in(cast.guardian.user)
    response = client.get(reverse("parent_portal:home", kwargs={"district": cast.district.slug}))
    assert response.status_code == 302
    # The switcher lists students by first name: Ana before Luis.
    assert response["Location"] == overview_url(cast.district, cast.student)


@pytest.mark.django_db
def test_home_says_when_no_student_is_linked(sign_in, cast):
    lonely, _ = services.guardian_upsert(district=cast.district, global_id="lonely@example.org",
                                         first_name="Pat", last_name="Lee")
    response = sign_in(lonely.user).get(reverse("parent_portal:home", kwargs={"district": cast.district.slug}))
    assert response.status_code == 200
    assert "No students are linked to your account yet." in response.content.decode()
    assert "Pat Lee" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    "?tab=nope", "?tab=", "?tab=complete&tab=todo", "?q=%00%ff", "?q=" + "x" * 5000, "?tab[]=1&q[]=2",
    "?q=%3Cscript%3Ealert(1)%3C/script%3E&tab=complete",
])
def test_bad_forms_page_parameters_never_break_the_page(sign_in, cast, query):
    FormFactory(district=cast.district, name="Registration")
    response = sign_in(cast.guardian.user).get(forms_url(cast.district, cast.student) + query)
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.content.decode()


@pytest.mark.django_db
def test_search_keeps_the_selected_tab(sign_in, cast):
    FormFactory(district=cast.district, name="Bus Registration")
    response = sign_in(cast.guardian.user).get(forms_url(cast.district, cast.student), {"tab": "complete", "q": "bus"})
    html = response.content.decode()
    assert '<input type="hidden" name="tab" value="complete" data-tab-input>' in html
    assert 'value="bus"' in html
    # The To Do panel (with the match) is rendered but hidden; Complete is the visible one.
    assert 'id="panel-todo" data-panel="todo" hidden' in html
    assert 'id="panel-complete" data-panel="complete">' in html


# --- Query counts ----------------------------------------------------------------------------


def _warm(client, url):
    # The first request after sign-in may refresh the session's activity stamp (a write); pin a steady page.
    assert client.get(url).status_code in (200, 302)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [5, 200])
def test_overview_query_count_does_not_grow_with_forms(sign_in, cast, django_assert_num_queries, count):
    add_forms(cast.district, cast.student, count)
    client = sign_in(cast.guardian.user)
    url = overview_url(cast.district, cast.student)
    _warm(client, url)
    # 1 session, 2 user, 3 the sign-in lifetime check (is the guardian account deactivated?),
    # 4 SAVEPOINT (ATOMIC_REQUESTS inside the test transaction), 5 the guardian's links with students and
    # district: the page's student (access helper) and the switcher's students in one query, 6 the packets
    # whose audience lists the student (the district's form catalog itself comes from the shared cache,
    # filled by the first request), 7 the student's submissions, 8 RELEASE SAVEPOINT.
    with django_assert_num_queries(OVERVIEW_QUERIES):
        response = client.get(url)
    assert len(read_page(response.content.decode())["overview"]) == 5


@pytest.mark.django_db
@pytest.mark.parametrize("count", [5, 200])
def test_forms_page_query_count_does_not_grow_with_forms(sign_in, cast, django_assert_num_queries, count):
    add_forms(cast.district, cast.student, count)
    client = sign_in(cast.guardian.user)
    url = forms_url(cast.district, cast.student) + "?tab=complete&q=form"
    _warm(client, url)
    # The same eight queries as the Overview: search and tabs are applied to the loaded rows (R7).
    with django_assert_num_queries(FORMS_QUERIES):
        response = client.get(url)
    page = read_page(response.content.decode())
    shown = sum(len(page[tab]["enrollment"]) + sum(len(g["forms"]) for g in page[tab]["express"])
                for tab in ("todo", "complete"))
    assert shown == Form.objects.filter(district=cast.district).count()


@pytest.mark.django_db
def test_restricted_overview_reads_no_forms(sign_in, cast, django_assert_num_queries):
    add_forms(cast.district, cast.student, 20)
    client = sign_in(cast.restricted_guardian.user)
    url = overview_url(cast.district, cast.student)
    _warm(client, url)
    # 1 session, 2 user, 3 the sign-in lifetime check, 4 SAVEPOINT, 5 the guardian's links (the page's
    # student and the switcher's students), 6 RELEASE SAVEPOINT; no form or submission is read (R8).
    with django_assert_num_queries(RESTRICTED_QUERIES):
        client.get(url)


OVERVIEW_QUERIES = 8
FORMS_QUERIES = 8
RESTRICTED_QUERIES = 6


# --- Languages ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_language_choice_sticks_across_pages(sign_in, cast):
    FormFactory(district=cast.district, name="Registration")
    client = sign_in(cast.guardian.user)
    url = overview_url(cast.district, cast.student)
    assert "More Forms" in client.get(url).content.decode()
    response = client.post(reverse("set_language"), {"language": "es", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    for page in (url, forms_url(cast.district, cast.student)):
        html = client.get(page).content.decode()
        assert '<html lang="es">' in html
        assert "(se abre en una pestaña nueva)" in html and "Sin iniciar" in html
    assert "Más formularios" in client.get(url).content.decode()
    assert "Pendientes" in client.get(forms_url(cast.district, cast.student)).content.decode()


# --- Sections (R7) ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_single_product_district_shows_no_section_headers(sign_in, cast):
    """R7: headers only when the district has both products; packets still get their own heading."""
    FormFactory(district=cast.other_district, name="Registration")
    html = sign_in(cast.stranger.user).get(forms_url(cast.other_district, cast.stranger_student)).content.decode()
    page = read_page(html)
    assert [i["form"] for i in page["todo"]["enrollment"]] and page["headers"] == {}
    assert "Enrollment Forms" not in html and "Other Forms" not in html

    services.district_update(district=cast.other_district, has_enrollment=False, has_express=True)
    ExpressFormFactory(district=cast.other_district, name="Media Release",
                       packet=PacketFactory(district=cast.other_district, name="Back to School"))
    html = sign_in(cast.stranger.user).get(forms_url(cast.other_district, cast.stranger_student)).content.decode()
    page = read_page(html)
    assert page["todo"]["enrollment"] == [] and page["headers"] == {}
    assert '<h2 class="packet__title">Back to School</h2>' in html and "Other Forms" not in html


@pytest.mark.django_db
def test_home_query_count(sign_in, cast, django_assert_num_queries):
    client = sign_in(cast.guardian.user)
    url = reverse("parent_portal:home", kwargs={"district": cast.district.slug})
    _warm(client, url)
    # 1 session, 2 user, 3 the sign-in lifetime check, 4 SAVEPOINT, 5 guardian + district,
    # 6 the guardian's students, 7 RELEASE SAVEPOINT; then a redirect to the first student's Overview.
    with django_assert_num_queries(7):
        assert client.get(url).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("count", [5, 200])
def test_overview_query_count_with_a_cold_form_catalog(sign_in, cast, django_assert_num_queries, count):
    from django.core.cache import cache

    add_forms(cast.district, cast.student, count)
    client = sign_in(cast.guardian.user)
    url = overview_url(cast.district, cast.student)
    _warm(client, url)
    cache.clear()  # e.g. the first page after a form changed, or after a cache restart
    # The eight of a warm page, plus 9 every form of the district (the catalog, then cached again).
    with django_assert_num_queries(OVERVIEW_QUERIES + 1):
        client.get(url)
