import pytest
from cryptography.fernet import Fernet

TEST_FERNET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _encryption_key(settings):
    """pytest-django runs with DEBUG=False, where SSO secrets need a configured Fernet key."""
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FERNET_KEY]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """admin_client's superuser signs in with a password; hashing it slowly only costs time here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
