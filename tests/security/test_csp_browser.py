"""The Content-Security-Policy in a real Chromium: the portal, the form tab (its script heartbeats the
form lock), the admin console and Django admin run without a single policy violation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def visit(page, url: str) -> list[str]:
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.evaluate("() => new Promise(r => setTimeout(r, 300))")  # let late scripts run
    return violations


def test_parent_pages_and_the_form_tab_keep_to_the_policy(page, live_server, cast):
    from forms_catalog.form_definitions import form_definition_set
    from tests.factories import FormFactory

    form = FormFactory(district=cast.district, key="csp", name="Policy Form")
    form_definition_set(form=form, pages=[{"title": "One", "fields": [
        {"key": "when", "label": "When", "kind": "date"},
        {"key": "pick", "label": "Pick", "kind": "single_choice", "choices": ["A", "B"]}]}])
    login_cookie(page.context, live_server.url, cast.guardian.user)
    urls = [
        reverse("parent_portal:overview", kwargs={"district": "springfield", "student_id": cast.student.id}),
        reverse("parent_portal:forms", kwargs={"district": "springfield", "student_id": cast.student.id}) + "?q=Pol",
        reverse("parent_portal:form_start", kwargs={"district": "springfield", "student_id": cast.student.id,
                                                    "form_id": form.id}),
    ]
    for url in urls:
        response_violations = visit(page, live_server.url + url)
        assert response_violations == [], f"{url}: {response_violations}"
    policy = page.evaluate("async () => (await fetch(location.href)).headers.get('content-security-policy')")
    assert "script-src 'self'" in policy
    # The detector works: an injected inline script is refused and reported.
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';"
                  " document.body.appendChild(s); }")
    page.evaluate("() => new Promise(r => setTimeout(r, 200))")
    assert seen and page.evaluate("() => window.pwned") is None


def test_console_and_django_admin_keep_to_the_policy(page, live_server, cast, django_user_model):
    from admin_config.services import staff_membership_set

    staff = django_user_model.objects.create_user("csp-staff", password="unused password 123")
    staff_membership_set(user=staff, district=cast.district, configuration=True, submission_workspace=True)
    login_cookie(page.context, live_server.url, staff)
    for name in ("admin_config:config_sso_edit", "admin_config:config_available_forms", "admin_config:workspace",
                 "admin_config:audit_log"):
        url = live_server.url + reverse(name, kwargs={"district": "springfield"})
        assert visit(page, url) == [], name
    support = django_user_model.objects.create_superuser("csp-support", password="unused password 123")
    page.context.clear_cookies()
    login_cookie(page.context, live_server.url, support)
    for url in ("/admin/", "/admin/forms_catalog/form/", "/admin/auth/user/"):
        assert visit(page, live_server.url + url) == [], url
