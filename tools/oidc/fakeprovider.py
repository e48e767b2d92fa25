"""A small OpenID provider over TLS on loopback that can misbehave on purpose (tests only).

It implements just enough of OpenID Connect for the relying-party negative cases of the OpenID
certification list: discovery, JWKS, an authorization endpoint that consents at once (302 back to
the client with a code), a token endpoint (client_secret_basic or client_secret_post, PKCE S256
checked) and userinfo. Each knob below makes it answer wrongly in one precise way::

    provider = FakeProvider(tls_files).start()
    provider.id_token_claims["iss"] = "https://evil.example"   # wrong issuer
    provider.sign_mode = "none"                                # alg none
    ...
    provider.stop()

`discovery_mode` covers R11: "ok", "html", "timeout", "redirect" (to another host), "issuer"
(a different issuer), "missing" (no jwks_uri), "status500".
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import ssl
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .tls import TLSFiles


def new_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(kid: str, key, alg: str = "RS256") -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeProvider:
    def __init__(self, tls: TLSFiles, *, host: str = "127.0.0.1", client_id: str = "hub-client",
                 client_secret: str = "s3cret-client-value", auth_method: str = "client_secret_basic"):  # noqa: S107
        self.tls = tls
        self.host = host
        self.client_id = client_id
        self.client_secret = client_secret
        self.auth_method = auth_method
        self.keys: list[tuple[str, Any]] = [("key-1", new_rsa_key())]
        self.signing_kid = "key-1"
        self.reset()
        self._server: ThreadingHTTPServer | None = None
        self.requests: list[tuple[str, str]] = []
        self.token_requests: list[dict[str, Any]] = []
        self.jwks_requests = 0

    # --- knobs ------------------------------------------------------------------------------

    def reset(self) -> None:
        self.discovery_mode = "ok"
        self.discovery_extra: dict[str, Any] = {}
        self.sign_mode = "ok"  # ok | bad_signature | none | hs256 | no_kid | unknown_kid
        self.id_token_claims: dict[str, Any] = {}  # overrides; value None removes the claim
        self.userinfo_claims: dict[str, Any] = {}  # overrides; value None removes the claim
        self.account: dict[str, Any] = {"sub": "user-1", "email": "maria@example.org"}
        self.id_token_extra: dict[str, Any] = {}  # extra claims (e.g. the global identifier)
        self.nonce_override: str | None = None
        self.end_session = True
        self.slow_seconds = 0.0

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.tls.cert), str(self.tls.key))
        provider = self

        class Handler(_Handler):
            owner = provider

        self._server = _QuietServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def issuer(self) -> str:
        return f"https://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.issuer + path

    # --- documents --------------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        doc = {
            "issuer": self.issuer,
            "authorization_endpoint": self.url("/authorize"),
            "token_endpoint": self.url("/token"),
            "jwks_uri": self.url("/jwks"),
            "userinfo_endpoint": self.url("/userinfo"),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": [self.auth_method],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": ["sub", "email", "name", "guardian_id"],
        }
        if self.end_session:
            doc["end_session_endpoint"] = self.url("/logout")
        doc.update(self.discovery_extra)
        return doc

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(kid, key) for kid, key in self.keys]}

    def rotate_key(self) -> str:
        kid = f"key-{len(self.keys) + 1}-{secrets.token_hex(2)}"
        self.keys.append((kid, new_rsa_key()))
        self.signing_kid = kid
        return kid

    def _key(self, kid: str):
        return dict(self.keys)[kid]

    def make_id_token(self, *, nonce: str | None, client_id: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": self.account["sub"], "aud": client_id, "iat": now, "exp": now + 300,
            "auth_time": now,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if self.nonce_override is not None:
            claims["nonce"] = self.nonce_override
        claims.update(self.id_token_extra)
        for name, value in self.id_token_claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        headers = {"kid": self.signing_kid}
        mode = self.sign_mode
        if mode == "none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": self.signing_kid})
        if mode == "hs256":
            # A symmetric token (signed with the shared client secret) where an asymmetric one is due.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the short test secret
                return jwt.encode(claims, self.client_secret, algorithm="HS256", headers=headers)
        if mode == "bad_signature":
            return jwt.encode(claims, new_rsa_key(), algorithm="RS256", headers=headers)
        if mode == "no_kid":
            return jwt.encode(claims, self._key(self.signing_kid), algorithm="RS256", headers={})
        if mode == "unknown_kid":
            return jwt.encode(claims, new_rsa_key(), algorithm="RS256", headers={"kid": "never-published"})
        return jwt.encode(claims, self._key(self.signing_kid), algorithm="RS256", headers=headers)

    def userinfo(self) -> dict[str, Any]:
        claims = dict(self.account)
        for name, value in self.userinfo_claims.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # clients that hang up on purpose (timeouts)
        pass


class _Handler(BaseHTTPRequestHandler):
    owner: FakeProvider
    protocol_version = "HTTP/1.1"
    codes: dict[str, dict[str, Any]] = {}

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, obj, status: int = 200):
        self._send(status, json.dumps(obj).encode())

    def do_GET(self):  # noqa: N802
        p = self.owner
        parts = urlsplit(self.path)
        p.requests.append(("GET", parts.path))
        if p.slow_seconds:
            time.sleep(p.slow_seconds)
        if parts.path == "/.well-known/openid-configuration":
            return self._discovery()
        if parts.path == "/jwks":
            p.jwks_requests += 1
            return self._json(p.jwks())
        if parts.path == "/authorize":
            return self._authorize(parse_qs(parts.query))
        if parts.path == "/userinfo":
            return self._json(p.userinfo())
        if parts.path == "/redirect":  # for safe_http tests: 302 to ?to=
            return self._send(302, b"", "text/plain", {"Location": parse_qs(parts.query)["to"][0]})
        if parts.path == "/big":  # for safe_http tests: ?size= bytes of JSON-ish filler
            size = int(parse_qs(parts.query).get("size", ["2000000"])[0])
            return self._send(200, b"[" + b"0," * (size // 2) + b"0]")
        if parts.path == "/logout":
            return self._send(200, b"<p>Signed out</p>", "text/html")
        return self._send(404, b"{}")

    def _discovery(self):
        p = self.owner
        mode = p.discovery_mode
        if mode == "timeout":
            time.sleep(5)
            return self._json(p.discovery())
        if mode == "html":
            return self._send(200, b"<!doctype html><title>Sign in</title><p>Welcome</p>", "text/html")
        if mode == "redirect":
            return self._send(302, b"", "text/plain",
                              {"Location": f"https://localhost:{p.port}/.well-known/openid-configuration"})
        if mode == "status500":
            return self._send(500, b"oops", "text/plain")
        doc = p.discovery()
        if mode == "issuer":
            doc["issuer"] = p.issuer + "/other"
        if mode == "missing":
            doc.pop("jwks_uri")
        return self._json(doc)

    def _authorize(self, query: dict[str, list[str]]):
        p = self.owner
        q = {k: v[0] for k, v in query.items()}
        code = secrets.token_urlsafe(16)
        _Handler.codes[code] = {
            "nonce": q.get("nonce"), "client_id": q.get("client_id"), "redirect_uri": q.get("redirect_uri"),
            "code_challenge": q.get("code_challenge"), "code_challenge_method": q.get("code_challenge_method"),
            "scope": q.get("scope"),
        }
        target = q.get("redirect_uri", "") + "?" + urlencode({"code": code, "state": q.get("state", "")})
        p.requests.append(("AUTHORIZE", json.dumps(q)))
        return self._send(302, b"", "text/plain", {"Location": target})

    def do_POST(self):  # noqa: N802
        p = self.owner
        parts = urlsplit(self.path)
        p.requests.append(("POST", parts.path))
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if parts.path != "/token":
            return self._send(404, b"{}")
        auth_header = self.headers.get("Authorization", "")
        used = "client_secret_post" if "client_secret" in form else (
            "client_secret_basic" if auth_header.startswith("Basic ") else "none")
        p.token_requests.append({"form": form, "auth_method": used})
        if used == "client_secret_basic":
            client_id, _, secret = base64.b64decode(auth_header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if used != p.auth_method or client_id != p.client_id or secret != p.client_secret:
            return self._json({"error": "invalid_client"}, 401)
        grant = _Handler.codes.pop(form.get("code", ""), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return self._json({"error": "invalid_grant"}, 400)
        verifier = form.get("code_verifier", "")
        if grant["code_challenge"] and (
            grant["code_challenge_method"] != "S256"
            or b64url(hashlib.sha256(verifier.encode()).digest()) != grant["code_challenge"]
        ):
            return self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        return self._json({
            "access_token": secrets.token_urlsafe(24),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": p.make_id_token(nonce=grant["nonce"], client_id=client_id),
        })
