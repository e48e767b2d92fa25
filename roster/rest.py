"""OneRoster 1.2 REST pull: a client-credentials token, then every page of orgs and users.

All pages are fetched (through the one guarded HTTP client, `sso.safe_http`) and written as a
bulk CSV roster to a temporary folder *before* anything is applied, so a failure on any page
leaves the district untouched. The CSV is then imported by the same code as an upload:
one transaction, the same checks, the same report.
"""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings

from sso import safe_http

from . import oneroster as orr
from .models import RosterSettings

API_PATH = "/ims/oneroster/rostering/v1p2"
USERS_LABEL = "users (OneRoster REST)"
ORGS_LABEL = "orgs (OneRoster REST)"
DEFAULT_MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_PAGES = 100_000


class RestError(orr.RosterError):
    pass


def _max_page_bytes() -> int:
    return int(getattr(settings, "ROSTER_REST_MAX_PAGE_BYTES", DEFAULT_MAX_PAGE_BYTES))


def fetch_token(conf: RosterSettings) -> str:
    """An access token from the token endpoint (OAuth 2 client credentials, HTTP Basic client auth)."""
    data = {"grant_type": "client_credentials"}
    if conf.rest_scope:
        data["scope"] = conf.rest_scope
    try:
        response = safe_http.post_form(conf.rest_token_url, data=data, auth=(conf.rest_client_id, conf.client_secret))
    except safe_http.OutboundError as exc:
        raise RestError(f"The token request failed: {exc.message}", file="token") from None
    if not response.ok:
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                detail = f" ({body['error'][:100]})"
        except safe_http.OutboundError:
            pass
        raise RestError(f"The token request was refused: HTTP {response.status_code}{detail}. "
                        "Check the client ID and secret.", file="token")
    try:
        body = response.json()
    except safe_http.OutboundError as exc:
        raise RestError(f"The token answer is not JSON: {exc.message}", file="token") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise RestError("The token answer has no access_token.", file="token")
    if str(body.get("token_type", "bearer")).lower() != "bearer":
        raise RestError(f"The token type {body.get('token_type')!r} is not supported (bearer).", file="token")
    return token


class _Token:
    """The current access token; fetched again once when a page answers 401 (an expired token)."""

    def __init__(self, conf: RosterSettings):
        self.conf = conf
        self.value = fetch_token(conf)

    def refresh(self) -> None:
        self.value = fetch_token(self.conf)


def _get_page(token: _Token, url: str) -> safe_http.Response:
    for attempt in range(2):
        response = safe_http.fetch("GET", url, headers={"Authorization": f"Bearer {token.value}",
                                                        "Accept": "application/json"},
                                   max_bytes=_max_page_bytes())
        if response.status_code == 401 and attempt == 0:
            token.refresh()
            continue
        break
    response.raise_for_status()
    return response


def _pages(conf: RosterSettings, token: _Token, collection: str, label: str):
    """Yield the records of every page of `collection`, limit/offset paging."""
    base = conf.rest_base_url.rstrip("/") + f"{API_PATH}/{collection}"
    limit = conf.rest_page_size
    offset = 0
    for _ in range(MAX_PAGES):
        url = f"{base}?{urlencode({'limit': limit, 'offset': offset})}"
        try:
            response = _get_page(token, url)
            body = response.json()
        except safe_http.OutboundError as exc:
            raise RestError(f"The page at offset {offset} failed: {exc.message} Nothing was applied.",
                            file=label) from None
        records = body.get(collection) if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise RestError(f"The page at offset {offset} has no {collection!r} list. Nothing was applied.",
                            file=label)
        yield from records
        total = response.headers.get("x-total-count", "")
        offset += len(records)
        if len(records) < limit or not records or (total.isdigit() and offset >= int(total)):
            return
    raise RestError(f"More than {MAX_PAGES} pages; stopping.", file=label)


def _ref(value) -> str:
    if isinstance(value, dict):
        return str(value.get("sourcedId") or "")
    return str(value or "")


def _refs(value) -> str:
    if isinstance(value, list):
        return ",".join(_ref(v) for v in value if _ref(v))
    return _ref(value)


def _role(record: dict) -> str:
    roles = record.get("roles")
    if isinstance(roles, list) and roles:
        names = [r.get("role", "") for r in roles if isinstance(r, dict)]
        known = [n for n in names if n in orr.ROLE_KINDS]
        if known:
            return min(known, key=lambda n: orr.KIND_PRIORITY.index(orr.ROLE_KINDS[n]))
        return names[0] if names else ""
    return str(record.get("role") or "")  # OneRoster 1.1 JSON


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _user_row(record, columns: list[str], line: int) -> list[str]:
    if not isinstance(record, dict):
        raise RestError("The record is not a JSON object.", file=USERS_LABEL, line=line)
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
    primary = record.get("primaryOrg")
    if not primary:
        for role in record.get("roles") or []:
            if isinstance(role, dict) and role.get("roleType") == "primary":
                primary = role.get("org")
                break
    values = {
        "agentSourcedIds": _refs(record.get("agents")),
        "primaryOrgSourcedId": _ref(primary),
        "role": _role(record),
        "userIds": "",
        "resourceSourcedIds": "",
        "password": "",
    }
    row = []
    for column in columns:
        if column in values:
            row.append(values[column])
        elif column.startswith("metadata."):
            row.append(_text(metadata.get(column[len("metadata."):])))
        else:
            row.append(_text(record.get(column)))
    return row


def fetch_roster(conf: RosterSettings, folder: Path) -> orr.FolderSource:
    """Pull the whole roster into `folder` as bulk CSV; returns the source to import."""
    if not conf.rest_configured:
        raise RestError("The OneRoster REST connection is not configured (base URL, token URL, client ID, secret).")
    for url in (conf.rest_base_url, conf.rest_token_url):
        try:
            safe_http.check_url(url)
        except safe_http.OutboundError as exc:
            raise RestError(exc.message) from None
    token = _Token(conf)
    folder = Path(folder)
    with open(folder / "orgs.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(orr.ORGS_COLUMNS)
        for line, org in enumerate(_pages(conf, token, "orgs", ORGS_LABEL), start=2):
            if not isinstance(org, dict):
                raise RestError("The record is not a JSON object.", file=ORGS_LABEL, line=line)
            writer.writerow([
                _text(org.get("sourcedId")), _text(org.get("status")), _text(org.get("dateLastModified")),
                _text(org.get("name")), _text(org.get("type")), _text(org.get("identifier")), _ref(org.get("parent")),
            ])
    columns = [*orr.USERS_COLUMNS_12, "role", orr.RESTRICTED_COLUMN]
    if conf.global_id_field.startswith("metadata.") and conf.global_id_field not in columns:
        columns.append(conf.global_id_field)
    with open(folder / "users.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for line, record in enumerate(_pages(conf, token, "users", USERS_LABEL), start=2):
            writer.writerow(_user_row(record, columns, line))
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
        "file.orgs,bulk\nfile.users,bulk\nfile.roles,absent\nsource.systemName,OneRoster REST\n",
        encoding="utf-8",
    )
    return orr.FolderSource(folder, labels={"users.csv": USERS_LABEL, "orgs.csv": ORGS_LABEL,
                                            "manifest.csv": "manifest (OneRoster REST)"})
