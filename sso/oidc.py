"""Parent sign-in through the district's OpenID provider, on mozilla-django-oidc.

The library's views and backend read their configuration from Django settings; here every
`get_settings` hook answers from the district's `SSOConfiguration` instead, taken at request time,
so several districts with different providers are live at once. One callback URL serves every
district: the district is stored with the state, nonce and PKCE verifier when the login starts.

Checks (OpenID Connect Core §3.1.3.7 and the RP certification negative cases):
authorization code flow with state, nonce and PKCE S256; token endpoint authentication chosen from
`token_endpoint_auth_methods_supported`; the ID token signature verified against the discovered
JWKS (cached, refetched once on an unknown `kid`) with only the asymmetric algorithms the provider
advertises; `iss` exact, `aud`, `azp`, `exp`, `iat` (small leeway), `sub` and `nonce`; userinfo
merged only when its `sub` matches. Every failure raises `LoginFailed` with a message for the parent.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import absolutify

from forms_catalog.models import Guardian

from . import safe_http
from .models import SSOConfiguration

logger = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
KTY_FOR_ALG = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class LoginFailed(Exception):
    """The sign-in cannot complete; `message` is shown to the parent, `reason` goes to the log."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(reason or message)
        self.message = message
        self.reason = reason or message


class NoAccount(LoginFailed):
    """The provider vouched for someone who is not a guardian of this district."""


def _generic() -> str:
    return _("Your identity provider's answer could not be verified, so you were not signed in.")


def config_settings(config: SSOConfiguration) -> dict[str, Any]:
    """The mozilla-django-oidc settings of one district, from its configuration and discovery."""
    discovery = config.discovery or {}
    scopes = config.scopes.split()
    if "openid" not in scopes:
        scopes.insert(0, "openid")
    methods = discovery.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    return {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": discovery.get("authorization_endpoint"),
        "OIDC_OP_TOKEN_ENDPOINT": discovery.get("token_endpoint"),
        "OIDC_OP_USER_ENDPOINT": discovery.get("userinfo_endpoint"),
        "OIDC_OP_JWKS_ENDPOINT": discovery.get("jwks_uri"),
        "OIDC_RP_CLIENT_ID": config.client_id,
        "OIDC_RP_SCOPES": " ".join(scopes),
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_USE_NONCE": True,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_PKCE_CODE_VERIFIER_SIZE": 64,
        "OIDC_STATE_SIZE": 32,
        "OIDC_NONCE_SIZE": 32,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "sso:callback",
        "OIDC_TOKEN_USE_BASIC_AUTH": "client_secret_basic" in methods,
        "OIDC_CREATE_USER": False,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_STORE_ID_TOKEN": False,
        "OIDC_ALLOW_UNSECURED_JWT": False,
    }


# --- JWKS -------------------------------------------------------------------------------------


def _jwks_cache_key(jwks_uri: str) -> str:
    return "sso:jwks:" + hashlib.sha256(jwks_uri.encode()).hexdigest()


def fetch_jwks(jwks_uri: str, *, refresh: bool = False) -> list[dict[str, Any]]:
    """The provider's public keys, from the shared cache unless `refresh`."""
    key = _jwks_cache_key(jwks_uri)
    if not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    try:
        document = safe_http.get_json(jwks_uri)
    except safe_http.OutboundError as exc:
        raise LoginFailed(_("Your district's identity provider could not be reached. Please try again later."),
                          f"JWKS fetch failed: {exc.message}") from exc
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise LoginFailed(_generic(), "JWKS document has no keys list")
    keys = [k for k in keys if isinstance(k, dict)]
    cache.set(key, keys, getattr(settings, "SSO_JWKS_CACHE_SECONDS", 3600))
    return keys


def _candidates(keys: list[dict], alg: str, kid: str | None) -> list[dict]:
    kty = KTY_FOR_ALG.get(alg[:2])
    out = []
    for jwk in keys:
        if jwk.get("kty") != kty or jwk.get("use", "sig") != "sig":
            continue
        if "alg" in jwk and jwk["alg"] != alg:
            continue
        if kid is not None and jwk.get("kid") != kid:
            continue
        out.append(jwk)
    return out


def signing_key(jwks_uri: str, alg: str, kid: str | None):
    """The one public key that may have signed a token with this header."""
    candidates = _candidates(fetch_jwks(jwks_uri), alg, kid)
    if not candidates and kid is not None:
        # An unknown key id: the provider may have rotated its keys. Refetch once.
        candidates = _candidates(fetch_jwks(jwks_uri, refresh=True), alg, kid)
    if not candidates:
        raise LoginFailed(_generic(), f"no published key matches kid={kid!r} alg={alg}")
    if len(candidates) > 1:
        raise LoginFailed(_generic(), f"{len(candidates)} published keys match kid={kid!r} alg={alg}")
    try:
        return jwt.PyJWK(candidates[0], algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise LoginFailed(_generic(), f"unusable JWK: {exc}") from exc


def verify_id_token(token: Any, *, config: SSOConfiguration, nonce: str | None) -> dict[str, Any]:
    """OpenID Connect Core §3.1.3.7 for one district; returns the verified claims."""
    if not isinstance(token, str) or not token:
        raise LoginFailed(_generic(), "token response has no id_token")
    discovery = config.discovery or {}
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise LoginFailed(_generic(), f"malformed ID token: {exc}") from exc
    alg = header.get("alg")
    advertised = discovery.get("id_token_signing_alg_values_supported") or ["RS256"]
    allowed = [a for a in advertised if a in ASYMMETRIC_ALGORITHMS]
    if alg not in allowed:
        raise LoginFailed(_generic(), f"ID token alg {alg!r} is not an advertised asymmetric algorithm {allowed}")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise LoginFailed(_generic(), "ID token kid is not a string")
    key = signing_key(discovery["jwks_uri"], alg, kid)
    leeway = getattr(settings, "SSO_CLOCK_LEEWAY_SECONDS", 60)
    try:
        claims = jwt.decode(
            token, key=key, algorithms=[alg], audience=config.client_id, issuer=config.issuer, leeway=leeway,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_signature": True,
                     "verify_aud": True, "verify_iss": True, "verify_exp": True, "verify_iat": True},
        )
    except jwt.ExpiredSignatureError as exc:
        raise LoginFailed(_("Your sign-in took too long. Please try again."), f"ID token expired: {exc}") from exc
    except jwt.PyJWTError as exc:
        raise LoginFailed(_generic(), f"ID token rejected: {type(exc).__name__}: {exc}") from exc
    if not isinstance(claims.get("iat"), (int, float)):
        raise LoginFailed(_generic(), "ID token iat is not a number")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise LoginFailed(_generic(), "ID token sub is empty")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    azp = claims.get("azp")
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != config.client_id):
        raise LoginFailed(_generic(), f"ID token azp {azp!r} is not this client")
    if not nonce or claims.get("nonce") != nonce:
        raise LoginFailed(_generic(), "ID token nonce does not match the one sent")
    return claims


# --- Backend ----------------------------------------------------------------------------------


class DistrictOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates a guardian of one district from that district's provider.

    Only the sign-in callback calls it (with `sso_config`); password sign-in never reaches it.
    """

    def __init__(self, *args, **kwargs):
        # The library reads its endpoints from settings here; ours come per request (`sso_config`).
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()
        self.config: SSOConfiguration | None = None

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    def get_settings(self, attr, *args):
        if self.config is not None:
            values = config_settings(self.config)
            if attr in values:
                return values[attr]
        if args:
            return getattr(settings, attr, args[0])
        return getattr(settings, attr)

    def authenticate(self, request, nonce=None, code_verifier=None, sso_config=None, **kwargs):
        if sso_config is None or request is None:
            return None
        self.request = request
        self.config = sso_config
        code = request.GET.get("code")
        if not code:
            raise LoginFailed(_generic(), "callback without code")
        payload = {
            "client_id": sso_config.client_id,
            "client_secret": sso_config.client_secret,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": absolutify(request, reverse(self.get_settings("OIDC_AUTHENTICATION_CALLBACK_URL"))),
            "code_verifier": code_verifier,
        }
        token_info = self.get_token(payload)
        claims = self.verify_token(token_info.get("id_token"), nonce=nonce)
        request._sso_id_token = token_info.get("id_token")  # id_token_hint for the provider's logout
        return self.get_or_create_user(token_info.get("access_token"), token_info.get("id_token"), claims)

    # -- the library's hooks, through safe_http and with full ID token checks --

    def get_token(self, payload):
        config = self.config
        methods = (config.discovery or {}).get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = next((m for m in AUTH_METHODS if m in methods), None)
        if method is None:
            raise LoginFailed(_("Your district's sign-in is misconfigured. Please contact the district."),
                              f"provider supports none of {AUTH_METHODS}: {methods}")
        data = dict(payload)
        auth = None
        if method == "client_secret_basic":
            from urllib.parse import quote

            # RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
            auth = (quote(data["client_id"], safe=""), quote(data.pop("client_secret"), safe=""))
        try:
            response = safe_http.post_form(config.discovery["token_endpoint"], data=data, auth=auth)
        except safe_http.OutboundError as exc:
            raise LoginFailed(_("Your district's identity provider could not be reached. Please try again later."),
                              f"token request failed: {exc.message}") from exc
        if response.status_code != 200:
            error = ""
            try:
                body = response.json()
                error = body.get("error", "") if isinstance(body, dict) else ""
            except safe_http.NotJSON:
                pass
            raise LoginFailed(_generic(), f"token endpoint answered HTTP {response.status_code} {error}".strip())
        try:
            token_info = response.json()
        except safe_http.NotJSON as exc:
            raise LoginFailed(_generic(), "token endpoint did not answer JSON") from exc
        if not isinstance(token_info, dict):
            raise LoginFailed(_generic(), "token response is not a JSON object")
        return token_info

    def verify_token(self, token, **kwargs):
        return verify_id_token(token, config=self.config, nonce=kwargs.get("nonce"))

    def get_userinfo(self, access_token, id_token, payload):
        """ID token claims, merged with userinfo only when userinfo's `sub` is the ID token's."""
        endpoint = (self.config.discovery or {}).get("userinfo_endpoint")
        if not endpoint or not access_token:
            return dict(payload)
        try:
            response = safe_http.fetch("GET", endpoint, headers={"Authorization": f"Bearer {access_token}",
                                                                 "Accept": "application/json"})
            response.raise_for_status()
            if response.content_type == "application/jwt":
                raise LoginFailed(_generic(), "signed userinfo responses are not supported")
            userinfo = response.json()
        except safe_http.OutboundError as exc:
            if self.config.global_identifier_claim in payload:
                logger.warning("SSO %s: userinfo unavailable (%s); using the ID token alone",
                               self.config.district.slug, exc.message)
                return dict(payload)
            raise LoginFailed(_("Your district's identity provider could not be reached. Please try again later."),
                              f"userinfo failed: {exc.message}") from exc
        if not isinstance(userinfo, dict) or userinfo.get("sub") != payload["sub"]:
            raise LoginFailed(_generic(), "userinfo sub does not match the ID token sub")
        return {**userinfo, **payload}

    def get_or_create_user(self, access_token, id_token, payload):
        """The guardian of this district whose global id is the configured claim; never creates one."""
        config = self.config
        claims = self.get_userinfo(access_token, id_token, payload)
        claim = config.global_identifier_claim
        value = claims.get(claim)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise LoginFailed(
                _("Your identity provider did not tell us who you are (the “%(claim)s” claim is missing).")
                % {"claim": claim},
                f"claim {claim!r} missing",
            )
        guardian = (
            Guardian.objects.select_related("user")
            .filter(district_id=config.district_id, global_id=value.strip(), active=True)
            .first()
        )
        if guardian is None or not guardian.user.is_active:
            raise NoAccount(
                _("We could not find your account in %(district)s.") % {"district": config.district.name},
                f"no active guardian with {claim}={_fingerprint(value)}",
            )
        return guardian.user


def _fingerprint(value: str) -> str:
    """A short hash that lets support correlate log lines without writing the identifier itself."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def state_from_location(location: str) -> str | None:
    return (parse_qs(urlsplit(location).query).get("state") or [None])[0]
