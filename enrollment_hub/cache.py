"""The shared Redis cache, degrading instead of raising when Redis is unreachable.

Everything kept in the shared cache is rebuildable or advisory (discovery/JWKS caches, throttle
counters, open-form locks, CSP origins), so a Redis outage must not turn pages into 500s. While
Redis is down each operation answers as if the cache were empty: `get` returns the default,
`set`/`delete` do nothing, `add` answers True (the caller proceeds as if it got the key: an
open-form lock becomes advisory and saves still rely on the submission's version check), and
`incr` raises ValueError (an absent key). After a failure Redis is not retried for
`CACHE_RETRY_AFTER` seconds, so an outage costs no connection timeout per request.
See docs/reliability.md ("Redis down").
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

try:  # redis is a dependency; imported lazily by Django too
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
except ImportError:  # pragma: no cover
    UNAVAILABLE = (OSError,)


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        retry = getattr(settings, "CACHE_RETRY_AFTER", 5.0)
        with self._lock:
            first = self.available
            self._down_until = time.monotonic() + retry
        if first:
            logger.warning("shared cache unavailable (%s: %s); degraded for %.0fs", operation, exc, retry)

    def _call(self, operation: str, degraded, *args, **kwargs):
        if not self.available:
            return degraded() if callable(degraded) else degraded
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except UNAVAILABLE as exc:
            self._failed(operation, exc)
            return degraded() if callable(degraded) else degraded

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", dict, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list, data, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", True, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def clear(self):
        return self._call("clear", False)

    def incr(self, key, delta=1, version=None):
        def absent():
            raise ValueError(f"Key '{key}' not found (shared cache unavailable).")

        return self._call("incr", absent, key, delta, version)

    def get_or_set(self, key, default, timeout=DEFAULT_TIMEOUT, version=None):
        if not self.available:
            return default() if callable(default) else default
        try:
            return super().get_or_set(key, default, timeout, version)
        except UNAVAILABLE as exc:
            self._failed("get_or_set", exc)
            return default() if callable(default) else default
