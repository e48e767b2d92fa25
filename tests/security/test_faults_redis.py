"""Faults: the shared cache (Redis) is down. Pages keep serving; what the cache held degrades as
documented in docs/reliability.md (throttles fail open, cached provider metadata is refetched)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from enrollment_hub import throttle

from .test_faults_identity_provider import SilentServer, closed_port

pytestmark = pytest.mark.django_db


def redis_cache(port: int, **options):
    return {"default": {"BACKEND": "enrollment_hub.cache.ResilientRedisCache",
                        "LOCATION": f"redis://127.0.0.1:{port}/15",
                        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, **options}}}


@pytest.fixture(autouse=True)
def empty_shared_cache():  # overrides the package fixture: clearing an unreachable cache is the test's business
    yield


def portal_requests(cast, staff_password):
    """One round of traffic that touches every use of the shared cache."""
    parent = Client()
    parent.force_login(cast.guardian.user)
    answers = [
        parent.get(reverse("parent_portal:overview", kwargs={"district": "springfield",
                                                              "student_id": cast.student.id})),
        parent.get(reverse("parent_portal:forms", kwargs={"district": "springfield", "student_id": cast.student.id}),
                   {"q": "health"}),
        Client().get(reverse("sso:login", kwargs={"district": "springfield"})),  # throttled view + CSP origins
        Client().post(reverse("admin_config:login"), {"username": "staff", "password": "wrong"}),
        Client().post(reverse("admin_config:login"), {"username": "staff", "password": staff_password}),
        Client().get("/healthz"),
    ]
    return [r.status_code for r in answers]


@pytest.fixture
def staff_user(cast, django_user_model):
    from admin_config.services import staff_membership_set

    user = django_user_model.objects.create_user("staff", password="a long staff password")
    staff_membership_set(user=user, district=cast.district, configuration=True)
    return user


EXPECTED = [200, 200, 404, 200, 302, 200]  # 404: no provider configured, the friendly page


def test_with_redis_refusing_connections_every_page_still_serves(cast, staff_user):
    with override_settings(CACHES=redis_cache(closed_port())):
        assert cache.get("anything", "default") == "default"
        assert cache.add("lock", 1) is True  # nothing stored: the caller proceeds
        assert throttle.hit(throttle.Rule("t", 1, 60), "k") is False  # fails open
        for _ in range(5):
            assert portal_requests(cast, "a long staff password") == EXPECTED


def test_a_redis_that_hangs_costs_one_timeout_then_is_skipped(cast, staff_user):
    silent = SilentServer()
    try:
        with override_settings(CACHES=redis_cache(silent.port), CACHE_RETRY_AFTER=30):
            start = time.monotonic()
            assert cache.get("x") is None  # waits for the socket timeout once
            first = time.monotonic() - start
            start = time.monotonic()
            rounds = [portal_requests(cast, "a long staff password") for _ in range(3)]
            later = time.monotonic() - start
    finally:
        silent.close()
    assert rounds == [EXPECTED] * 3
    assert first < 2.0
    assert later < 3 * 2.0, f"{later:.1f}s: the cache was retried on every call"


def test_the_same_backend_works_against_a_live_redis(cast):
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    with override_settings(CACHES=redis_cache(6379)):
        cache.delete("eh-test-counter")
        assert cache.add("eh-test-counter", 1, 30) is True
        assert cache.add("eh-test-counter", 1, 30) is False
        assert cache.incr("eh-test-counter") == 2
        rule = throttle.Rule("eh-test", 2, 60)
        key = f"k-{time.time()}"
        assert [throttle.hit(rule, key) for _ in range(3)] == [False, False, True]
        cache.delete("eh-test-counter")
