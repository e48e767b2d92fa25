"""The form tab in a real headless Chromium against the live app server (R9, R10).

Forms open from the portal's links in new tabs; the lock's page-hide beacon and heartbeat run as
the browser runs them. Failing tests save screenshots of every open tab to `test-artifacts/`.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from forms_catalog import services as domain
from forms_catalog.models import FormLock, LedgerEntry, Submission
from tests.conftest import axe_run, close_context, login_cookie, make_cast, track_requests
from tests.form_tab.conftest import make_form

pytestmark = pytest.mark.browser


@pytest.fixture
def c(transactional_db):
    cast = make_cast()
    domain.student_upsert(district=cast.district, sis_id=cast.student.sis_id, first_name="Ana", last_name="Diaz",
                          grade="3", sis_data={"birth_date": "2017-04-12", "address": "418 Willow Lane"})
    cast.form = make_form(cast.district)
    cast.private_form = make_form(cast.district, key="lunch", name="Free Meals", type="private")
    return cast


@pytest.fixture(autouse=True)
def _quiet_tabs_at_teardown(page):
    """Tabs still open when a test ends would send their page-hide beacons while the test database
    is being emptied: take the browser offline first."""
    yield
    page.context.set_offline(True)
    for tab in page.context.pages:
        tab.close()


def overview_url(live_server, c):
    return live_server.url + reverse("parent_portal:overview",
                                     kwargs={"district": c.district.slug, "student_id": c.student.id})


def start_url(live_server, c, form):
    return live_server.url + reverse("parent_portal:form_start", kwargs={
        "district": c.district.slug, "student_id": c.student.id, "form_id": form.id})


def confirmation_url(live_server, c, submission):
    return live_server.url + reverse("parent_portal:form_confirmation", kwargs={
        "district": c.district.slug, "submission_id": submission.id})


def open_from_portal(portal, form_key):
    """Click the form's link on the portal page; return the new tab it opens."""
    with portal.context.expect_page() as new_tab:
        portal.locator(f'[data-form-key="{form_key}"] a.form-item__link').click()
    tab = new_tab.value
    tab.wait_for_load_state()
    return tab


def wait_until(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_start_from_the_portal_fill_leave_continue_and_submit(signed_in_page, live_server, c):
    portal = signed_in_page(c.guardian.user)
    portal.goto(overview_url(live_server, c))
    tab = open_from_portal(portal, "reg")
    # R9: a public form opens on its instructions page, in a tab with the branded header.
    expect(tab.locator('[data-page="instructions"]')).to_be_visible()
    expect(tab.locator('[data-field="district"]')).to_have_text("Springfield Unified")
    expect(tab.locator('[data-field="student"]')).to_have_text("Ana Diaz")
    tab.get_by_role("link", name="Begin").click()
    expect(tab.locator('[data-field="progress"]')).to_have_text("Page 1 of 2")
    # Validation: refused field by field, what was typed stays.
    tab.fill("#field-birth_date", "2017-04-12")
    tab.fill("#field-siblings", "two")
    tab.get_by_role("button", name="Save & Continue").click()
    expect(tab.locator('[data-field-key="nickname"] [data-field="error"]')).to_have_text("This field is required.")
    expect(tab.locator('[data-field-key="siblings"] [data-field="error"]')).to_have_text("Enter a number.")
    expect(tab.locator("#field-siblings")).to_have_value("two")
    expect(tab.locator("#field-birth_date")).to_have_value("2017-04-12")
    tab.fill("#field-nickname", "Annie")
    tab.fill("#field-siblings", "2")
    tab.get_by_role("button", name="Save & Continue").click()
    expect(tab.locator('[data-field="progress"]')).to_have_text("Page 2 of 2")
    tab.close()  # leave

    submission = Submission.objects.get(student=c.student, form=c.form)
    assert submission.status == "in_progress" and submission.last_page == 2
    assert wait_until(lambda: not FormLock.objects.filter(guardian=c.guardian).exists())  # page-hide beacon
    portal.reload()
    expect(portal.locator('[data-form-key="reg"]')).to_have_attribute("data-status", "started")
    tab = open_from_portal(portal, "reg")
    expect(tab.locator('[data-field="progress"]')).to_have_text("Page 2 of 2")  # the last saved page
    tab.get_by_role("button", name="Back").click()
    expect(tab.locator("#field-nickname")).to_have_value("Annie")
    tab.get_by_role("button", name="Save & Continue").click()
    tab.get_by_label("School").check()
    tab.get_by_label("Music").check()
    tab.fill("#field-signature", "Maria Diaz")
    tab.get_by_role("button", name="Submit").click()
    expect(tab.locator('[data-page="confirmation"]')).to_be_visible()
    expect(tab.locator('[data-field="status"]')).to_have_text("Submitted")
    answers = tab.locator('[data-section="answers"]')
    expect(answers).to_contain_text("Annie")
    expect(answers).to_contain_text("Music")
    expect(answers).to_contain_text("Signed by Maria Diaz")
    submission.refresh_from_db()
    assert submission.status == "submitted" and submission.revisions.count() == 1


def test_private_form_opens_prefilled_on_page_one(signed_in_page, live_server, c):
    tab = signed_in_page(c.guardian.user)
    tab.goto(start_url(live_server, c, c.private_form))
    expect(tab.locator('[data-field="progress"]')).to_have_text("Page 1 of 2")
    expect(tab.locator("#field-birth_date")).to_have_value("2017-04-12")
    expect(tab.locator("#field-address")).to_have_value("418 Willow Lane")


def test_update_a_form_that_requires_it(signed_in_page, live_server, c):
    submission, _ = domain.submission_upsert(
        student=c.student, form=c.form, status="submitted", submitted_at=timezone.now(), workspace="rejected",
        update_requested=True, answers={"nickname": "Annie", "birth_date": "2017-04-12", "lunch": "Home",
                                        "signature": {"name": "Maria Diaz", "date": "2026-08-01"}},
    )
    tab = signed_in_page(c.co_guardian.user)
    tab.goto(confirmation_url(live_server, c, submission))
    tab.get_by_role("link", name="Edit Form").click()
    expect(tab.locator('[data-field="progress"]')).to_have_text("Page 1 of 2")
    expect(tab.locator('[data-field="updating"]')).to_be_visible()
    expect(tab.locator("#field-nickname")).to_have_value("Annie")  # from the submitted answers
    tab.fill("#field-nickname", "Ana Sofia")
    tab.get_by_role("button", name="Save & Continue").click()
    tab.get_by_role("button", name="Submit").click()
    expect(tab.locator('[data-field="updated-at"]')).to_be_visible()
    expect(tab.locator('[data-section="answers"]')).to_contain_text("Ana Sofia")
    expect(tab.locator('[data-action="edit_form"]')).to_have_count(0)
    submission.refresh_from_db()
    assert (submission.update_requested, submission.workspace) == (False, "not_imported")
    assert list(submission.revisions.values_list("kind", flat=True)) == ["imported", "update"]
    assert submission.revisions.get(number=1).answers["nickname"] == "Annie"  # kept, never overwritten


def test_pay_a_balance_with_sandbox_cards_and_a_double_click_pays_once(signed_in_page, live_server, c):
    submission, _ = domain.submission_upsert(student=c.student, form=c.form, status="submitted",
                                             submitted_at=timezone.now(), balance=Decimal("35.00"))
    tab = signed_in_page(c.guardian.user)
    tab.goto(confirmation_url(live_server, c, submission))
    expect(tab.locator('[data-field="balance"]')).to_have_text("$35.00")
    tab.get_by_role("link", name="Pay Outstanding Balance").click()
    expect(tab.locator('[data-page="payment"] [data-field="balance"]')).to_have_text("$35.00")

    def fill(number):
        tab.get_by_label("Name on card").fill("Maria Diaz")
        tab.get_by_label("Card number").fill(number)
        tab.get_by_label("Expiry date (MM/YY)").fill("12/30")
        tab.get_by_label("Security code (CVC)").fill("123")

    fill("4000 0000 0000 0002")
    tab.get_by_role("button", name="Pay now").click()
    expect(tab.locator('[data-field="payment-error"]')).to_contain_text("declined")
    fill("4242 4242 4242 4242")
    tab.get_by_role("button", name="Pay now").dblclick()
    expect(tab.locator('[data-page="confirmation"]')).to_be_visible()
    expect(tab.locator(".form-tab-messages")).to_contain_text("$35.00 was received")
    expect(tab.locator('[data-field="balance"]')).to_have_text("$0.00")
    assert LedgerEntry.objects.filter(submission=submission, kind="payment").count() == 1
    expect(tab.locator('[data-action="pay_balance"]')).to_have_count(0)


def test_cannot_open_another_form_until_the_tab_is_closed(signed_in_page, live_server, c):
    first = signed_in_page(c.guardian.user)
    first.goto(start_url(live_server, c, c.form))
    expect(first.locator('[data-page="instructions"]')).to_be_visible()
    second = first.context.new_page()
    second.goto(start_url(live_server, c, c.private_form))
    expect(second.get_by_role("heading", name="Cannot Open Another Form")).to_be_visible()
    expect(second.locator('[data-page="cannot-open"]')).to_contain_text("Returning Registration")
    assert not Submission.objects.filter(form=c.private_form).exists()
    second.goto(start_url(live_server, c, c.form))  # reopening the same form is fine: it continues
    expect(second.locator('[data-field="progress"]')).to_have_text("Page 1 of 2")
    second.close()
    first.close()
    assert wait_until(lambda: not FormLock.objects.filter(guardian=c.guardian).exists())
    third = signed_in_page(c.guardian.user).context.new_page()
    third.goto(start_url(live_server, c, c.private_form))
    expect(third.locator('[data-field="progress"]')).to_have_text("Page 1 of 2")


def test_heartbeat_holds_a_used_tab_and_an_idle_tab_is_released(signed_in_page, live_server, c, settings):
    settings.FORM_LOCK_TIMEOUT = 3  # heartbeat every 0.75 s while the tab is used
    first = signed_in_page(c.guardian.user)
    first.goto(start_url(live_server, c, c.private_form))
    first.click("#field-nickname")
    for _ in range(8):  # 4.8 s of typing: longer than the timeout
        first.keyboard.type("a")
        first.wait_for_timeout(600)
    second = first.context.new_page()
    second.goto(start_url(live_server, c, c.form))
    expect(second.get_by_role("heading", name="Cannot Open Another Form")).to_be_visible()
    first.wait_for_timeout(4500)  # the first tab stays open, untouched, past the timeout
    second.reload()
    expect(second.locator('[data-page="instructions"]')).to_be_visible()


def test_back_button_closes_a_tab_opened_from_the_portal_else_goes_to_the_portal(signed_in_page, live_server, c):
    portal = signed_in_page(c.guardian.user)
    portal.goto(overview_url(live_server, c))
    tab = open_from_portal(portal, "reg")
    expect(tab.locator('[data-page="instructions"]')).to_be_visible()
    tab.get_by_role("link", name="Back to the portal").click()
    assert wait_until(tab.is_closed, timeout=5)
    # A tab the browser will not close (it was not opened by the portal) goes to the portal instead.
    direct = portal.context.new_page()
    direct.goto(overview_url(live_server, c))
    direct.goto(start_url(live_server, c, c.form))
    expect(direct.locator('[data-field="progress"]').or_(direct.locator('[data-page="instructions"]'))).to_be_visible()
    direct.get_by_role("link", name="Back to the portal").click()
    direct.wait_for_url(overview_url(live_server, c))
    expect(direct.locator('[data-form-key="reg"]')).to_be_visible()




def navigate(tab, locator):
    """Click and wait for the page it loads (axe must not run on the page being left)."""
    with tab.expect_navigation():
        locator.click()


def axe_violations(tab) -> list[dict]:
    violations, passes = axe_run(tab)
    assert passes > 10  # axe really ran
    return violations


def test_form_tab_pages_pass_axe_and_break_no_content_security_rule(browser, live_server, c):
    """axe-core on every form-tab page and state (360 px too); the pages themselves load with the
    site's Content-Security-Policy and log no violation."""
    submission, _ = domain.submission_upsert(student=c.student, form=c.private_form, status="submitted",
                                             submitted_at=timezone.now(), balance=Decimal("12.50"),
                                             update_requested=True)
    failures = {}
    for options in ({}, {"viewport": {"width": 360, "height": 740}}):
        Submission.objects.filter(form=c.form).delete()  # each round starts the form afresh
        FormLock.objects.all().delete()
        context = browser.new_context(bypass_csp=True, **options)
        track_requests(context)
        login_cookie(context, live_server.url, c.guardian.user)
        tab = context.new_page()
        steps = [
            ("instructions", lambda t: t.goto(start_url(live_server, c, c.form))),
            ("page", lambda t: navigate(t, t.get_by_role("link", name="Begin"))),
            ("errors", lambda t: navigate(t, t.get_by_role("button", name="Save & Continue"))),
            ("cannot-open", lambda t: t.goto(confirmation_url(live_server, c, submission))),
        ]
        for name, step in steps:
            step(tab)
            tab.wait_for_load_state()
            if violations := axe_violations(tab):
                failures[f"{name} {options}"] = violations
        FormLock.objects.all().delete()
        for name, step in [
            ("confirmation", lambda t: t.goto(confirmation_url(live_server, c, submission))),
            ("payment", lambda t: navigate(t, t.get_by_role("link", name="Pay Outstanding Balance"))),
            ("payment-errors", lambda t: navigate(t, t.get_by_role("button", name="Pay now"))),
        ]:
            step(tab)
            tab.wait_for_load_state()
            if violations := axe_violations(tab):
                failures[f"{name} {options}"] = violations
        context.set_offline(True)
        close_context(context)
    assert failures == {}

    # The same pages under the real policy: nothing refused.
    context = browser.new_context()
    track_requests(context)
    refused = []
    login_cookie(context, live_server.url, c.co_guardian.user)
    tab = context.new_page()
    tab.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    tab.goto(confirmation_url(live_server, c, submission))
    tab.get_by_role("link", name="Edit Form").click()
    tab.get_by_role("button", name="Save & Continue").click()
    tab.goto(start_url(live_server, c, c.form))  # Cannot Open Another Form
    expect(tab.get_by_role("heading", name="Cannot Open Another Form")).to_be_visible()
    context.set_offline(True)
    close_context(context)
    assert refused == []
