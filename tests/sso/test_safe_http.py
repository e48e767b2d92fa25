"""sso.safe_http, the one outbound HTTP client, against a real TLS server on loopback."""

from __future__ import annotations

import pytest

from sso import safe_http


def test_get_json_over_trusted_tls(provider):
    assert safe_http.get_json(provider.url("/.well-known/openid-configuration"))["issuer"] == provider.issuer


def test_only_https(provider):
    with pytest.raises(safe_http.InsecureURL, match="Only https URLs are allowed"):
        safe_http.fetch("GET", provider.url("/jwks").replace("https://", "http://"))
    with pytest.raises(safe_http.InsecureURL):
        safe_http.fetch("GET", "https://user:pw@" + provider.url("/jwks").split("://")[1])


def test_untrusted_certificate_is_refused(provider, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(safe_http.OutboundTLSError, match="certificate of 127.0.0.1 could not be verified"):
        safe_http.fetch("GET", provider.url("/jwks"))


def test_same_host_redirect_is_followed_and_another_host_refused(provider):
    response = safe_http.fetch("GET", provider.url("/redirect?to=/jwks"))
    assert response.status_code == 200 and response.url == provider.url("/jwks")
    other = provider.url("/jwks").replace("127.0.0.1", "localhost")
    with pytest.raises(safe_http.RedirectRefused, match="redirected to another host"):
        safe_http.fetch("GET", provider.url(f"/redirect?to={other}"))
    with pytest.raises(safe_http.RedirectRefused, match="non-https"):
        safe_http.fetch("GET", provider.url("/redirect?to=http://127.0.0.1/"))


def test_response_size_cap(provider, settings):
    assert len(safe_http.fetch("GET", provider.url("/big?size=1000")).content) > 1000
    with pytest.raises(safe_http.ResponseTooLarge, match="larger than 1000 bytes"):
        safe_http.fetch("GET", provider.url("/big?size=5000"), max_bytes=1000)
    settings.OUTBOUND_MAX_BYTES = 2000
    with pytest.raises(safe_http.ResponseTooLarge):
        safe_http.fetch("GET", provider.url("/big?size=5000"))


def test_read_timeout(provider):
    provider.slow_seconds = 2
    with pytest.raises(safe_http.OutboundTimeout, match="did not answer in time"):
        safe_http.fetch("GET", provider.url("/jwks"), timeout=(1, 0.3))


def test_private_addresses_refused_unless_allowed(provider, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(safe_http.BlockedAddress, match="private, loopback or reserved"):
        safe_http.get_json(provider.url("/jwks"))
    assert provider.requests == []


def test_unresolvable_host():
    with pytest.raises(safe_http.OutboundConnectionError, match="could not be resolved"):
        safe_http.fetch("GET", "https://no-such-host.invalid/")


def test_non_json_and_http_errors(provider):
    with pytest.raises(safe_http.HTTPStatusError, match="answered HTTP 404") as info:
        safe_http.get_json(provider.url("/nothing-here"))
    assert info.value.status_code == 404
    provider.discovery_mode = "html"
    with pytest.raises(safe_http.NotJSON, match="did not answer JSON"):
        safe_http.get_json(provider.url("/.well-known/openid-configuration"))


def test_post_with_basic_auth(provider):
    response = safe_http.post_form(provider.url("/token"), data={"grant_type": "authorization_code", "code": "x"},
                                   auth=(provider.client_id, provider.client_secret))
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert provider.token_requests[-1]["auth_method"] == "client_secret_basic"


def test_deploy_check_warns_when_private_addresses_are_allowed(settings):
    from sso.checks import outbound_private_addresses

    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
    assert [w.id for w in outbound_private_addresses(None)] == ["sso.W001"]
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = False
    assert outbound_private_addresses(None) == []
