"""Fixtures for parent SSO: a throw-away CA trusted through REQUESTS_CA_BUNDLE, misbehaving and real
OpenID providers on loopback over TLS, and a district configured for each."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from django.core.cache import cache

from forms_catalog import services as catalog
from sso import services
from tools.oidc.fakeprovider import FakeProvider
from tools.oidc.tls import make_ca_and_cert


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_ca_and_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def trust_test_ca(tls_files, monkeypatch):
    """The providers' certificates come from the test CA; outbound requests trust it like requests does."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))


@pytest.fixture(autouse=True)
def outbound_loopback(settings):
    """The providers run on loopback, which production refuses; tests of that rule switch it back."""
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
    settings.OUTBOUND_READ_TIMEOUT = 2.0
    settings.OUTBOUND_CONNECT_TIMEOUT = 2.0
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def _fake_provider(tls_files):
    provider = FakeProvider(tls_files).start()
    yield provider
    provider.stop()


@pytest.fixture
def provider(_fake_provider):
    _fake_provider.reset()
    _fake_provider.keys = _fake_provider.keys[:1]
    _fake_provider.signing_kid = _fake_provider.keys[0][0]
    _fake_provider.auth_method = "client_secret_basic"
    _fake_provider.requests.clear()
    _fake_provider.token_requests.clear()
    _fake_provider.jwks_requests = 0
    return _fake_provider


def configure(district, provider, *, claim: str = "email", scopes: str = "openid email profile"):
    result = services.sso_configuration_save(district=district, values={
        "enabled": True, "issuer": provider.issuer, "client_id": provider.client_id,
        "client_secret": provider.client_secret, "global_identifier_claim": claim, "scopes": scopes,
    })
    assert result.errors == {}, result.errors
    return result.config


@pytest.fixture
def configured(cast, provider):
    """Springfield (cast.district) signs in through the misbehaving provider, by email."""
    provider.account = {"sub": "maria-sub-1", "email": cast.guardian.global_id}
    return configure(cast.district, provider)


def start_login(client, slug: str, next_url: str | None = None):
    url = f"/sso/{slug}/login/" + (f"?next={next_url}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def follow_provider(location: str) -> str:
    """Visit the provider's authorization endpoint (it consents at once); return the callback path."""
    answer = requests.get(location, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text[:300]
    callback = urlsplit(answer.headers["Location"])
    return f"{callback.path}?{callback.query}"


def sign_in(client, slug: str, next_url: str | None = None):
    return client.get(follow_provider(start_login(client, slug, next_url)))


def signed_in_user_id(client):
    """The user id of the client's session, without creating a session (as `client.session` would)."""
    from django.conf import settings
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is None or not cookie.value:
        return None
    return SessionStore(cookie.value).load().get(SESSION_KEY)


def make_district(slug: str, name: str):
    district, _ = catalog.district_upsert(slug=slug, name=name)
    return district

