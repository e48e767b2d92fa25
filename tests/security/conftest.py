import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_shared_cache():
    """Throttle counters and cached origins live in the shared cache: every test starts without any."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Sign-in tests hash many passwords; the production hasher's cost is not what they check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def encryption_keys(settings):
    """Secrets at rest need a Fernet key (tests run with DEBUG=False, so no development key)."""
    settings.FIELD_ENCRYPTION_KEYS = ["yrYnN8C0ddB0S3F1bJ8Vb7nq7p1mWgIYdO5o1cC8Tfs="]
