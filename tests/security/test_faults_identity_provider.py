"""Faults: the district's identity provider is slow (accepts the connection, never answers) or down
(refuses connections) during a parent's sign-in. The parent gets a clear page within the configured
timeouts, no session, and the failure is in the audit log."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from admin_config.models import AuditEvent
from sso.models import SSOConfiguration

pytestmark = pytest.mark.django_db

CONNECT_TIMEOUT, READ_TIMEOUT = 0.5, 1.0
BUDGET = CONNECT_TIMEOUT + READ_TIMEOUT + 1.5  # the configured timeouts plus rendering slack


class SilentServer:
    """A TCP server on loopback that accepts connections and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.accepted = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.held.append(conn)

    def close(self):
        self.stop.set()
        self.thread.join(timeout=2)
        for conn in self.held:
            conn.close()
        self.sock.close()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def outbound(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True
    settings.OUTBOUND_CONNECT_TIMEOUT = CONNECT_TIMEOUT
    settings.OUTBOUND_READ_TIMEOUT = READ_TIMEOUT


@pytest.fixture
def silent():
    server = SilentServer()
    yield server
    server.close()


def configure(cast, origin: str, *, discovered: bool) -> SSOConfiguration:
    config = SSOConfiguration(district=cast.district, enabled=True, issuer=origin, client_id="portal",
                              global_identifier_claim="email", scopes="openid email")
    config.set_client_secret("s3cret-value")
    if discovered:
        config.discovery = {
            "issuer": origin, "authorization_endpoint": f"{origin}/authorize", "token_endpoint": f"{origin}/token",
            "jwks_uri": f"{origin}/jwks", "userinfo_endpoint": f"{origin}/userinfo",
            "id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["code"],
            "subject_types_supported": ["public"], "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }
        config.discovery_fetched_at = timezone.now() - timedelta(seconds=5)
    config.save()
    return config


def timed(fn):
    start = time.monotonic()
    response = fn()
    return response, time.monotonic() - start


def start_sign_in(client):
    return client.get(reverse("sso:login", kwargs={"district": "springfield"}))


def callback_with_state(client):
    """The provider's redirect back with a valid state: the token request goes to the provider."""
    session = SessionStore()
    session["oidc_states"] = {"st-1": {"district": "springfield", "nonce": "n-1", "code_verifier": "v" * 64}}
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client.get(reverse("sso:callback"), {"state": "st-1", "code": "abc"})


def assert_clear_failure(response, elapsed, expected: bytes):
    assert elapsed < BUDGET, f"the parent waited {elapsed:.1f}s"
    assert response.status_code in (400, 502)
    assert expected in response.content
    assert b"Traceback" not in response.content
    assert "_auth_user_id" not in response.wsgi_request.session


def test_provider_that_never_answers_at_sign_in_start(outbound, silent, cast):
    configure(cast, f"https://127.0.0.1:{silent.port}", discovered=False)  # discovery must be fetched
    response, elapsed = timed(lambda: start_sign_in(Client()))
    assert silent.accepted >= 1  # the connection was made; the provider just never answered
    assert_clear_failure(response, elapsed, b"could not be reached")
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.details["reason"] == "provider_unreachable"


def test_provider_that_never_answers_the_token_request(outbound, silent, cast):
    configure(cast, f"https://127.0.0.1:{silent.port}", discovered=True)
    response, elapsed = timed(lambda: callback_with_state(Client()))
    assert silent.accepted >= 1
    assert_clear_failure(response, elapsed, b"could not be reached")
    assert "token request failed" in AuditEvent.objects.get(action="auth.sign_in_failed").details["reason"]


def test_provider_down_at_sign_in_start_and_at_the_token_request(outbound, cast):
    origin = f"https://127.0.0.1:{closed_port()}"
    configure(cast, origin, discovered=False)
    response, elapsed = timed(lambda: start_sign_in(Client()))
    assert_clear_failure(response, elapsed, b"could not be reached")
    SSOConfiguration.objects.all().delete()
    configure(cast, origin, discovered=True)
    response, elapsed = timed(lambda: callback_with_state(Client()))
    assert_clear_failure(response, elapsed, b"could not be reached")
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == 2
