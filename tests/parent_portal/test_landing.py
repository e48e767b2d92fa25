"""The front page: parents find their district and go to its sign-in."""

import pytest
from django.urls import reverse

from forms_catalog import services

pytestmark = pytest.mark.django_db


def test_front_page_lists_districts_whose_parents_use_the_portal(client, cast):
    services.district_update(district=cast.other_district, mypowerhub_enabled=False)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{reverse("parent_portal:home", kwargs={"district": "springfield"})}"' in html
    assert "Springfield Unified" in html
    # A district without the MyPowerHub integration offers parents nothing (R3): not listed.
    assert "Shelbyville" not in html
    assert reverse("admin_config:home") in html


def test_choosing_a_district_leads_to_its_parent_sign_in(client, cast):
    response = client.get(reverse("parent_portal:home", kwargs={"district": "springfield"}))
    assert response.status_code == 302
    assert response.url.startswith(reverse("sso:login", kwargs={"district": "springfield"}))


def test_front_page_says_so_when_no_district_is_open(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert 'data-empty="districts"' in response.content.decode()


def test_front_page_in_spanish(client, cast):
    client.cookies["django_language"] = "es"
    html = client.get("/").content.decode()
    assert "Elija su distrito escolar" in html


@pytest.mark.browser
def test_front_page_is_accessible_and_leads_to_sign_in_in_a_browser(browser, live_server, transactional_db):
    from tests.conftest import axe_run, close_context, make_cast, track_requests

    make_cast()
    context = browser.new_context(bypass_csp=True)  # axe-core is injected as an inline script
    track_requests(context)
    page = context.new_page()
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(live_server.url + "/")
        violations, passes = axe_run(page)
        assert violations == [] and passes > 0
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.click("[data-district=springfield]")
    # No identity provider is configured for this district: its sign-in says so instead of failing.
    assert "/sso/springfield/login/" in page.url
    close_context(context)
