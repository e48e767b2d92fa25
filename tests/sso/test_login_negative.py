"""The sign-in flow against a provider that misbehaves on purpose (OpenID RP certification negatives).

Each refused answer ends on the error page with no session (no signed-in user, no session row).
"""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.models import Session

from .conftest import follow_provider, sign_in, signed_in_user_id, start_login

pytestmark = pytest.mark.django_db(transaction=False)


def assert_refused(client, response, *, status=400, text="could not sign you in"):
    body = response.content.decode()
    assert response.status_code == status, body[:800]
    assert text in body
    assert not Session.objects.exists()
    assert signed_in_user_id(client) is None


def test_good_login_lands_on_portal_home_with_a_fresh_session(client, cast, configured, provider):
    client.get("/healthz")
    start = start_login(client, "springfield")
    before = client.session.session_key
    response = client.get(follow_provider(start))
    assert response.status_code == 302
    assert response["Location"] == "/d/springfield/"
    assert signed_in_user_id(client) == str(cast.guardian.user_id)
    assert client.session.session_key != before  # cycled on sign-in
    # PKCE S256 and the advertised client_secret_basic were used.
    authorize = [r for r in provider.requests if r[0] == "AUTHORIZE"][-1][1]
    assert '"code_challenge_method": "S256"' in authorize
    assert provider.token_requests[-1]["auth_method"] == "client_secret_basic"
    assert "code_verifier" in provider.token_requests[-1]["form"]


def test_token_auth_method_follows_discovery_client_secret_post(client, cast, configured, provider):
    provider.auth_method = "client_secret_post"
    from sso.services import sso_discovery_refresh

    sso_discovery_refresh(config=configured, force=True)
    response = sign_in(client, "springfield")
    assert response.status_code == 302
    assert provider.token_requests[-1]["auth_method"] == "client_secret_post"
    assert signed_in_user_id(client) == str(cast.guardian.user_id)


def test_safe_next_is_honoured_and_foreign_next_is_not(client, cast, configured, provider):
    response = sign_in(client, "springfield", next_url="/d/springfield/students/1/")
    assert response["Location"] == "/d/springfield/students/1/"
    client.logout()
    response = sign_in(client, "springfield", next_url="https://evil.example/steal")
    assert response["Location"] == "/d/springfield/"


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("sign_mode", "bad_signature"),
        ("sign_mode", "none"),
        ("sign_mode", "hs256"),
        ("sign_mode", "unknown_kid"),
        ("iss", "https://evil.example"),
        ("aud", "someone-else"),
        ("aud", None),
        ("sub", None),
        ("iat", None),
        ("exp", int(time.time()) - 3600),
        ("iat", int(time.time()) + 3600),
        ("azp", "someone-else"),
        ("aud_multi_no_azp", None),
        ("nonce", "not-the-nonce"),
    ],
    ids=["bad-signature", "alg-none", "hs256-with-shared-secret", "unknown-kid", "wrong-iss", "wrong-aud",
         "missing-aud", "missing-sub", "missing-iat", "expired", "iat-in-future", "wrong-azp",
         "multiple-aud-without-azp", "wrong-nonce"],
)
def test_bad_id_token_is_refused(client, cast, configured, provider, knob, value):
    if knob == "sign_mode":
        provider.sign_mode = value
    elif knob == "nonce":
        provider.nonce_override = value
    elif knob == "aud_multi_no_azp":
        provider.id_token_claims["aud"] = [provider.client_id, "another-client"]
    else:
        provider.id_token_claims[knob] = value
    assert_refused(client, sign_in(client, "springfield"))


def test_missing_nonce_is_refused(client, cast, configured, provider):
    provider.id_token_claims["nonce"] = None
    assert_refused(client, sign_in(client, "springfield"))


def test_kid_absent_with_a_single_key_is_accepted_but_with_several_keys_refused(client, cast, configured, provider):
    provider.sign_mode = "no_kid"
    response = sign_in(client, "springfield")
    assert response.status_code == 302
    client.logout()
    provider.rotate_key()  # two published keys now, and the token names none of them
    provider.sign_mode = "no_kid"
    from django.core.cache import cache

    cache.clear()
    assert_refused(client, sign_in(client, "springfield"))


def test_unknown_state_is_refused(client, cast, configured, provider):
    location = start_login(client, "springfield")
    path = follow_provider(location)
    forged = path.split("state=")[0] + "state=forged-state"
    assert_refused(client, client.get(forged), text="expired or was already used")


def test_state_is_single_use(client, cast, configured, provider):
    path = follow_provider(start_login(client, "springfield"))
    assert client.get(path).status_code == 302
    client.logout()
    assert_refused(client, client.get(path), text="expired or was already used")


def test_userinfo_sub_mismatch_is_refused(client, cast, configured, provider):
    provider.userinfo_claims["sub"] = "somebody-else"
    assert_refused(client, sign_in(client, "springfield"))


def test_claim_only_in_userinfo_is_used_when_subs_match(client, cast, configured, provider):
    # The ID token carries no email; userinfo (same sub) does.
    response = sign_in(client, "springfield")
    assert response.status_code == 302
    assert "email" not in provider.id_token_extra
    assert signed_in_user_id(client) == str(cast.guardian.user_id)


def test_claim_in_id_token_wins_over_userinfo(client, cast, configured, provider):
    provider.id_token_extra["email"] = cast.co_guardian.global_id
    response = sign_in(client, "springfield")
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(cast.co_guardian.user_id)


def test_discovery_issuer_mismatch_at_sign_in_is_refused(client, cast, configured, provider):
    from django.utils import timezone

    configured.discovery_fetched_at = timezone.now() - timezone.timedelta(days=2)  # stale: refetched
    configured.save(update_fields=["discovery_fetched_at"])
    provider.discovery_mode = "issuer"
    response = client.get("/sso/springfield/login/")
    assert_refused(client, response, status=502, text="could not be reached")


def test_provider_error_answer_is_refused(client, cast, configured, provider):
    location = start_login(client, "springfield")
    from urllib.parse import parse_qs, urlsplit

    state = parse_qs(urlsplit(location).query)["state"][0]
    assert_refused(client, client.get(f"/sso/callback/?error=access_denied&state={state}"), text="cancelled")


def test_token_endpoint_refusal_is_refused(client, cast, configured, provider):
    provider.client_secret = "rotated-at-the-provider"
    try:
        assert_refused(client, sign_in(client, "springfield"))
    finally:
        provider.client_secret = "s3cret-client-value"


def test_unmatched_identity_gets_friendly_page_and_no_guardian_is_created(client, cast, configured, provider):
    from django.contrib.auth import get_user_model

    from forms_catalog.models import Guardian

    counts = Guardian.objects.count(), get_user_model().objects.count()
    provider.account = {"sub": "nobody", "email": "nobody@example.org"}
    response = sign_in(client, "springfield")
    assert_refused(client, response, status=403, text="We could not find your account in Springfield Unified")
    assert (Guardian.objects.count(), get_user_model().objects.count()) == counts


def test_inactive_guardian_cannot_sign_in(client, cast, configured, provider):
    cast.guardian.active = False
    cast.guardian.save(update_fields=["active"])
    assert_refused(client, sign_in(client, "springfield"), status=403, text="We could not find your account")


def test_disabled_district_has_no_sign_in(client, cast, configured, provider):
    from sso.services import sso_configuration_save

    sso_configuration_save(district=cast.district, values={"enabled": False})
    assert_refused(client, client.get("/sso/springfield/login/"), status=404, text="not available")


@pytest.mark.parametrize("query", ["", "?code=abc", "?state=", "?error=server_error", "?code=abc&state=abc&iss=x"])
def test_callback_with_garbage_is_a_clear_page_never_a_500(client, cast, configured, query):
    response = client.get(f"/sso/callback/{query}")
    assert_refused(client, response, text="expired or was already used")


def test_mismatched_iss_parameter_is_refused(client, cast, configured, provider):
    path = follow_provider(start_login(client, "springfield"))
    assert_refused(client, client.get(path + "&iss=https%3A%2F%2Fevil.example"))


def test_unknown_or_unconfigured_district_has_no_sign_in(client, cast):
    assert_refused(client, client.get("/sso/nowhere/login/"), status=404, text="not available")
    assert_refused(client, client.get("/sso/springfield/login/"), status=404, text="not available")


def test_the_client_secret_is_never_logged(client, cast, configured, provider, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    assert sign_in(client, "springfield").status_code == 302
    client.logout()
    provider.client_secret = "rotated-at-the-provider"
    try:
        assert sign_in(client, "springfield").status_code == 400
    finally:
        provider.client_secret = "s3cret-client-value"
    assert caplog.records  # the flow does log
    assert "s3cret-client-value" not in caplog.text
    assert configured.client_secret_encrypted not in caplog.text


def test_sign_out_ends_the_session_and_uses_end_session_endpoint(client, cast, configured, provider):
    assert sign_in(client, "springfield").status_code == 302
    confirm = client.get("/sso/springfield/logout/")
    assert confirm.status_code == 200 and b'method="post"' in confirm.content
    assert signed_in_user_id(client) is not None  # a GET never signs out
    response = client.post("/sso/springfield/logout/")
    assert response.status_code == 302
    assert response["Location"].startswith(provider.url("/logout?"))
    assert "id_token_hint=" in response["Location"]
    signed_out = "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Fsso%2Fspringfield%2Fsigned-out%2F"
    assert signed_out in response["Location"]
    assert signed_in_user_id(client) is None


def test_sign_out_without_end_session_endpoint_lands_on_signed_out_page(client, cast, configured, provider):
    from sso.services import sso_discovery_refresh

    provider.end_session = False
    sso_discovery_refresh(config=configured, force=True)
    assert sign_in(client, "springfield").status_code == 302
    response = client.post("/sso/springfield/logout/")
    assert response["Location"] == "http://testserver/sso/springfield/signed-out/"
    assert signed_in_user_id(client) is None
    assert b"You are signed out" in client.get("/sso/springfield/signed-out/").content


def test_jwks_is_cached_and_refetched_once_on_an_unknown_key_id(client, cast, configured, provider):
    assert sign_in(client, "springfield").status_code == 302
    assert provider.jwks_requests == 1
    client.logout()
    assert sign_in(client, "springfield").status_code == 302
    assert provider.jwks_requests == 1  # from the cache
    client.logout()
    provider.rotate_key()  # the provider now signs with a key the cache does not know
    assert sign_in(client, "springfield").status_code == 302
    assert provider.jwks_requests == 2  # refetched once
    client.logout()
    provider.sign_mode = "unknown_kid"  # a kid that is never published: one refetch, then refused
    assert_refused(client, sign_in(client, "springfield"))
    assert provider.jwks_requests == 3


def test_only_advertised_algorithms_are_accepted(client, cast, configured, provider):
    from sso.services import sso_discovery_refresh

    provider.discovery_extra["id_token_signing_alg_values_supported"] = ["ES256"]
    sso_discovery_refresh(config=configured, force=True)
    assert_refused(client, sign_in(client, "springfield"))  # an RS256 token, not advertised


@pytest.mark.parametrize("endpoint", ["token_endpoint", "userinfo_endpoint"])
def test_unreachable_provider_endpoint_is_a_clear_page(client, cast, configured, provider, endpoint):
    from sso.services import sso_discovery_refresh

    provider.discovery_extra[endpoint] = "https://127.0.0.1:1/unreachable"  # nothing listens there
    sso_discovery_refresh(config=configured, force=True)
    # (The claim is only in userinfo here, so the sign-in cannot complete without userinfo either.)
    assert_refused(client, sign_in(client, "springfield"), text="could not be reached")


def test_claim_missing_everywhere_is_refused_with_its_name(client, cast, configured, provider):
    provider.account = {"sub": "maria-sub-1"}
    assert_refused(client, sign_in(client, "springfield"), text="the “email” claim is missing")
