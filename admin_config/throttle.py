"""Failed staff sign-ins, counted per username and per client IP in the shared cache.

After `LOGIN_FAILURE_LIMIT` failures within `LOGIN_FAILURE_WINDOW` seconds (counted from the first
failure), sign-in for that username, or from that IP, is refused until the window ends. A
successful sign-in clears the username's counter (not the IP's). The console's sign-in view and
Django admin's sign-in (enrollment_hub.throttle.SignInThrottleMiddleware) share these counters.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def limit() -> int:
    return int(getattr(settings, "LOGIN_FAILURE_LIMIT", 5))


def window() -> int:
    return int(getattr(settings, "LOGIN_FAILURE_WINDOW", 900))


def _user_key(username: str) -> str:
    digest = hashlib.sha256((username or "").strip().casefold().encode()).hexdigest()[:32]
    return f"console-login-fail:user:{digest}"


def _ip_key(ip: str | None) -> str | None:
    return f"console-login-fail:ip:{ip}" if ip else None


def _keys(username: str, ip: str | None) -> list[str]:
    return [k for k in (_user_key(username), _ip_key(ip)) if k]


def is_locked(username: str, ip: str | None) -> bool:
    counts = cache.get_many(_keys(username, ip))
    return any(int(v) >= limit() for v in counts.values())


def record_failure(username: str, ip: str | None) -> None:
    for key in _keys(username, ip):
        # add() starts the window at the first failure; incr() keeps its expiry.
        cache.add(f"{key}:start", time.time(), timeout=window())
        cache.add(key, 0, timeout=window())
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window())


def clear_username(username: str) -> None:
    key = _user_key(username)
    cache.delete_many([key, f"{key}:start"])


def retry_after(username: str, ip: str | None) -> int:
    """Seconds until every locked counter of this username and IP has expired (at least 1)."""
    keys = _keys(username, ip)
    values = cache.get_many(keys + [f"{k}:start" for k in keys])
    now = time.time()
    waits = [
        float(values.get(f"{k}:start", now)) + window() - now
        for k in keys
        if int(values.get(k, 0)) >= limit()
    ]
    return max(1, int(max(waits, default=1) + 0.999))


