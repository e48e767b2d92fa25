import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def empty_shared_cache():
    """Throttle counters and cached origins live in the shared cache: every test starts without any.
    (Test encryption keys and fast password hashing come from tests/conftest.py.)"""
    cache.clear()
    yield
    cache.clear()
