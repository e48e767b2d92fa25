"""R11: the configuration service, every rule with its message, the discovery check over real HTTPS,
and the client secret at rest (encrypted, never rendered, rotated by `rotate_secrets`)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection

from sso import crypto, safe_http
from sso.models import SSOConfiguration
from sso.services import PROVIDER_HINTS, sso_configuration_hints, sso_configuration_save

pytestmark = pytest.mark.django_db


def values(provider, **overrides):
    base = {"enabled": True, "issuer": provider.issuer, "client_id": provider.client_id,
            "client_secret": provider.client_secret, "global_identifier_claim": "email",
            "scopes": "openid email profile"}
    base.update(overrides)
    return base


# --- R11 static rules -------------------------------------------------------------------------


@pytest.mark.parametrize(("issuer", "message"), [
    ("not a url", "Enter a valid URL."),
    ("http://idp.example.org", "The Issuer URL must use https."),
    ("ftp://idp.example.org", "The Issuer URL must use https."),
])
def test_issuer_must_be_a_valid_https_url_even_when_disabled(cast, issuer, message):
    result = sso_configuration_save(district=cast.district, values={"enabled": False, "issuer": issuer})
    assert result.errors == {"issuer": message}
    assert not result.saved
    assert not SSOConfiguration.objects.exists()


@pytest.mark.parametrize(("field", "label"), [
    ("issuer", "Issuer URL"), ("client_id", "Client ID"), ("client_secret", "Client Secret"),
    ("global_identifier_claim", "Global Identifier Claim"), ("scopes", "Scopes"),
])
def test_every_field_is_required_when_enabled(cast, provider, field, label):
    result = sso_configuration_save(district=cast.district, values=values(provider, **{field: "  "}))
    assert result.errors == {field: f"{label} is required when Parent SSO is enabled."}
    assert not SSOConfiguration.objects.exists()
    assert not any(path.endswith("openid-configuration") for _m, path in provider.requests)  # no fetch


def test_disabled_configuration_saves_without_fetching(cast, provider):
    result = sso_configuration_save(district=cast.district, values=values(provider, enabled=False, client_id=""))
    assert result.saved and result.errors == {}
    assert provider.requests == []


def test_enabled_configuration_passes_discovery_and_caches_it(cast, provider):
    result = sso_configuration_save(district=cast.district, values=values(provider))
    assert result.saved and result.errors == {}
    config = SSOConfiguration.objects.get(district=cast.district)
    assert config.discovery["issuer"] == provider.issuer
    assert config.discovery["jwks_uri"] == provider.url("/jwks")
    assert config.discovery_fetched_at is not None


# --- R11 discovery check: what failed is said ----------------------------------------------------


@pytest.mark.parametrize(("mode", "fragment"), [
    ("html", "is not JSON (the provider sent text/html)"),
    ("issuer", "which is not exactly the Issuer URL"),
    ("redirect", "redirected to another host (localhost)"),
    ("missing", "does not name: jwks_uri"),
    ("status500", "answered HTTP 500"),
])
def test_discovery_failures_refuse_the_save(cast, provider, mode, fragment):
    provider.discovery_mode = mode
    result = sso_configuration_save(district=cast.district, values=values(provider))
    assert not result.saved
    assert set(result.errors) == {"issuer"}
    assert fragment in result.errors["issuer"]
    assert not SSOConfiguration.objects.exists()


def test_discovery_timeout_refuses_the_save(cast, provider, settings):
    settings.OUTBOUND_READ_TIMEOUT = 0.5
    provider.discovery_mode = "timeout"
    result = sso_configuration_save(district=cast.district, values=values(provider))
    assert "did not answer in time" in result.errors["issuer"]
    assert not result.saved


def test_issuer_with_trailing_slash_must_match_exactly(cast, provider):
    result = sso_configuration_save(district=cast.district, values=values(provider, issuer=provider.issuer + "/"))
    assert "which is not exactly the Issuer URL" in result.errors["issuer"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_discovery_resolving_to_a_private_address_is_refused(cast, provider, settings, host):
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = False
    issuer = provider.issuer.replace("127.0.0.1", host)
    result = sso_configuration_save(district=cast.district, values=values(provider, issuer=issuer))
    assert "resolves to a private, loopback or reserved address (127.0.0.1)" in result.errors["issuer"]
    assert provider.requests == []  # refused before connecting


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                                     "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1"])  # noqa: S104
def test_blocked_address_ranges(address):
    assert safe_http.is_blocked_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert not safe_http.is_blocked_address(address)


def test_failed_save_keeps_the_previous_configuration(cast, provider):
    assert sso_configuration_save(district=cast.district, values=values(provider)).saved
    provider.discovery_mode = "issuer"
    result = sso_configuration_save(district=cast.district, values=values(provider, client_id="changed"))
    assert not result.saved
    assert SSOConfiguration.objects.get(district=cast.district).client_id == provider.client_id


# --- The secret ------------------------------------------------------------------------------


def raw_secret_column(config) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret_encrypted FROM sso_ssoconfiguration WHERE id = %s",
                       [config.pk])
        return cursor.fetchone()[0]


def test_secret_is_stored_encrypted(cast, provider):
    config = sso_configuration_save(district=cast.district, values=values(provider)).config
    raw = raw_secret_column(config)
    assert provider.client_secret not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert SSOConfiguration.objects.get(pk=config.pk).client_secret == provider.client_secret


def test_blank_secret_keeps_the_stored_one(cast, provider):
    config = sso_configuration_save(district=cast.district, values=values(provider)).config
    before = raw_secret_column(config)
    result = sso_configuration_save(district=cast.district, values=values(provider, client_secret="", scopes="openid"))
    assert result.saved and result.errors == {}
    assert raw_secret_column(config) == before
    assert SSOConfiguration.objects.get(pk=config.pk).scopes == "openid"


def test_secret_required_when_enabled_and_none_stored(cast, provider):
    result = sso_configuration_save(district=cast.district, values=values(provider, client_secret=""))
    assert result.errors == {"client_secret": "Client Secret is required when Parent SSO is enabled."}


def test_rotate_secrets_re_encrypts_under_the_newest_key(cast, provider, settings, capsys):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    config = sso_configuration_save(district=cast.district, values=values(provider)).config
    old_raw = raw_secret_column(config)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert not crypto.is_current(old_raw)
    call_command("rotate_secrets")
    assert "sso.SSOConfiguration.client_secret_encrypted: 1 re-encrypted" in capsys.readouterr().out
    new_raw = raw_secret_column(config)
    assert new_raw != old_raw
    assert Fernet(new_key.encode()).decrypt(new_raw.encode()).decode() == provider.client_secret
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert SSOConfiguration.objects.get(pk=config.pk).client_secret == provider.client_secret
    call_command("rotate_secrets")  # idempotent
    assert "0 re-encrypted" in capsys.readouterr().out


def test_rotate_secrets_refuses_when_a_key_is_missing(cast, provider, settings):
    config = sso_configuration_save(district=cast.district, values=values(provider)).config
    before = raw_secret_column(config)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="No configured key decrypts"):
        call_command("rotate_secrets")
    assert raw_secret_column(config) == before


def test_secret_never_appears_in_django_admin(cast, provider, admin_client):
    config = sso_configuration_save(district=cast.district, values=values(provider)).config
    for url in (f"/admin/sso/ssoconfiguration/{config.pk}/change/", "/admin/sso/ssoconfiguration/"):
        page = admin_client.get(url).content.decode()
        assert provider.client_secret not in page
        assert raw_secret_column(config) not in page
    assert "Secret stored" in admin_client.get(f"/admin/sso/ssoconfiguration/{config.pk}/change/").content.decode()


def test_django_admin_saves_through_the_r11_service(cast, provider, admin_client):
    config = sso_configuration_save(district=cast.district, values=values(provider)).config
    url = f"/admin/sso/ssoconfiguration/{config.pk}/change/"
    form = {"enabled": "on", "issuer": provider.issuer, "client_id": "new-client", "client_secret": "",
            "global_identifier_claim": "email", "scopes": "openid email"}
    provider.discovery_mode = "html"
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "is not JSON (the provider sent text/html)" in response.content.decode()
    assert SSOConfiguration.objects.get(pk=config.pk).client_id == provider.client_id
    provider.discovery_mode = "ok"
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    config.refresh_from_db()
    assert config.client_id == "new-client"
    assert config.client_secret == provider.client_secret  # blank kept it


def test_django_admin_add_form(cast, provider, admin_client):
    response = admin_client.post("/admin/sso/ssoconfiguration/add/", {
        "district": cast.other_district.pk, "enabled": "on", "issuer": "http://idp.example.org", "client_id": "x",
        "client_secret": "y", "global_identifier_claim": "email", "scopes": "openid"})
    assert "The Issuer URL must use https." in response.content.decode()
    response = admin_client.post("/admin/sso/ssoconfiguration/add/", {
        "district": cast.other_district.pk, "enabled": "on", "issuer": provider.issuer, "client_id": "x",
        "client_secret": "y-secret", "global_identifier_claim": "email", "scopes": "openid"})
    assert response.status_code == 302
    assert SSOConfiguration.objects.get(district=cast.other_district).client_secret == "y-secret"


# --- Hints (issue item 6) ---------------------------------------------------------------------


def test_provider_hints_name_the_documented_claims():
    by_name = {h["provider"]: h for h in PROVIDER_HINTS}
    assert by_name["Google"]["global_identifier_claim"] == "email"
    assert by_name["Google"]["scopes"] == "openid email profile"
    assert by_name["Microsoft Entra ID"]["global_identifier_claim"] == "oid"
    assert "tenant" in by_name["Microsoft Entra ID"]["note"]
    assert by_name["Microsoft AD FS"]["global_identifier_claim"] == "upn"


def test_hints_offer_advertised_claims_and_scopes_after_the_issuer_check(cast, provider):
    hints = sso_configuration_hints(issuer=provider.issuer)
    assert hints.error == ""
    assert "guardian_id" in hints.claims_supported
    assert hints.scopes_supported == ["email", "openid", "profile"]
    cache.clear()
    provider.discovery_mode = "issuer"
    bad = sso_configuration_hints(issuer=provider.issuer)
    assert bad.claims_supported == [] and "not exactly the Issuer URL" in bad.error
