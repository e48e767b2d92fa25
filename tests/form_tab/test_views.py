"""The form tab over HTTP (Django test client): access (R8), start/continue/view (R9), validation,
R10 stale saves, Edit Form, payment, Cannot Open Another Form (R9) and pinned query counts."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from forms_catalog import services as domain
from forms_catalog.models import FormLock, LedgerEntry, Submission
from tests.form_tab.conftest import make_form, start_url, sub_url

pytestmark = pytest.mark.django_db


def signed_in(client, guardian):
    client.force_login(guardian.user)
    return client


def start(client, c, form):
    response = client.get(start_url(c, form))
    assert response.status_code == 302, response.content[:500]
    return Submission.objects.get(student=c.student, form=form), response


def page_post(client, c, submission, page, action="save", version=None, **answers):
    submission.refresh_from_db()
    data = {"action": action, "version": submission.version if version is None else version}
    data.update({f"f-{k}": v for k, v in answers.items()})
    return client.post(sub_url("form_page", c, submission, page=page), data)


def submitted(c, form, **values):
    values.setdefault("submitted_at", timezone.now())
    submission, _ = domain.submission_upsert(student=c.student, form=form, status="submitted", **values)
    return submission


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- Access (R8) ------------------------------------------------------------------------------


def every_url(c, submission, form):
    return [
        ("get", start_url(c, form)),
        ("get", sub_url("form_continue", c, submission)),
        ("get", sub_url("form_instructions", c, submission)),
        ("get", sub_url("form_page", c, submission, page=1)),
        ("post", sub_url("form_page", c, submission, page=1)),
        ("get", sub_url("form_confirmation", c, submission)),
        ("get", sub_url("form_pay", c, submission)),
        ("post", sub_url("form_pay", c, submission)),
        ("get", sub_url("form_edit", c, submission)),
        ("post", reverse("parent_portal:form_lock_heartbeat", kwargs={"district": c.district.slug})),
    ]


@pytest.mark.parametrize("who", ["restricted_guardian", "stranger"])
def test_restricted_guardian_and_stranger_get_404_on_every_form_tab_url_R8(client, form_cast, who):
    c = form_cast
    submission = submitted(c, c.form, balance=Decimal("10.00"), update_requested=True)
    signed_in(client, getattr(c, who))
    for method, url in every_url(c, submission, c.form):
        data = {"version": 1, "form": c.form.id, "student": c.student.id, "action": "save"}
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == 404, (method, url, response.status_code)
    # A stranger using their own district's address does not reach this submission either.
    if who == "stranger":
        response = client.get(reverse("parent_portal:form_confirmation",
                                      kwargs={"district": c.other_district.slug, "submission_id": submission.id}))
        assert response.status_code == 404
    submission.refresh_from_db()
    assert submission.update_requested and submission.balance == Decimal("10.00")  # nothing changed


def test_signed_out_visitors_are_sent_to_the_district_sign_in_and_back(client, form_cast):
    url = start_url(form_cast, form_cast.form)
    response = client.get(url)
    sign_in = reverse("sso:login", kwargs={"district": form_cast.district.slug})
    assert response.status_code == 302 and response.url.startswith(sign_in) and "next=" in response.url
    assert not Submission.objects.exists()


def test_form_tab_pages_are_never_cached(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    _, response = start(client, c, c.private_form)
    assert "no-store" in client.get(response.url)["Cache-Control"]


def test_a_held_lock_does_not_let_a_guardian_in_once_restricted_R8(client, form_cast):
    c = form_cast
    signed_in(client, c.co_guardian)
    submission, response = start(client, c, c.form)
    assert client.get(response.url).status_code == 200
    assert FormLock.objects.filter(guardian=c.co_guardian).exists()
    domain.guardian_link_set(guardian=c.co_guardian, student=c.student, restricted=True)
    for url in (sub_url("form_instructions", c, submission), sub_url("form_page", c, submission, page=1)):
        assert client.get(url).status_code == 404
    domain.guardian_link_set(guardian=c.co_guardian, student=c.student, restricted=False)
    domain.guardian_upsert(district=c.district, global_id=c.co_guardian.global_id, active=False)
    refused = client.get(sub_url("form_page", c, submission, page=1))
    assert refused.status_code == 404 or "login" in refused.get("Location", "")  # 404, or signed out altogether


# --- Start / continue / view (R9) --------------------------------------------------------------


def test_public_form_starts_on_the_instructions_page(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, response = start(client, c, c.form)
    assert response.url == sub_url("form_instructions", c, submission)
    page = text(client.get(response.url))
    assert "Before you begin" in page and "Springfield Unified" in page and "Ana Diaz" in page
    assert "has 2 pages" in page


def test_private_form_starts_on_page_one_prefilled_from_sis(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, response = start(client, c, c.private_form)
    assert response.url == sub_url("form_page", c, submission, page=1)
    page = text(client.get(response.url))
    assert "Page 1 of 2" in page
    assert 'value="2017-04-12"' in page and 'value="418 Willow Lane"' in page


def test_starting_again_continues_and_a_double_click_makes_one_submission(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, _ = start(client, c, c.form)
    page_post(client, c, submission, 1, nickname="Annie", birth_date="2017-04-12")
    response = client.get(start_url(c, c.form))
    assert response.url == sub_url("form_continue", c, submission)
    assert client.get(response.url).url == sub_url("form_page", c, submission, page=2)  # last saved page
    assert Submission.objects.count() == 1


def test_a_form_not_shown_by_the_portal_cannot_be_started(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    domain.form_update(form=c.form, status="closed")
    assert client.get(start_url(c, c.form)).status_code == 404
    new_only = make_form(c.district, key="kinder", name="Kindergarten", student_type="new")
    assert client.get(start_url(c, new_only)).status_code == 404
    assert not Submission.objects.exists()
    assert not FormLock.objects.exists()  # a refused start holds no form open
    assert client.get(start_url(c, c.private_form)).status_code == 302


def test_submitted_forms_open_on_the_confirmation_page_with_status_and_actions(client, form_cast):
    c = form_cast
    domain.form_update(form=c.form, approval_status=True)
    submission = submitted(c, c.form, workspace="approved", approved_at=timezone.now(), balance=Decimal("35.00"),
                           answers={"nickname": "Annie", "lunch": "Home", "activities": ["Art", "Music"],
                                    "signature": {"name": "Maria Diaz", "date": "2026-08-01"}})
    signed_in(client, c.co_guardian)
    assert client.get(start_url(c, c.form)).url == sub_url("form_continue", c, submission)
    assert client.get(sub_url("form_continue", c, submission)).url == sub_url("form_confirmation", c, submission)
    response = client.get(sub_url("form_confirmation", c, submission))
    page = text(response)
    assert response.context["state"].status == "approved"
    assert 'data-status="approved"' in page and "Approved" in page
    assert 'data-field="approved-at"' in page and 'data-field="submitted-at"' in page
    assert "$35.00" in page
    assert "Annie" in page and "Art, Music" in page and "Signed by Maria Diaz on 2026-08-01" in page
    assert sub_url("form_pay", c, submission) in page  # R9 pay_balance
    assert sub_url("form_edit", c, submission) not in page  # no update requested


def test_confirmation_offers_edit_form_only_when_an_update_is_requested(client, form_cast):
    c = form_cast
    submission = submitted(c, c.form, update_requested=True)
    signed_in(client, c.guardian)
    page = text(client.get(sub_url("form_confirmation", c, submission)))
    assert sub_url("form_edit", c, submission) in page and sub_url("form_pay", c, submission) not in page


# --- Validation ---------------------------------------------------------------------------------


def test_refused_page_shows_messages_next_to_fields_and_keeps_what_was_typed(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, _ = start(client, c, c.form)
    response = page_post(client, c, submission, 1, nickname="", birth_date="31/12/2017", siblings="two",
                         address="418 Willow Lane")
    assert response.status_code == 200
    page = text(response)
    for key, message in [("nickname", "This field is required."), ("birth_date", "Enter a date such as"),
                         ("siblings", "Enter a number.")]:
        field = re.search(rf'data-field-key="{key}".*?</div>', page).group(0)
        assert message in field and 'aria-invalid="true"' in field
    assert 'value="31/12/2017"' in page and 'value="two"' in page and 'value="418 Willow Lane"' in page
    submission.refresh_from_db()
    assert submission.answers == {} and submission.version == 1


def test_submit_checks_every_page_and_sends_the_parent_to_the_incomplete_one(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, _ = start(client, c, c.form)
    response = page_post(client, c, submission, 2, action="submit", lunch="Home", signature="Maria Diaz")
    assert response.url == sub_url("form_page", c, submission, page=1) + "?check=1"
    page = text(client.get(response.url))
    assert "Some answers are missing" in page and page.count('data-field="error"') == 2
    submission.refresh_from_db()
    assert submission.status == "in_progress" and submission.answers["lunch"] == "Home"  # page 2 was kept


def test_file_upload_limits(client, form_cast):
    c = form_cast
    form = make_form(c.district, key="docs", name="Documents", type="private", pages=[{
        "title": "Proof", "fields": [{"key": "proof", "label": "Proof of address", "kind": "file", "required": True,
                                      "max_file_size": 1000, "allowed_types": ".pdf"}]}])
    signed_in(client, c.guardian)
    submission, _ = start(client, c, form)
    url = sub_url("form_page", c, submission, page=1)
    too_big = client.post(url, {"version": 1, "action": "save", "f-proof": SimpleUploadedFile("a.pdf", b"x" * 1001)})
    assert "too large" in text(too_big)
    wrong = client.post(url, {"version": 1, "action": "save", "f-proof": SimpleUploadedFile("a.exe", b"MZ")})
    assert "Upload a file of one of these types: .pdf" in text(wrong)
    ok = client.post(url, {"version": 1, "action": "save",
                           "f-proof": SimpleUploadedFile("lease.pdf", b"%PDF-1.4", content_type="application/pdf")})
    assert ok.status_code == 302
    submission.refresh_from_db()
    assert submission.answers["proof"]["name"] == "lease.pdf" and submission.answers["proof"]["size"] == 8
    # Saving again without choosing a file keeps the uploaded one.
    assert client.post(url, {"version": 2, "action": "save"}).status_code == 302
    submission.refresh_from_db()
    assert submission.answers["proof"]["name"] == "lease.pdf"


# --- R10 ------------------------------------------------------------------------------------------


def test_stale_save_is_refused_with_a_message_and_the_typed_answers_R10(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, _ = start(client, c, c.form)
    other = client.__class__()
    signed_in(other, c.co_guardian)
    assert page_post(other, c, submission, 1, version=1, nickname="Annie", birth_date="2017-04-12").status_code == 302
    response = page_post(client, c, submission, 1, version=1, nickname="Ana Sofia", birth_date="2017-04-12")
    assert response.status_code == 409
    page = text(response)
    assert "Another guardian changed this form" in page
    assert 'value="Ana Sofia"' in page  # what this guardian typed
    assert "Saved now by the other guardian: <strong>Annie</strong>" in page
    assert 'name="version" value="2"' in page  # saving again is a deliberate overwrite
    submission.refresh_from_db()
    assert submission.answers["nickname"] == "Annie"
    assert page_post(client, c, submission, 1, version=2, nickname="Ana Sofia",
                     birth_date="2017-04-12").status_code == 302
    submission.refresh_from_db()
    assert submission.answers["nickname"] == "Ana Sofia"


# --- Submit, Edit Form ------------------------------------------------------------------------------


def test_submit_then_update_keeps_history(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, _ = start(client, c, c.form)
    page_post(client, c, submission, 1, nickname="Annie", birth_date="2017-04-12")
    response = page_post(client, c, submission, 2, action="submit", lunch="Home", signature="Maria Diaz")
    assert response.url == sub_url("form_confirmation", c, submission)
    assert "Your form was submitted." in text(client.get(response.url))
    # A second click on Submit (same version) records nothing more.
    again = page_post(client, c, submission, 2, action="submit", version=2, lunch="Home", signature="Maria Diaz")
    assert again.url == sub_url("form_confirmation", c, submission)
    assert submission.revisions.count() == 1
    # Without an update request, Edit Form just shows the confirmation.
    assert client.get(sub_url("form_edit", c, submission)).url == sub_url("form_confirmation", c, submission)
    domain.submission_upsert(student=c.student, form=c.form, update_requested=True, workspace="rejected")
    response = client.get(sub_url("form_edit", c, submission))
    assert response.url == sub_url("form_page", c, submission, page=1)
    page = text(client.get(response.url))
    assert 'value="Annie"' in page and "You are updating a submitted form" in page
    page_post(client, c, submission, 1, nickname="Ana", birth_date="2017-04-12")
    page_post(client, c, submission, 2, action="submit", lunch="School", signature="Maria Diaz")
    submission.refresh_from_db()
    assert (submission.update_requested, submission.workspace) == (False, "not_imported")
    assert submission.last_updated_at is not None
    assert list(submission.revisions.values_list("kind", "answers__nickname")) == [
        ("submission", "Annie"), ("update", "Ana")]


# --- Payment --------------------------------------------------------------------------------------


def pay_data(response, **overrides):
    key = response.context["payment_form"]["key"].value()
    data = {"amount": "35.00", "name": "Maria Diaz", "number": "4242 4242 4242 4242", "expiry": "12/30", "cvc": "123",
            "key": key}
    data.update(overrides)
    return data


def test_payment_page_pays_with_a_sandbox_card_once_per_page(client, form_cast):
    c = form_cast
    submission = submitted(c, c.form, balance=Decimal("35.00"))
    signed_in(client, c.guardian)
    url = sub_url("form_pay", c, submission)
    shown = client.get(url)
    assert "$35.00" in text(shown)
    declined = client.post(url, pay_data(shown, number="4000 0000 0000 0002"))
    assert declined.status_code == 402 and "The card was declined" in text(declined)
    bad = client.post(url, pay_data(shown, number="1234", expiry="01/20", amount="99"))
    page = text(bad)
    assert "Enter a valid card number." in page and "The card has expired." in page
    assert "more than the outstanding balance" in page
    assert pay_data(declined)["key"] != pay_data(shown)["key"]  # a declined try is not repeated
    data = pay_data(declined)
    first = client.post(url, data)
    assert first.url == sub_url("form_confirmation", c, submission)
    second = client.post(url, data)  # the same page posted twice (double click)
    assert second.status_code in (200, 302)
    assert LedgerEntry.objects.filter(submission=submission, kind="payment").count() == 1
    submission.refresh_from_db()
    assert submission.balance == Decimal("0.00")
    assert "There is nothing to pay" in text(client.get(url))


# --- Cannot Open Another Form (R9) ------------------------------------------------------------------


def test_cannot_open_another_form_until_the_first_tab_is_closed(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, response = start(client, c, c.form)
    token = client.get(response.url).context["lock"]["token"]
    refused = client.get(start_url(c, c.private_form))
    assert refused.status_code == 409
    page = text(refused)
    assert "Cannot Open Another Form" in page and "Returning Registration" in page
    assert not Submission.objects.filter(form=c.private_form).exists()
    assert client.get(sub_url("form_instructions", c, submission)).status_code == 200  # the same form reopens
    # The co-guardian is not affected by this guardian's open form.
    other = client.__class__()
    signed_in(other, c.co_guardian)
    assert other.get(start_url(c, c.private_form)).status_code == 302
    # The page-hide beacon of an earlier page does not release; the open tab's does.
    release = reverse("parent_portal:form_lock_release", kwargs={"district": c.district.slug})
    assert client.post(release, {"token": token}).status_code == 204
    assert client.get(start_url(c, c.private_form)).status_code == 409
    current = FormLock.objects.get(guardian=c.guardian).token
    client.post(release, {"token": current})
    assert client.get(start_url(c, c.private_form)).status_code == 302


def test_heartbeat_keeps_the_lock_and_an_idle_lock_expires(client, form_cast, settings):
    c = form_cast
    settings.FORM_LOCK_TIMEOUT = 60
    signed_in(client, c.guardian)
    _, response = start(client, c, c.form)
    token = client.get(response.url).context["lock"]["token"]
    heartbeat = reverse("parent_portal:form_lock_heartbeat", kwargs={"district": c.district.slug})
    assert client.post(heartbeat, {"token": token, "form": c.form.id, "student": c.student.id}).status_code == 204
    FormLock.objects.filter(guardian=c.guardian).update(expires_at=timezone.now())  # idle past the timeout
    assert client.get(start_url(c, c.private_form)).status_code == 302
    # The first tab's heartbeat now finds another form open.
    assert client.post(heartbeat, {"token": token, "form": c.form.id, "student": c.student.id}).status_code == 409


# --- Query counts -----------------------------------------------------------------------------------


def more_pages(n):
    return [{"title": f"Page {i}", "fields": [
        {"key": f"q{i}_{j}", "label": f"Question {j}", "kind": kind}
        for j, kind in enumerate(["short_text", "date", "single_choice", "checkbox"], 1)
    ]} for i in range(1, n + 1)]


def _choices(pages):
    for p in pages:
        for f in p["fields"]:
            if f["kind"] == "single_choice":
                f["choices"] = ["A", "B"]
    return pages


@pytest.mark.parametrize("pages", [1, 6])
def test_form_tab_pages_use_a_fixed_number_of_queries(client, form_cast, django_assert_num_queries, pages):
    c = form_cast
    form = make_form(c.district, key=f"big{pages}", name="Big", pages=_choices(more_pages(pages)))
    submission = submitted(c, form, balance=Decimal("5.00"))
    domain.submission_upsert(student=c.student, form=form, update_requested=True)
    signed_in(client, c.guardian)
    client.get(sub_url("form_page", c, submission, page=1))  # warm the session and the lock row
    # Around every request: session, user, the sign-in middleware's active-guardian check, and the
    # request transaction's savepoint pair (ATOMIC_REQUESTS inside the test transaction) = 5.
    # Page: submission (+form, packet, student, district), guardian link, pages joined to fields, lock UPDATE.
    with django_assert_num_queries(5 + 4):
        assert client.get(sub_url("form_page", c, submission, page=1)).status_code == 200
    with django_assert_num_queries(5 + 4):  # the instructions page reads the same
        assert client.get(sub_url("form_instructions", c, submission)).status_code == 200
    # Confirmation: the same, and the latest submitted version for the answer summary.
    with django_assert_num_queries(5 + 5):
        assert client.get(sub_url("form_confirmation", c, submission)).status_code == 200
    # Payment: submission, link, lock UPDATE.
    with django_assert_num_queries(5 + 3):
        assert client.get(sub_url("form_pay", c, submission)).status_code == 200


def test_continue_clamps_to_the_pages_the_form_has_now(client, form_cast):
    c = form_cast
    form = make_form(c.district, key="short", name="Short", type="private", pages=None)  # the one default page
    submission, _ = domain.submission_upsert(student=c.student, form=form, last_page=4)  # saved under 4 pages
    signed_in(client, c.guardian)
    assert client.get(sub_url("form_continue", c, submission)).url == sub_url("form_page", c, submission, page=1)
    assert client.get(sub_url("form_page", c, submission, page=2)).status_code == 404


def test_a_page_refused_after_a_post_keeps_the_tab_lock(client, form_cast):
    c = form_cast
    signed_in(client, c.guardian)
    submission, response = start(client, c, c.form)
    old_token = client.get(response.url).context["lock"]["token"]
    refused = page_post(client, c, submission, 1, nickname="")
    new_token = refused.context["lock"]["token"]
    assert new_token != old_token and FormLock.objects.get(guardian=c.guardian).token == new_token
    release = reverse("parent_portal:form_lock_release", kwargs={"district": c.district.slug})
    client.post(release, {"token": old_token})  # the page that was left hides: the lock stays
    assert client.get(start_url(c, c.private_form)).status_code == 409
