"""Throttling of sign-in attempts, counted in the shared cache so every app server sees one count.

A *rule* limits events per key (the client address, an account name, a district) within a window.
`hit()` counts one event and says whether the limit is now exceeded; `blocked()` only looks. Views
use the `throttle` decorator (counts every request) or call `record_failure()` / `is_blocked()`
for failures only. A blocked request gets `throttled_response()`: a clear 429 page with Retry-After.
`SignInThrottleMiddleware` (below) applies the SSO rules to the parent SSO views by URL name, and
the admin console's staff sign-in failure counters (admin_config.throttle: per username and per
address, LOGIN_FAILURE_LIMIT / LOGIN_FAILURE_WINDOW) to Django admin's sign-in, so one lock holds
across both staff doors.

When the shared cache is unreachable the counters fail open (nothing is blocked) and a warning is
logged: sign-in keeps working, without throttling, until the cache is back (docs/reliability.md).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    scope: str  # e.g. "sso-start-ip"
    limit: int  # events allowed per window
    window: int  # seconds


def _setting_rule(name: str, scope: str, default: tuple[int, int]) -> Rule:
    limit, window = getattr(settings, "THROTTLE_RULES", {}).get(name, default)
    return Rule(scope, int(limit), int(window))


def rules(name: str) -> list[Rule]:
    """The configured rules of a throttle name: per client address and per account."""
    defaults = {
        # SSO: the "account" is the district (the parent is unknown until the provider answers).
        "sso_start": {"ip": (60, 60), "account": (600, 60)},
        "sso_callback": {"ip": (60, 60), "account": (600, 60)},
    }[name]
    return [_setting_rule(f"{name}_{kind}", f"{name}-{kind}", default) for kind, default in defaults.items()]


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or with THROTTLE_TRUSTED_PROXIES=N the Nth address from the
    right of X-Forwarded-For (the one the outermost trusted proxy saw)."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    hops = getattr(settings, "THROTTLE_TRUSTED_PROXIES", 0)
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote


def _cache_key(rule: Rule, key: str, bucket: int) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"throttle:{rule.scope}:{bucket}:{digest}"


def _bucket(rule: Rule, now: float) -> int:
    return int(now // rule.window)


def _count(rule: Rule, key: str, now: float) -> int:
    try:
        return int(cache.get(_cache_key(rule, key, _bucket(rule, now)), 0) or 0)
    except Exception:
        logger.warning("shared cache unavailable: throttle %s not checked", rule.scope)
        return 0


def hit(rule: Rule, key: str, now: float | None = None) -> bool:
    """Count one event for `key`; True when the limit is exceeded by it."""
    now = time.time() if now is None else now
    cache_key = _cache_key(rule, key, _bucket(rule, now))
    try:
        if cache.add(cache_key, 1, rule.window + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add and incr
                cache.set(cache_key, 1, rule.window + 1)
                count = 1
    except Exception:
        logger.warning("shared cache unavailable: throttle %s not counted", rule.scope)
        return False
    return count > rule.limit


def blocked(rule: Rule, key: str, now: float | None = None) -> bool:
    now = time.time() if now is None else now
    return _count(rule, key, now) >= rule.limit


def retry_after(rule: Rule, now: float | None = None) -> int:
    now = time.time() if now is None else now
    return max(1, int((_bucket(rule, now) + 1) * rule.window - now))


def _pairs(name: str, request, account: str | None) -> Iterable[tuple[Rule, str]]:
    for rule in rules(name):
        if rule.scope.endswith("-ip"):
            yield rule, client_address(request)
        elif account:
            yield rule, account.strip().lower()


def is_blocked(name: str, request, *, account: str | None = None) -> Rule | None:
    """The first rule of `name` already at its limit for this client or account, else None."""
    for rule, key in _pairs(name, request, account):
        if blocked(rule, key):
            return rule
    return None


def record_failure(name: str, request, *, account: str | None = None) -> Rule | None:
    """Count a failed attempt; the rule now exceeded, if any."""
    exceeded = None
    for rule, key in _pairs(name, request, account):
        if hit(rule, key) and exceeded is None:
            exceeded = rule
    return exceeded


def record_attempt(name: str, request, *, account: str | None = None) -> Rule | None:
    """Count an attempt (success or not); the rule exceeded by it, if any."""
    return record_failure(name, request, account=account)


def throttled_response(request, rule: Rule, *, status: int = 429):
    response = render(
        request,
        "security/throttled.html",
        {"retry_after": retry_after(rule), "retry_minutes": max(1, round(retry_after(rule) / 60))},
        status=status,
    )
    response["Retry-After"] = str(retry_after(rule))
    return response


def throttle(name: str, *, account: Callable | None = None):
    """Decorator: count every request to the view under the rules `name` and answer 429 past a limit.

    `account(request, *args, **kwargs)` returns the per-account key (for SSO: the district), or None.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            key = account(request, *args, **kwargs) if account else None
            rule = record_attempt(name, request, account=key)
            if rule is not None:
                logger.warning("throttled %s for %s", rule.scope, client_address(request))
                return throttled_response(request, rule)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- Where the rules apply -------------------------------------------------------------------

# URL name -> throttle name, counted on every request (the SSO flow has no password to fail).
COUNTED_VIEWS = {"sso:login": "sso_start", "sso:callback": "sso_callback"}


def _sso_account(request, match) -> str | None:
    """The per-"account" key of the SSO flow: the district (from the URL, or from the stored state)."""
    district = match.kwargs.get("district")
    if district:
        return f"district:{district}"
    state = request.GET.get("state")
    try:
        states = request.session.get("oidc_states") or {}
    except Exception:  # an unreadable session must not turn the callback into an error here
        states = {}
    entry = states.get(state) if isinstance(states, dict) and isinstance(state, str) else None
    if isinstance(entry, dict) and isinstance(entry.get("district"), str):
        return f"district:{entry['district']}"
    return None


class SignInThrottleMiddleware:
    """Applies the throttles by URL name, so the views need no decorator:

    * parent SSO start and callback: every request counts, per client address and per district;
    * Django admin's password sign-in (support staff): failures count with the same per-username and
      per-address counters as the admin console's sign-in (admin_config.throttle), so one lock holds
      across both doors.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        name = COUNTED_VIEWS.get(match.view_name) if match is not None else None
        if name:
            rule = record_attempt(name, request, account=_sso_account(request, match))
            if rule is not None:
                logger.warning("throttled %s for %s", rule.scope, client_address(request))
                return throttled_response(request, rule)
            return None
        if match is not None and match.view_name == "admin:login" and request.method == "POST":
            return self._admin_login(request, view_func, view_args, view_kwargs)
        return None

    def _admin_login(self, request, view_func, view_args, view_kwargs):
        from admin_config import throttle as staff_throttle

        username = str(request.POST.get("username", ""))[:150]
        ip = client_address(request)
        rule = Rule("staff_login-account", staff_throttle.limit(), staff_throttle.window())
        try:
            locked = staff_throttle.is_locked(username, ip)
        except Exception:
            logger.warning("shared cache unavailable: staff sign-in throttle not checked")
            locked = False
        if locked:
            from security.services import security_event_record

            security_event_record(action="auth.sign_in_refused", actor_label=username, request=request,
                                  details={"reason": "too_many_failures", "method": "password"})
            return throttled_response(request, rule)
        response = view_func(request, *view_args, **view_kwargs)
        if response.status_code == 200 and not request.user.is_authenticated:  # the form came back: a failure
            try:
                staff_throttle.record_failure(username, ip)
                if staff_throttle.is_locked(username, ip):
                    return throttled_response(request, rule)
            except Exception:
                logger.warning("shared cache unavailable: staff sign-in failure not counted")
        elif response.status_code in (301, 302) and request.user.is_authenticated:
            try:
                staff_throttle.clear_username(username)
            except Exception:
                logger.warning("shared cache unavailable: staff sign-in counter not cleared")
        return response
