"""Configuration - General: the SSO tab (R11 through the SSO service) and Available Forms (R4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from admin_config.models import AuditEvent
from forms_catalog import selectors
from forms_catalog import services as catalog
from sso.models import SSOConfiguration
from tools.oidc.fakeprovider import FakeProvider
from tools.oidc.tls import make_ca_and_cert

from .conftest import enrollment_form


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_ca_and_cert(tmp_path_factory.mktemp("console-tls"))


@pytest.fixture(scope="module")
def provider(tls_files):
    """A real OpenID provider on loopback over TLS (the SSO app's test tool), trusted by our HTTP client."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))
        fake = FakeProvider(tls_files).start()
        yield fake
        fake.stop()


@pytest.fixture
def loopback(settings, provider):
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
    settings.OUTBOUND_READ_TIMEOUT = 2.0
    settings.OUTBOUND_CONNECT_TIMEOUT = 2.0
    provider.reset()
    return provider


@pytest.fixture
def cfg(client, staff):
    client.force_login(staff.config_admin)
    return client


def u(staff, name):
    return reverse(name, kwargs={"district": staff.district.slug})


def sso_values(provider, **over):
    values = {"enabled": "on", "issuer": provider.issuer, "client_id": provider.client_id,
              "client_secret": provider.client_secret, "global_identifier_claim": "email",
              "scopes": "openid email"}
    values.update(over)
    return {k: v for k, v in values.items() if v is not None}


# --- SSO tab ---------------------------------------------------------------------------------


def test_read_only_view_then_edit_mode(cfg, staff):
    page = cfg.get(u(staff, "admin_config:config_sso")).content.decode()
    assert "Edit Configuration" in page and "<form method=\"post\" novalidate id=\"sso-form\"" not in page
    edit = cfg.get(u(staff, "admin_config:config_sso_edit")).content.decode()
    assert 'id="sso-form"' in edit and 'id="save-configuration"' in edit and 'id="cancel-edit"' in edit


def test_redirect_uri_to_register_is_the_sso_callback(cfg, staff):
    page = cfg.get(u(staff, "admin_config:config_sso")).content.decode()
    assert f"http://testserver{reverse('sso:callback')}" in page


@pytest.mark.parametrize("values, field, message", [
    ({"enabled": "on", "issuer": "", "client_id": "", "client_secret": "", "global_identifier_claim": "",
      "scopes": ""}, "client_id", "Client ID is required when Parent SSO is enabled."),
    ({"enabled": "on", "issuer": "", "client_id": "x", "client_secret": "", "global_identifier_claim": "sub",
      "scopes": "openid"}, "client_secret", "Client Secret is required when Parent SSO is enabled."),
    ({"issuer": "http://idp.example.org"}, "issuer", "The Issuer URL must use https."),
    ({"issuer": "not a url"}, "issuer", "Enter a valid URL."),
])
def test_validation_messages_per_field_r11(cfg, staff, values, field, message):
    response = cfg.post(u(staff, "admin_config:config_sso_edit"), values)
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-error-for="{field}">{message}</p>' in page.replace("&#x27;", "'")
    assert not SSOConfiguration.objects.filter(district=staff.district).exists()
    assert not AuditEvent.objects.filter(action="configuration.sso_saved").exists()


def test_save_checks_discovery_and_audits_without_the_secret(cfg, staff, loopback):
    response = cfg.post(u(staff, "admin_config:config_sso_edit"), sso_values(loopback))
    assert response.status_code == 302
    config = SSOConfiguration.objects.get(district=staff.district)
    assert config.enabled and config.client_secret == loopback.client_secret
    event = AuditEvent.objects.get(action="configuration.sso_saved")
    assert event.actor == staff.config_admin and event.district == staff.district
    assert event.changes["issuer"] == {"old": None, "new": loopback.issuer}
    assert event.changes["client_secret"] == {"old": "", "new": "[redacted]"}
    assert loopback.client_secret not in str(event.changes) + str(event.details)
    # The read-only view says a secret is stored; neither page ever contains it.
    for name in ("admin_config:config_sso", "admin_config:config_sso_edit"):
        page = cfg.get(u(staff, name)).content.decode()
        assert loopback.client_secret not in page
        assert config.client_secret_encrypted not in page
    assert "A secret is stored (hidden)" in cfg.get(u(staff, "admin_config:config_sso")).content.decode()


def test_blank_secret_keeps_the_stored_one(cfg, staff, loopback):
    cfg.post(u(staff, "admin_config:config_sso_edit"), sso_values(loopback))
    cfg.post(u(staff, "admin_config:config_sso_edit"), sso_values(loopback, client_secret="", scopes="openid"))
    config = SSOConfiguration.objects.get(district=staff.district)
    assert config.client_secret == loopback.client_secret and config.scopes == "openid"
    second = AuditEvent.objects.filter(action="configuration.sso_saved").order_by("-id").first()
    assert set(second.changes) == {"scopes"}


def test_discovery_failure_is_shown_on_the_issuer_field(cfg, staff, loopback):
    loopback.discovery_mode = "issuer"
    response = cfg.post(u(staff, "admin_config:config_sso_edit"), sso_values(loopback))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-error-for="issuer">The provider&#x27;s discovery document names the issuer' in page
    assert loopback.client_secret not in page  # the typed secret is not echoed back
    assert not SSOConfiguration.objects.filter(district=staff.district).exists()


def test_edit_page_shows_provider_hints(cfg, staff):
    page = cfg.get(u(staff, "admin_config:config_sso_edit")).content.decode()
    assert "https://accounts.google.com" in page and "Microsoft Entra ID" in page


# --- Available Forms tab -----------------------------------------------------------------------


def test_lists_existing_student_enrollment_forms_with_status_and_year(cfg, staff):
    now = timezone.now()
    enrollment_form(staff.district, "open-form", name="Open Form", academic_year="2026-2027")
    enrollment_form(staff.district, "sched", name="Scheduled Form", status="scheduled",
                    opens_at=now + timedelta(days=3), closes_at=now + timedelta(days=10))
    enrollment_form(staff.district, "closed", name="Closed Form", status="closed")
    enrollment_form(staff.district, "new-only", name="Kindergarten New Students", student_type="new")
    packet, _ = catalog.packet_upsert(district=staff.district, key="bts", name="Back to School")
    catalog.form_upsert(district=staff.district, key="media", name="Media Release", product="express",
                        packet=packet, student_type="existing")
    page = cfg.get(u(staff, "admin_config:config_available_forms")).content.decode()
    assert 'data-form-key="open-form"' in page and "2026-2027" in page
    assert 'data-form-key="sched"' in page and (now + timedelta(days=3)).strftime("%Y-%m-%d") in page
    assert 'data-form-key="closed"' in page and ">Closed<" in page
    assert 'data-form-key="new-only"' not in page  # R2: not an existing-student form
    assert 'data-form-key="media"' not in page  # express forms follow their packet, not this setting


def test_manual_selection_changes_what_the_parent_sees_r4(cfg, staff):
    a = enrollment_form(staff.district, "reg-a", name="Form A")
    enrollment_form(staff.district, "reg-b", name="Form B")

    def shown():
        link = selectors.guardian_link(district_slug=staff.district.slug, global_id=staff.cast.guardian.global_id,
                                       sis_id=staff.cast.student.sis_id)
        return {i.form for i in selectors.portal_view(link=link).overview}

    assert shown() == {"reg-a", "reg-b"}  # automatic
    response = cfg.post(u(staff, "admin_config:config_available_forms"), {"mode": "manual", "forms": [a.pk]})
    assert response.status_code == 302
    assert shown() == {"reg-a"}
    event = AuditEvent.objects.get(action="configuration.available_forms_saved")
    assert event.changes == {"mode": {"old": "automatic", "new": "manual"},
                             "selection": {"old": [], "new": ["reg-a"]}}
    cfg.post(u(staff, "admin_config:config_available_forms"), {"mode": "none", "forms": [a.pk]})
    assert shown() == set()
    # Saving the same values again records nothing.
    cfg.post(u(staff, "admin_config:config_available_forms"), {"mode": "none", "forms": [a.pk]})
    assert AuditEvent.objects.filter(action="configuration.available_forms_saved").count() == 2


def test_selection_of_another_districts_form_is_refused(cfg, staff):
    foreign = enrollment_form(staff.cast.other_district, "foreign")
    response = cfg.post(u(staff, "admin_config:config_available_forms"), {"mode": "manual", "forms": [foreign.pk]})
    assert response.status_code == 200
    foreign.refresh_from_db()
    assert not foreign.in_available_selection
    staff.district.refresh_from_db()
    assert staff.district.available_forms_mode == "automatic"
