"""The parent portal in a real headless Chromium against the live app server (issue 3).

The shared example district (`../shared/examples/lincoln.json`) is loaded and the portal clock is
frozen at the instants of its cases, so what the browser shows can be compared with `portal_forms`.
Failing tests save screenshots of every open tab to `test-artifacts/`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from unittest import mock

import pytest
from django.urls import reverse

from forms_catalog import scenario
from forms_catalog.management.commands.portal_forms import parse_instant
from forms_catalog.models import Guardian, Student, Submission
from tests.conftest import ARTIFACTS, axe_run, close_context, login_cookie, track_requests

pytestmark = pytest.mark.browser

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
CASES = json.loads((EXAMPLES / "lincoln.cases.json").read_text())
SEPT = "2025-09-01T00:00:00Z"
FEB = "2026-02-01T00:00:00Z"


def expected(guardian: str, student: str, at: str) -> dict:
    for case in CASES:
        args = dict(zip(case["args"][::2], case["args"][1::2], strict=True))
        if (args["--guardian"], args["--student"], args["--at"], args.get("--q")) == (guardian, student, at, None):
            return case["expect"]
    raise LookupError((guardian, student, at))


def keys(items) -> list[str]:
    return [i["form"] for i in items]


class Portal:
    """The example district on the live server, with the portal clock frozen."""

    def __init__(self, live_server):
        self.url = live_server.url
        self._clock = None

    def at(self, instant: str) -> Portal:
        if self._clock:
            self._clock.stop()
        self._clock = mock.patch("parent_portal.views.current_time", return_value=parse_instant(instant))
        self._clock.start()
        return self

    def stop(self):
        if self._clock:
            self._clock.stop()

    @staticmethod
    def guardian(global_id: str) -> Guardian:
        return Guardian.objects.select_related("user").get(district__slug="lincoln", global_id=global_id)

    @staticmethod
    def student(sis_id: str) -> Student:
        return Student.objects.get(district__slug="lincoln", sis_id=sis_id)

    def overview(self, sis_id: str) -> str:
        student = self.student(sis_id)
        return self.url + reverse("parent_portal:overview", kwargs={"district": "lincoln", "student_id": student.id})

    def forms(self, sis_id: str, query: str = "") -> str:
        student = self.student(sis_id)
        return (self.url + reverse("parent_portal:forms", kwargs={"district": "lincoln", "student_id": student.id})
                + query)


@pytest.fixture
def portal(transactional_db, live_server):
    scenario.load_file(str(EXAMPLES / "lincoln.json"))
    portal = Portal(live_server).at(SEPT)
    yield portal
    portal.stop()


@pytest.fixture
def errors(page):
    """JavaScript errors and Content-Security-Policy refusals seen by the page; each test ends with none."""
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    page.on("console", lambda msg: seen.append(msg.text) if msg.type == "error" else None)
    yield seen
    assert seen == []


@pytest.fixture
def new_page(browser, request, live_server):
    """`new_page(user, **context_options)`: a signed-in page in its own browser context."""
    contexts = []

    def make(user, **options):
        context = browser.new_context(**options)
        track_requests(context)
        contexts.append(context)
        login_cookie(context, live_server.url, user)
        return context.new_page()

    yield make
    report = request.node.stash.get("reports", {}).get("call")
    for n, context in enumerate(contexts):
        if report is not None and report.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for i, p in enumerate(context.pages):
                with contextlib.suppress(Exception):
                    p.screenshot(path=str(ARTIFACTS / f"{request.node.name}-ctx{n}-{i}.png"), full_page=True)
        with contextlib.suppress(Exception):  # some tests close their contexts early
            close_context(context)


def shown_keys(page, selector: str) -> list[str]:
    return page.locator(f"{selector} [data-form-key]").evaluate_all("els => els.map(e => e.dataset.formKey)")


# --- Overview ------------------------------------------------------------------------------


def test_overview_shows_the_first_five_forms_in_r6_order_and_links_to_more_forms(portal, signed_in_page, errors):
    """R6: all shown forms of both products by status, year, name; the first five. Then More Forms."""
    portal.at(FEB)
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.overview("5002"))
    expect = expected("mom@nguyen.example", "5002", FEB)
    all_forms = keys(expect["todo"]["enrollment"]) + [f["form"] for g in expect["todo"]["express"] for f in g["forms"]]
    assert len(all_forms) > 5
    assert shown_keys(page, "[data-list=overview]") == keys(expect["overview"])
    assert page.locator("[data-list=overview] .form-item").count() == 5
    first = page.locator("[data-list=overview] .form-item").first
    assert first.locator("[data-field=name]").inner_text() == "Free and Reduced Lunch"
    assert "2024-2025" in first.inner_text()
    assert first.locator(".badge__label").inner_text().strip() == "Not Started"

    page.get_by_role("link", name="More Forms").click()
    page.wait_for_url(portal.forms("5002"))
    assert page.get_by_role("tab", name="To Do").get_attribute("aria-selected") == "true"
    assert page.locator("#panel-todo").is_visible()


def test_approved_form_shows_its_approval_date(portal, signed_in_page, errors):
    """R5: an approved submission's badge comes with its approval date."""
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.forms("5001", "?tab=complete"))
    item = page.locator("#panel-complete [data-form-key=old-reg]")
    assert item.locator(".badge__label").inner_text().strip() == "Approved"
    assert item.locator("time").get_attribute("datetime") == "2024-05-20"
    assert "Approved on May 20, 2024" in " ".join(item.inner_text().split())


# --- Forms page: tabs, sections, search -------------------------------------------------------


def test_tabs_switch_by_mouse_and_keyboard(portal, signed_in_page, errors):
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.forms("5001"))
    expect = expected("mom@nguyen.example", "5001", SEPT)
    todo, complete = page.get_by_role("tab", name="To Do"), page.get_by_role("tab", name="Complete")
    assert page.get_by_role("tablist").count() == 1
    assert page.get_by_role("tabpanel", name="To Do").is_visible()
    assert todo.get_attribute("aria-selected") == "true" and complete.get_attribute("aria-selected") == "false"
    assert todo.get_attribute("tabindex") == "0" and complete.get_attribute("tabindex") == "-1"
    # R7: Enrollment Forms and Other Forms (grouped by packet, the packet name as sub-header).
    panel = page.get_by_role("tabpanel")
    assert panel.get_by_role("heading", name="Enrollment Forms").is_visible()
    assert panel.get_by_role("heading", name="Other Forms").is_visible()
    assert panel.get_by_role("heading", name="Back to School 2025").is_visible()
    assert shown_keys(page, "#panel-todo [data-section=enrollment]") == keys(expect["todo"]["enrollment"])

    complete.click()  # mouse
    assert complete.get_attribute("aria-selected") == "true"
    assert page.locator("#panel-complete").is_visible() and page.locator("#panel-todo").is_hidden()
    assert page.url.endswith("?tab=complete")
    assert shown_keys(page, "#panel-complete [data-section=enrollment]") == keys(expect["complete"]["enrollment"])

    complete.focus()  # keyboard: Left/Right wrap, Home, End; the focused tab is selected
    page.keyboard.press("ArrowLeft")
    assert todo.get_attribute("aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "tab-todo"
    # Focus is visible: a solid ring at least 2 px wide.
    ring = page.evaluate("(s => [s.outlineStyle, parseFloat(s.outlineWidth)])"
                         "(getComputedStyle(document.activeElement))")
    assert ring[0] == "solid" and ring[1] >= 2
    assert page.locator("#panel-todo").is_visible() and page.locator("#panel-complete").is_hidden()
    page.keyboard.press("ArrowLeft")
    assert complete.get_attribute("aria-selected") == "true"
    page.keyboard.press("Home")
    assert todo.get_attribute("aria-selected") == "true"
    page.keyboard.press("End")
    assert complete.get_attribute("aria-selected") == "true"
    page.keyboard.press("ArrowRight")
    assert todo.get_attribute("aria-selected") == "true"
    # Tab moves from the selected tab into its panel, not to the other tab.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "panel-todo"


def test_search_filters_both_tabs_and_keeps_the_tab(portal, signed_in_page, errors):
    """R7: the search keeps forms whose name contains the text, in both tabs; the selected tab stays."""
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.forms("5001"))
    page.get_by_role("tab", name="Complete").click()
    page.get_by_label("Search forms by name").fill("REGISTRATION")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**q=REGISTRATION**")
    assert "tab=complete" in page.url
    assert page.get_by_role("tab", name="Complete").get_attribute("aria-selected") == "true"
    assert shown_keys(page, "#panel-complete") == ["old-reg"]
    assert shown_keys(page, "#panel-todo") == ["reg-2526"]
    assert page.get_by_label("Search forms by name").input_value() == "REGISTRATION"

    page.get_by_label("Search forms by name").fill("no such form")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=no+such+form**")
    empty = page.locator("#panel-complete [data-empty=complete]")
    assert "No forms in this list match “no such form”" in empty.inner_text()
    empty.get_by_role("link", name="Clear search").click()
    page.wait_for_url("**?tab=complete")
    assert shown_keys(page, "#panel-complete") == ["old-reg", "media"]


def test_empty_tab_says_what_to_do_next(portal, signed_in_page, errors):
    page = signed_in_page(portal.guardian("dad@nguyen.example").user)
    page.goto(portal.forms("5002", "?tab=complete"))
    message = page.locator("#panel-complete [data-empty=complete]")
    assert "No completed forms for Liam Nguyen yet" in message.inner_text()
    message.get_by_role("link", name="See forms to do").click()
    page.wait_for_url("**?tab=todo")
    assert page.get_by_role("tab", name="To Do").get_attribute("aria-selected") == "true"


# --- Links and the More menu (R9) -----------------------------------------------------------


def test_form_link_opens_the_form_in_a_new_tab(portal, signed_in_page, errors):
    """R9: a started form continues at its submission, in a new tab; the portal stays where it was."""
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.overview("5001"))
    link = page.locator("[data-form-key=transfer] a.form-item__link")
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener"
    submission = Submission.objects.get(form__key="transfer", student__sis_id="5001")
    continue_url = portal.url + reverse(
        "parent_portal:form_continue", kwargs={"district": "lincoln", "submission_id": submission.id})
    assert link.get_attribute("href") == continue_url.removeprefix(portal.url)
    requested = []
    page.context.on("request", lambda request: requested.append(request.url))
    with page.context.expect_page() as new_tab:
        link.click()
    tab = new_tab.value
    tab.wait_for_load_state()
    # The new tab went to the form-tab route (which may then move on to the last saved page).
    assert requested[0] == continue_url
    assert tab.url.startswith(f"{portal.url}/d/lincoln/submissions/{submission.id}/")
    assert page.url == portal.overview("5001")
    # Not started forms start the form; submitted ones open their confirmation page.
    start = page.locator("[data-form-key=reg-2526] a.form-item__link").get_attribute("href")
    assert start.endswith("/start/")
    assert page.locator("[data-form-key=lunch] a.form-item__link").get_attribute("href").endswith("/confirmation/")


def test_more_menu_works_by_keyboard_and_opens_actions_in_a_new_tab(portal, signed_in_page, errors):
    """R9: Pay Outstanding Balance on a submitted form with a balance; the menu-button pattern by keyboard."""
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.forms("5001", "?tab=complete"))
    item = page.locator("#panel-complete [data-form-key=old-reg]")
    button = item.get_by_role("button", name="More actions for 2024-2025 Returning Student Registration")
    assert button.get_attribute("aria-haspopup") == "menu" and button.get_attribute("aria-expanded") == "false"
    assert page.locator("#panel-complete [data-form-key=media]").get_by_role("button").count() == 0  # no actions

    button.focus()
    page.keyboard.press("Enter")
    menu = item.get_by_role("menu")
    assert button.get_attribute("aria-expanded") == "true" and menu.is_visible()
    pay = menu.get_by_role("menuitem", name="Pay Outstanding Balance")
    assert page.evaluate("document.activeElement.textContent").startswith("Pay Outstanding Balance")
    page.keyboard.press("Escape")
    assert menu.is_hidden() and button.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.id") == button.get_attribute("id")

    page.keyboard.press("ArrowDown")
    assert menu.is_visible()
    submission = Submission.objects.get(form__key="old-reg", student__sis_id="5001")
    pay_path = reverse("parent_portal:form_pay", kwargs={"district": "lincoln", "submission_id": submission.id})
    assert pay.get_attribute("href") == pay_path
    assert pay.get_attribute("target") == "_blank" and pay.get_attribute("rel") == "noopener"
    requested = []
    page.context.on("request", lambda request: requested.append(request.url))
    with page.context.expect_page() as new_tab:
        page.keyboard.press("Enter")
    tab = new_tab.value
    tab.wait_for_load_state()
    assert requested[0] == portal.url + pay_path
    assert tab.url.startswith(f"{portal.url}/d/lincoln/submissions/{submission.id}/")
    assert page.url == portal.forms("5001", "?tab=complete")

    # The rejected lunch form asks for an update: Edit Form, reached with Up/Down/Home/End.
    page.get_by_role("tab", name="To Do").click()
    lunch = page.locator("#panel-todo [data-form-key=lunch]")
    lunch.get_by_role("button").focus()
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.textContent").startswith("Edit Form")
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "menuitem"
    page.keyboard.press("Tab")
    assert lunch.get_by_role("menu").is_hidden()


# --- Students ------------------------------------------------------------------------------


def test_restricted_guardian_sees_the_student_and_a_plain_message(portal, signed_in_page, errors):
    """R8: no forms, no search, no tabs; just the student and "no forms available"."""
    page = signed_in_page(portal.guardian("dad@nguyen.example").user)
    for url in (portal.overview("5001"), portal.forms("5001")):
        page.goto(url)
        assert page.locator("main").get_by_text("No forms are available for Sofia Nguyen.").is_visible()
        assert page.locator("[data-form-key]").count() == 0
        assert page.get_by_role("tab").count() == 0 and page.get_by_role("search").count() == 0
        assert page.get_by_role("link", name="More Forms").count() == 0
        assert page.get_by_role("navigation", name="Portal pages").count() == 0
    # The other, unrestricted student of the same guardian shows their forms.
    page.goto(portal.overview("5002"))
    assert shown_keys(page, "[data-list=overview]") == keys(expected("dad@nguyen.example", "5002", SEPT)["overview"])


def test_student_switcher_lists_linked_students_with_grades(portal, signed_in_page, errors):
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.url + reverse("parent_portal:home", kwargs={"district": "lincoln"}))
    page.wait_for_url(portal.overview("5002"))  # the first linked student by name: Liam
    assert page.get_by_role("heading", level=1).inner_text() == "Overview for Liam Nguyen"
    page.locator(".switcher summary").click()
    students = page.get_by_role("navigation", name="Your students").get_by_role("link")
    assert [" ".join(t.split()) for t in students.all_inner_texts()] == ["Liam Nguyen Grade 9", "Sofia Nguyen Grade 4"]
    assert students.first.get_attribute("aria-current") == "page"
    students.nth(1).click()
    page.wait_for_url(portal.overview("5001"))
    assert page.get_by_role("heading", level=1).inner_text() == "Overview for Sofia Nguyen"
    assert shown_keys(page, "[data-list=overview]") == keys(expected("mom@nguyen.example", "5001", SEPT)["overview"])
    # On the Forms page the switcher keeps the Forms page.
    page.goto(portal.forms("5001"))
    page.locator(".switcher summary").click()
    page.get_by_role("navigation", name="Your students").get_by_role("link", name="Liam Nguyen").click()
    page.wait_for_url(portal.forms("5002"))


# --- Language, small screens, no JavaScript ---------------------------------------------------


def test_spanish_is_chosen_once_and_sticks(portal, signed_in_page, errors):
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.overview("5001"))
    with page.expect_navigation():
        page.get_by_role("button", name="Español").click()
    assert page.url == portal.overview("5001")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "Resumen de Sofia Nguyen"
    assert page.locator("[data-form-key=lunch] .badge__label").inner_text().strip() == "Rechazado"
    page.get_by_role("link", name="Más formularios").click()
    page.wait_for_url(portal.forms("5001"))
    assert page.get_by_role("tab", name="Pendientes").get_attribute("aria-selected") == "true"
    assert page.get_by_role("heading", name="Formularios de inscripción").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Forms for Sofia Nguyen"


@pytest.mark.parametrize("width", [360, 768, 1440])
def test_pages_fit_the_screen_without_horizontal_scrolling(portal, new_page, width):
    page = new_page(portal.guardian("mom@nguyen.example").user, viewport={"width": width, "height": 800})
    for url in (portal.overview("5001"), portal.forms("5001"), portal.forms("5001", "?tab=complete")):
        page.goto(url)
        if "complete" in url:
            page.locator("#panel-complete [data-form-key=old-reg]").get_by_role("button").click()
        page.locator(".switcher summary").click()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (url, width, overflow)
        # Every form name, badge and menu button is inside the viewport.
        for box in page.locator(".form-item__link, .badge, .more-menu__button").evaluate_all(
            "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().right)"
        ):
            assert box <= width, (url, width, box)


def test_pages_work_without_javascript(portal, new_page):
    """Tabs are links to ?tab=, the More menu a disclosure; both still reach everything."""
    page = new_page(portal.guardian("mom@nguyen.example").user, java_script_enabled=False)
    page.goto(portal.forms("5001"))
    assert page.get_by_role("tab").count() == 0
    page.get_by_role("link", name="Complete").click()
    page.wait_for_url("**?tab=complete")
    assert page.locator("#panel-complete").is_visible() and page.locator("#panel-todo").is_hidden()
    item = page.locator("#panel-complete [data-form-key=old-reg]")
    assert item.get_by_role("link", name="Pay Outstanding Balance").is_hidden()
    item.locator("summary").click()
    assert item.get_by_role("link", name="Pay Outstanding Balance").is_visible()


# --- Accessibility ---------------------------------------------------------------------------


def test_no_axe_violations_on_any_portal_page(portal, new_page):
    """axe-core (from npm) on every portal page and state: both tabs, an open menu, search results and
    empty states, the restricted view, the no-students page, Spanish, and a 360 px screen."""
    from forms_catalog import services
    from forms_catalog.models import District

    lonely, _ = services.guardian_upsert(district=District.objects.get(slug="lincoln"),
                                         global_id="new@nguyen.example", first_name="Lan", last_name="Nguyen")
    mom, dad = portal.guardian("mom@nguyen.example").user, portal.guardian("dad@nguyen.example").user
    home = portal.url + reverse("parent_portal:home", kwargs={"district": "lincoln"})
    checks = [
        (mom, portal.overview("5001"), None),
        (mom, portal.forms("5001"), None),
        (mom, portal.forms("5001", "?tab=complete"), "#panel-complete [data-form-key=old-reg] button"),
        (mom, portal.forms("5001", "?tab=todo&q=registration"), None),
        (mom, portal.forms("5001", "?tab=complete&q=zzz"), None),
        (mom, portal.forms("5002", "?tab=complete"), ".switcher summary"),
        (dad, portal.overview("5001"), None),
        (dad, portal.forms("5001"), None),
        (lonely.user, home, None),
    ]
    failures = {}
    # Default, a 360 px screen, Spanish, and the pages as they are without portal.js (tabs as links,
    # menus as disclosures).
    for options in ({}, {"viewport": {"width": 360, "height": 740}}, {"locale": "es"}, {"no_script": True}):
        pages = {}
        for user, url, click in checks:
            if user not in pages:
                context_options = {k: v for k, v in options.items() if k != "no_script"}
                # bypass_csp lets the test inject axe-core; the page's own scripts are all from 'self'.
                pages[user] = new_page(user, bypass_csp=True, **context_options)
                if options.get("locale"):
                    pages[user].context.add_cookies([{"name": "django_language", "value": "es", "url": portal.url}])
                if options.get("no_script"):
                    pages[user].route("**/js/portal.js", lambda route: route.abort())
            page = pages[user]
            page.goto(url)
            if options.get("locale"):
                assert page.locator("html").get_attribute("lang") == "es"
            if options.get("no_script"):
                assert page.get_by_role("tab").count() == 0
            if click:
                page.locator(click if not options.get("no_script") else click.replace(" button", " summary")).click()
            violations, passes = axe_run(page)
            assert passes > 10  # axe really ran its rules on this page
            if violations:
                failures[f"{url} {options}"] = violations
    assert failures == {}
    # The check can fail: an image without a text alternative is reported.
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/x.png\">')")
    assert "image-alt" in [v["id"] for v in axe_run(page)[0]]


def test_header_names_the_district_and_guardian_and_signs_out(portal, signed_in_page):
    page = signed_in_page(portal.guardian("mom@nguyen.example").user)
    page.goto(portal.overview("5001"))
    header = page.get_by_role("banner")
    assert "Lincoln Public Schools" in header.inner_text() and "Hoa Nguyen" in header.inner_text()
    header.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{portal.url}/sso/lincoln/signed-out/")
    # Signed out: the portal sends the visitor to the district's sign-in (no SSO configured here: 404).
    page.goto(portal.overview("5001"))
    assert page.url.startswith(f"{portal.url}/sso/lincoln/login/")
