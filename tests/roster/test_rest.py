"""OneRoster REST pull against a real HTTPS server on loopback (client credentials, limit/offset paging)."""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from roster.models import RosterSettings, RosterSync
from roster.oneroster import RosterError
from roster.services import roster_settings_update, roster_sync
from tools.oidc.tls import make_ca_and_cert

from .helpers import ROSTERS, portal, snapshot
from .oneroster_server import OneRosterServer, roster_as_json
from .test_import_csv import FIRST, SECOND


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return make_ca_and_cert(tmp_path_factory.mktemp("roster-tls"))


@pytest.fixture
def server(tls_files, settings, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_files.ca))
    settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True  # the test server listens on loopback
    settings.OUTBOUND_READ_TIMEOUT = 5.0
    srv = OneRosterServer(tls_files, roster_as_json(ROSTERS / "first")).start()
    yield srv
    srv.stop()


@pytest.fixture
def rest_district(district, server):
    roster_settings_update(
        district=district,
        rest_base_url=server.base_url,
        rest_token_url=f"{server.base_url}/oauth/token",
        rest_client_id=server.client_id,
        client_secret=server.client_secret,
        rest_page_size=3,
    )
    return district


def views(district) -> dict:
    return {global_id: portal(district, global_id) for global_id in FIRST}


def test_rest_pull_applies_the_roster_page_by_page_with_a_client_credentials_token(rest_district, server):
    report, sync = roster_sync(district=rest_district)
    assert views(rest_district) == FIRST
    assert sync.source == RosterSync.Source.REST and sync.outcome == RosterSync.Outcome.APPLIED
    assert report.counts["guardians_added"] == 5
    # 10 users in pages of 3: offsets 0, 3, 6, 9; 3 orgs: one full page, then an empty one.
    assert server.requests == [
        "POST /oauth/token",
        "GET /ims/oneroster/rostering/v1p2/orgs?limit=3&offset=0",
        "GET /ims/oneroster/rostering/v1p2/users?limit=3&offset=0",
        "GET /ims/oneroster/rostering/v1p2/users?limit=3&offset=3",
        "GET /ims/oneroster/rostering/v1p2/users?limit=3&offset=6",
        "GET /ims/oneroster/rostering/v1p2/users?limit=3&offset=9",
    ]

    server.data = roster_as_json(ROSTERS / "second")
    roster_sync(district=rest_district)
    assert views(rest_district) == SECOND


def test_a_server_error_mid_way_applies_nothing(rest_district, server):
    roster_sync(district=rest_district)
    before = snapshot()
    server.data = roster_as_json(ROSTERS / "second")
    server.fail_at_offset = 6
    with pytest.raises(RosterError) as exc:
        roster_sync(district=rest_district)
    assert str(exc.value) == (
        "users (OneRoster REST): The page at offset 6 failed: localhost answered HTTP 500. Nothing was applied."
    )
    assert snapshot() == before
    assert views(rest_district) == FIRST
    failed = RosterSync.objects.filter(district=rest_district).first()
    assert (failed.source, failed.outcome, failed.message) == ("rest", "failed", str(exc.value))


def test_a_refused_token_applies_nothing_and_says_why(rest_district, server):
    roster_settings_update(district=rest_district, client_secret="wrong-secret")
    before = snapshot()
    with pytest.raises(RosterError) as exc:
        roster_sync(district=rest_district)
    assert str(exc.value) == (
        "token: The token request was refused: HTTP 401 (invalid_client). Check the client ID and secret."
    )
    assert server.requests == ["POST /oauth/token"]
    assert snapshot() == before


def test_a_token_endpoint_error_is_reported(rest_district, server):
    server.token_status = 503
    with pytest.raises(RosterError, match=r"^token: The token request was refused: HTTP 503"):
        roster_sync(district=rest_district)


def test_an_untrusted_certificate_is_refused(rest_district, server):
    os.environ.pop("REQUESTS_CA_BUNDLE")
    with pytest.raises(RosterError, match="token: The token request failed: The TLS certificate of localhost"):
        roster_sync(district=rest_district)


def test_rest_dry_run_and_the_sync_command(rest_district, server, capsys):
    call_command("sync_roster", "--district", rest_district.slug, "--dry-run")
    assert "guardians_added: 5" in capsys.readouterr().out
    assert snapshot()[1] == []
    call_command("sync_roster", "--district", rest_district.slug)
    assert views(rest_district) == FIRST
    server.fail_at_offset = 0
    with pytest.raises(CommandError, match="offset 0 failed"):
        call_command("sync_roster", "--district", rest_district.slug)


def test_the_client_secret_is_stored_encrypted(rest_district, server):
    conf = RosterSettings.objects.get(district=rest_district)
    assert server.client_secret not in conf.rest_client_secret_encrypted
    assert conf.client_secret == server.client_secret


def test_sync_without_configuration_is_refused(district):
    with pytest.raises(RosterError, match="not configured"):
        roster_sync(district=district)
    assert RosterSync.objects.get(district=district).outcome == RosterSync.Outcome.FAILED


def test_rotate_secrets_re_encrypts_the_oneroster_client_secret(rest_district, server, settings):
    from cryptography.fernet import Fernet

    old_token = RosterSettings.objects.get(district=rest_district).rest_client_secret_encrypted
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_secrets")
    conf = RosterSettings.objects.get(district=rest_district)
    assert conf.rest_client_secret_encrypted != old_token
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key can go
    assert conf.client_secret == server.client_secret


def test_an_expired_token_is_fetched_again_once_and_the_pull_goes_on(rest_district, server):
    server.token_uses = 3  # each token serves three pages, then answers 401
    roster_sync(district=rest_district)
    assert views(rest_district) == FIRST
    assert server.requests.count("POST /oauth/token") == 2
    assert server.requests[4:6] == ["GET /ims/oneroster/rostering/v1p2/users?limit=3&offset=6", "POST /oauth/token"]
