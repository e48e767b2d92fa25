"""A OneRoster 1.2 REST server for tests: real HTTPS on loopback, client-credentials tokens, paging.

It serves the hand-written CSV rosters as OneRoster JSON, so the REST pull can be checked
against the same expectations as the CSV import.
"""

from __future__ import annotations

import base64
import csv
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

API = "/ims/oneroster/rostering/v1p2"


def roster_as_json(folder: Path) -> dict[str, list[dict]]:
    """users.csv + roles.csv + orgs.csv of a roster folder as OneRoster 1.2 JSON collections."""
    with open(folder / "roles.csv", newline="") as fh:
        roles: dict[str, list[dict]] = {}
        for row in csv.DictReader(fh):
            roles.setdefault(row["userSourcedId"], []).append(
                {"roleType": row["roleType"], "role": row["role"], "org": {"sourcedId": row["orgSourcedId"],
                                                                           "type": "org"}})
    users = []
    with open(folder / "users.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            users.append({
                "sourcedId": row["sourcedId"],
                "status": "active",
                "dateLastModified": "2026-08-01T00:00:00.000Z",
                "metadata": {"guardianRestricted": row["metadata.guardianRestricted"]} if row[
                    "metadata.guardianRestricted"] else {},
                "enabledUser": row["enabledUser"] == "true",
                "username": row["username"],
                "userIds": [],
                "givenName": row["givenName"],
                "familyName": row["familyName"],
                "identifier": row["identifier"],
                "email": row["email"],
                "roles": roles[row["sourcedId"]],
                "agents": [{"href": f"{API}/users/{a}", "sourcedId": a, "type": "user"}
                           for a in row["agentSourcedIds"].split(",") if a],
                "grades": [row["grades"]] if row["grades"] else [],
                "primaryOrg": {"sourcedId": row["primaryOrgSourcedId"], "type": "org"}
                if row["primaryOrgSourcedId"] else None,
            })
    orgs = []
    with open(folder / "orgs.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            orgs.append({"sourcedId": row["sourcedId"], "status": "active", "name": row["name"], "type": row["type"],
                         "identifier": row["identifier"],
                         "parent": {"sourcedId": row["parentSourcedId"], "type": "org"} if row["parentSourcedId"]
                         else None})
    return {"users": users, "orgs": orgs}


class OneRosterServer:
    client_id = "roster-client"
    client_secret = "s3cret-roster"  # noqa: S105 - the test server's own credential

    def __init__(self, tls_files, data: dict[str, list[dict]]):
        self.tls_files = tls_files
        self.data = data
        self.requests: list[str] = []
        self.tokens: set[str] = set()
        self.fail_at_offset: int | None = None  # users page that answers HTTP 500
        self.token_status = 200
        self.token_uses = 0  # when set, a token answers 401 after this many pages (it "expires")
        self._uses: dict[str, int] = {}

    @property
    def base_url(self) -> str:
        return f"https://localhost:{self.httpd.server_address[1]}"

    def start(self) -> OneRosterServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                server.requests.append(f"POST {self.path}")
                expected = base64.b64encode(f"{server.client_id}:{server.client_secret}".encode()).decode()
                if (self.path != "/oauth/token" or self.headers.get("Authorization") != f"Basic {expected}"
                        or form.get("grant_type") != ["client_credentials"] or server.token_status != 200):
                    return self._send(server.token_status if server.token_status != 200 else 401,
                                      {"error": "invalid_client"})
                token = f"token-{len(server.tokens) + 1}"
                server.tokens.add(token)
                return self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                server.requests.append(f"GET {parts.path}?{parts.query}")
                auth = self.headers.get("Authorization", "")
                token = auth[7:] if auth.startswith("Bearer ") else ""
                server._uses[token] = server._uses.get(token, 0) + 1
                expired = server.token_uses and server._uses[token] > server.token_uses
                if token not in server.tokens or expired:
                    return self._send(401, {"imsx_codeMajor": "failure", "imsx_description": "unauthorized"})
                collection = parts.path.removeprefix(API + "/")
                if collection not in server.data:
                    return self._send(404, {"imsx_codeMajor": "failure"})
                query = parse_qs(parts.query)
                limit, offset = int(query.get("limit", ["100"])[0]), int(query.get("offset", ["0"])[0])
                if collection == "users" and server.fail_at_offset is not None and offset >= server.fail_at_offset:
                    return self._send(500, {"imsx_codeMajor": "failure", "imsx_description": "database down"})
                records = server.data[collection]
                return self._send(200, {collection: records[offset:offset + limit]},
                                  {"X-Total-Count": str(len(records))})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls_files.cert, self.tls_files.key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
