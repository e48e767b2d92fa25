"""Response headers and sign-in lifetime rules that apply to every request.

`SecurityHeadersMiddleware` adds the Content-Security-Policy (no inline script or style) and a
Permissions-Policy; Django's SecurityMiddleware adds HSTS, nosniff, Referrer-Policy and COOP, and
XFrameOptionsMiddleware adds X-Frame-Options (frame-ancestors 'none' here for current browsers).

`form-action` is 'self' plus, on a district's pages, the origins of that district's identity
provider: browsers apply form-action to the redirect that follows a form POST, and parent sign-in
and sign-out POST to the portal, which redirects to the provider.

`SignInLifetimeMiddleware` (after AuthenticationMiddleware) ends a signed-in user's HTTP session
server-side when it has been idle longer than SESSION_IDLE_TIMEOUT, is older than
SESSION_ABSOLUTE_LIFETIME, or its account was deactivated (a deactivated user or guardian account,
by roster sync or an administrator) — at the very next request.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.core.cache import cache

logger = logging.getLogger(__name__)

# Session keys (prefixed so they never collide with other keys kept in the HTTP session).
AUTH_AT_KEY = "_eh_auth_at"
SEEN_AT_KEY = "_eh_seen_at"
END_REASON_ATTR = "sign_in_end_reason"

CSP_BASE = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
SSO_ORIGINS_CACHE_SECONDS = 300


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url or "")
    except ValueError:
        return None
    if parts.scheme in ("https", "http") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _origins_key(district_slug: str) -> str:
    return f"csp:sso-origins:{district_slug}"


def forget_sso_form_action_origins(district_slug: str) -> None:
    """Drop the cached origins (the district's SSO configuration changed)."""
    try:
        cache.delete(_origins_key(district_slug))
    except Exception:
        logger.warning("shared cache unavailable; CSP origins of %s expire on their own", district_slug)


def sso_form_action_origins(district_slug: str) -> list[str]:
    """Origins a sign-in or sign-out form of this district may end up at (the identity provider's
    issuer, authorization and end-session endpoints), cached briefly in the shared cache and dropped
    when the district's SSO configuration is saved."""
    key = _origins_key(district_slug)
    try:
        cached = cache.get(key)
    except Exception:  # the shared cache being down must not break pages
        cached = None
    if cached is not None:
        return cached
    from sso.models import SSOConfiguration

    origins: list[str] = []
    config = (
        SSOConfiguration.objects.filter(district__slug=district_slug, enabled=True)
        .only("issuer", "discovery")
        .first()
    )
    if config is not None:
        discovery = config.discovery if isinstance(config.discovery, dict) else {}
        for url in (config.issuer, discovery.get("authorization_endpoint"), discovery.get("end_session_endpoint")):
            origin = _origin(url) if isinstance(url, str) else None
            if origin and origin not in origins:
                origins.append(origin)
    try:
        cache.set(key, origins, SSO_ORIGINS_CACHE_SECONDS)
    except Exception:
        logger.warning("shared cache unavailable; CSP origins not cached")
    return origins


def csp_allow_form_action(request, *origins: str) -> None:
    """Let a view add form-action origins to its page's policy."""
    extra = getattr(request, "_csp_form_action", None)
    if extra is None:
        extra = request._csp_form_action = []
    extra.extend(o for o in origins if o)


def content_security_policy(form_action_extra: list[str] = ()) -> str:
    directives = {name: list(values) for name, values in CSP_BASE.items()}
    for origin in form_action_extra:
        if origin not in directives["form-action"]:
            directives["form-action"].append(origin)
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        extra = list(getattr(request, "_csp_form_action", []))
        match = getattr(request, "resolver_match", None)
        district = match.kwargs.get("district") if match is not None else None
        if isinstance(district, str) and response.get("Content-Type", "").startswith("text/html"):
            try:
                extra.extend(sso_form_action_origins(district))
            except Exception:  # never turn a page into an error over an extra header value
                logger.exception("could not read the district's identity provider origins")
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(extra)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        return response


def _guardian_inactive(user_id) -> bool:
    from forms_catalog.models import Guardian

    return Guardian.objects.filter(user_id=user_id, active=False).exists()


def end_reason(request, now: float) -> str | None:
    """Why the signed-in user's HTTP session must end now, or None."""
    user = request.user
    if not user.is_active:
        return "account_inactive"
    session = request.session
    auth_at = session.get(AUTH_AT_KEY)
    seen_at = session.get(SEEN_AT_KEY)
    if isinstance(auth_at, int | float) and now - auth_at > settings.SESSION_ABSOLUTE_LIFETIME:
        return "absolute_lifetime"
    if isinstance(seen_at, int | float) and now - seen_at > settings.SESSION_IDLE_TIMEOUT:
        return "idle_timeout"
    if _guardian_inactive(user.pk):
        return "guardian_inactive"
    return None


class SignInLifetimeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            reason = end_reason(request, now)
            if reason:
                logger.info("sign-in ended (%s) for user %s", reason, user.pk)
                setattr(request, END_REASON_ATTR, reason)
                logout(request)  # flushes the server-side session row and sends user_logged_out
            else:
                self._touch(request.session, now)
        return self.get_response(request)

    @staticmethod
    def _touch(session, now: float) -> None:
        now_int = int(now)
        if not isinstance(session.get(AUTH_AT_KEY), int | float):
            session[AUTH_AT_KEY] = now_int
        seen_at = session.get(SEEN_AT_KEY)
        # Written at most once a minute (not on every request) to keep session writes cheap.
        if not isinstance(seen_at, int | float) or now - seen_at >= settings.SESSION_ACTIVITY_RESOLUTION:
            session[SEEN_AT_KEY] = now_int
