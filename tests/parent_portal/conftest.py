import pytest
from django.conf import settings

from tests.conftest import login_cookie


class _CookieJar:
    """Adapts the test client to `login_cookie`, which signs in by handing over a real session cookie."""

    def __init__(self, client):
        self.client = client

    def add_cookies(self, cookies):
        for cookie in cookies:
            self.client.cookies[cookie["name"]] = cookie["value"]


@pytest.fixture
def sign_in(client):
    """`sign_in(user)`: the test client with `user` signed in through a real server-side session."""

    def _sign_in(user):
        login_cookie(_CookieJar(client), "http://testserver", user)
        assert settings.SESSION_COOKIE_NAME in client.cookies
        return client

    return _sign_in
