import pytest
from cryptography.fernet import Fernet

TEST_FERNET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _encryption_key(settings):
    """pytest-django runs with DEBUG=False, where SSO secrets need a configured Fernet key."""
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FERNET_KEY]
