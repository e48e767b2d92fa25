"""The admin console in a real headless Chromium against the live app server: the Configuration page
(edit mode, R11 messages per field, the secret never in the page), Available Forms changing what a
parent sees (R4), and a bulk action in the Submission Workspace. No JavaScript errors or CSP refusals."""

from __future__ import annotations

import pytest
from django.urls import reverse

from forms_catalog import selectors
from forms_catalog.models import Submission
from sso.models import SSOConfiguration
from tests.conftest import axe_run
from tools.oidc.fakeprovider import FakeProvider
from tools.oidc.tls import make_ca_and_cert

from .conftest import enrollment_form, submitted

pytestmark = pytest.mark.browser



@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    tls = make_ca_and_cert(tmp_path_factory.mktemp("console-browser-tls"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", str(tls.ca))
        fake = FakeProvider(tls).start()
        yield fake
        fake.stop()


@pytest.fixture
def live(transactional_db, live_server, staff, settings, provider):
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
    settings.OUTBOUND_READ_TIMEOUT = 2.0
    provider.reset()
    return live_server


@pytest.fixture
def errors(page):
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(str(exc)))
    page.on("console", lambda msg: seen.append(msg.text) if msg.type == "error" else None)
    yield seen
    assert seen == []


def axe_violations(page) -> list:
    violations, passes = axe_run(page)
    assert passes > 5  # axe really ran
    return violations


def test_sso_edit_mode_messages_and_secret_never_in_the_page(live, staff, provider, signed_in_page, errors):
    page = signed_in_page(staff.config_admin)
    page.goto(live.url + reverse("admin_config:config_sso", kwargs={"district": staff.district.slug}))
    assert page.locator("#sso-form").count() == 0  # read-only first
    page.click("#edit-configuration")
    page.wait_for_selector("#sso-form")

    # R11: enabled with an http issuer and nothing else -> a message on each field at fault.
    page.check("#id_enabled")
    page.fill("#id_issuer", "http://idp.example.org")
    page.click("#save-configuration")
    assert page.inner_text('[data-error-for="issuer"]') == "The Issuer URL must use https."
    assert page.inner_text('[data-error-for="client_id"]') == "Client ID is required when Parent SSO is enabled."
    assert page.inner_text('[data-error-for="client_secret"]') == (
        "Client Secret is required when Parent SSO is enabled.")

    # A secret typed into a refused save is not sent back either.
    page.fill("#id_issuer", provider.issuer.replace("https://", "http://"))
    page.fill("#id_client_id", provider.client_id)
    page.fill("#id_client_secret", provider.client_secret)
    page.fill("#id_global_identifier_claim", "email")
    page.fill("#id_scopes", "openid email")
    page.click("#save-configuration")
    assert page.inner_text('[data-error-for="issuer"]') == "The Issuer URL must use https."
    assert provider.client_secret not in page.content()
    assert page.input_value("#id_client_secret") == ""

    # Valid values: the discovery check passes against the provider and the read-only view returns.
    page.fill("#id_issuer", provider.issuer)
    page.fill("#id_client_secret", provider.client_secret)
    page.click("#save-configuration")
    page.wait_for_selector("#edit-configuration")
    assert "The SSO configuration was saved." in page.inner_text(".console-messages")
    assert page.inner_text('[data-field="client_secret"]') == "A secret is stored (hidden)"
    assert page.inner_text('[data-field="issuer"]') == provider.issuer
    config = SSOConfiguration.objects.get(district=staff.district)
    assert config.client_secret == provider.client_secret
    for html in (page.content(), page.evaluate("document.documentElement.outerHTML")):
        assert provider.client_secret not in html and config.client_secret_encrypted not in html

    # Edit again: the secret field is empty (blank keeps it), then Cancel leaves edit mode unchanged.
    page.click("#edit-configuration")
    assert page.input_value("#id_client_secret") == ""
    assert "A client secret is stored. Leave this blank to keep it" in page.inner_text("#sso-form")
    assert provider.client_secret not in page.content()
    page.fill("#id_scopes", "openid")
    page.click("#cancel-edit")
    page.wait_for_selector("#edit-configuration")
    assert page.inner_text('[data-field="scopes"]') == "openid email"


def test_available_forms_manual_selection_changes_what_the_parent_sees(live, staff, signed_in_page, errors):
    enrollment_form(staff.district, "reg-a", name="Form A", academic_year="2026-2027")
    enrollment_form(staff.district, "reg-b", name="Form B", academic_year="2026-2027")

    def parent_sees():
        link = selectors.guardian_link(district_slug=staff.district.slug, global_id=staff.cast.guardian.global_id,
                                       sis_id=staff.cast.student.sis_id)
        return sorted(i.form for i in selectors.portal_view(link=link).overview)

    assert parent_sees() == ["reg-a", "reg-b"]
    page = signed_in_page(staff.config_admin)
    page.goto(live.url + reverse("admin_config:config_available_forms", kwargs={"district": staff.district.slug}))
    assert page.is_checked("#mode-automatic")
    assert "is-inactive" in page.get_attribute("#manual-selection", "class")  # console.js: not used in Automatic
    page.check("#mode-manual")
    assert "is-inactive" not in page.get_attribute("#manual-selection", "class")
    page.check('[data-form-key="reg-b"]')
    page.click("#save-available-forms")
    page.wait_for_selector(".console-messages")
    assert "Available Forms was saved." in page.inner_text(".console-messages")
    assert page.is_checked("#mode-manual") and page.is_checked('[data-form-key="reg-b"]')
    assert not page.is_checked('[data-form-key="reg-a"]')
    assert parent_sees() == ["reg-b"]


def test_workspace_select_all_and_bulk_import(live, staff, signed_in_page, errors):
    form = enrollment_form(staff.district, "reg")
    subs = [submitted(staff.cast.student, form), submitted(staff.cast.sibling, form)]
    page = signed_in_page(staff.workspace_admin)
    page.goto(live.url + reverse("admin_config:workspace", kwargs={"district": staff.district.slug}))
    page.check("#select-all")
    assert all(page.is_checked(f"#sel-{s.pk}") for s in subs)
    page.select_option("#bulk-action", "import")
    page.click("#bulk-form button[type=submit]")
    page.wait_for_selector(".console-messages")
    assert "2 submissions updated." in page.inner_text(".console-messages")
    assert set(Submission.objects.values_list("workspace", flat=True)) == {"pending_approval"}
    assert page.locator('[data-col="display-status"]').all_inner_texts() == ["Pending review", "Pending review"]


def test_console_pages_have_no_serious_accessibility_violations(live, staff, browser):
    from tests.conftest import close_context, login_cookie, track_requests

    form = enrollment_form(staff.district, "reg")
    sub = submitted(staff.cast.student, form)
    # bypass_csp only lets the test inject axe-core; the tests above run under the real policy.
    context = browser.new_context(bypass_csp=True)
    track_requests(context)
    try:
        login_cookie(context, live.url, staff.support)
        page = context.new_page()
        d = staff.district.slug
        paths = [
            reverse("admin_config:config_sso", kwargs={"district": d}),
            reverse("admin_config:config_sso_edit", kwargs={"district": d}),
            reverse("admin_config:config_available_forms", kwargs={"district": d}),
            reverse("admin_config:audit_log", kwargs={"district": d}),
            reverse("admin_config:preview", kwargs={"district": d})
            + f"?q=maria&guardian={staff.cast.guardian.pk}&student={staff.cast.student.pk}",
            reverse("admin_config:workspace", kwargs={"district": d}),
            reverse("admin_config:workspace_detail", kwargs={"district": d, "submission_id": sub.pk}),
        ]
        found = {}
        for path in paths:
            page.goto(live.url + path)
            if violations := axe_violations(page):
                found[path] = violations
        page.goto(live.url + reverse("admin_config:config_sso_edit", kwargs={"district": d}))
        page.check("#id_enabled")
        page.click("#save-configuration")  # the page with R11 messages
        if violations := axe_violations(page):
            found["sso edit with errors"] = violations
        assert found == {}
    finally:
        close_context(context)
