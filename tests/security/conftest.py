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
