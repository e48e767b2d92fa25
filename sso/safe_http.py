"""The one outbound HTTP client: every request to a district's identity provider or SIS goes here.

Guarantees, whatever URL a district configures:

* https only; the certificate is verified (``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` name extra
  trusted CAs, as with requests; no proxies or ``.netrc`` are read from the environment);
* connect and read timeouts, and an overall deadline for the body;
* a response size cap (the body is streamed and refused past ``max_bytes``);
* redirects are followed only to the same scheme, host and port (at most ``MAX_REDIRECTS``);
* the host name is resolved here and *every* address is checked against private, loopback,
  link-local, shared, multicast and reserved ranges before connecting, and the connection is made
  to the checked address (no second lookup an attacker could answer differently). Only
  ``settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES = True`` lifts that check (tests, local demo).

Every failure raises an :class:`OutboundError` (or a subclass) whose ``message`` can be shown to
a district administrator or a parent as is; it never contains a secret.

Public API::

    fetch(method, url, *, data=None, headers=None, auth=None, timeout=None, max_bytes=None) -> Response
    get_json(url, *, headers=None, auth=None, timeout=None, max_bytes=None) -> dict
    post_form(url, *, data, headers=None, auth=None, ...) -> Response   # convenience for token calls
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024  # 1 MiB: discovery documents, JWKS and tokens are a few kB
MAX_REDIRECTS = 3
USER_AGENT = "EnrollmentHub/1.0"


# --- Errors ----------------------------------------------------------------------------------


class OutboundError(Exception):
    """An outbound request failed; ``message`` is safe to show to the user."""

    code = "error"

    def __init__(self, message: str, *, url: str = ""):
        super().__init__(message)
        self.message = message
        self.url = url

    def __str__(self) -> str:
        return self.message


class InsecureURL(OutboundError):
    code = "insecure_url"


class BlockedAddress(OutboundError):
    code = "private_address"


class OutboundTimeout(OutboundError):
    code = "timeout"


class OutboundConnectionError(OutboundError):
    code = "connection"


class OutboundTLSError(OutboundError):
    code = "tls"


class RedirectRefused(OutboundError):
    code = "redirect"


class ResponseTooLarge(OutboundError):
    code = "too_large"


class HTTPStatusError(OutboundError):
    code = "http_status"

    def __init__(self, message: str, *, url: str = "", status_code: int = 0, response: Response | None = None):
        super().__init__(message, url=url)
        self.status_code = status_code
        self.response = response


class NotJSON(OutboundError):
    code = "not_json"


# --- Response --------------------------------------------------------------------------------


@dataclass
class Response:
    status_code: int
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            kind = self.content_type or "an unknown content type"
            raise NotJSON(f"{_host(self.url)} did not answer JSON (it sent {kind}).", url=self.url) from exc

    def raise_for_status(self) -> None:
        if not self.ok:
            raise HTTPStatusError(
                f"{_host(self.url)} answered HTTP {self.status_code}.",
                url=self.url, status_code=self.status_code, response=self,
            )


# --- Address checks --------------------------------------------------------------------------


def private_addresses_allowed() -> bool:
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE_ADDRESSES", False))


def is_blocked_address(address: str) -> bool:
    """True for any address that is not a public unicast internet address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if mapped is not None and is_blocked_address(str(mapped)):
            return True
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or getattr(ip, "is_site_local", False)
        or not ip.is_global
    )


def resolve_checked(host: str, port: int) -> list[tuple]:
    """getaddrinfo results for host:port, refusing the lot if any address is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundConnectionError(f"The host name {host} could not be resolved.") from exc
    if not infos:
        raise OutboundConnectionError(f"The host name {host} could not be resolved.")
    if not private_addresses_allowed():
        for info in infos:
            if is_blocked_address(info[4][0]):
                raise BlockedAddress(
                    f"{host} resolves to a private, loopback or reserved address ({info[4][0]}); "
                    "only public internet addresses are allowed."
                )
    return infos


class _GuardedHTTPSConnection(HTTPSConnection):
    """Connects only to addresses that passed `resolve_checked` (TLS still verifies the host name)."""

    def _new_conn(self) -> socket.socket:
        infos = resolve_checked(self._dns_host, self.port)
        last_error: Exception | None = None
        for family, socktype, proto, _canon, sockaddr in infos:
            sock = socket.socket(family, socktype, proto)
            try:
                timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
                sock.settimeout(timeout)
                for opt in self.socket_options or ():
                    sock.setsockopt(*opt)
                sock.connect(sockaddr)
                return sock
            except TimeoutError as exc:
                sock.close()
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                sock.close()
                last_error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")


class _GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"https": _GuardedHTTPSConnectionPool}


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies/.netrc from the environment; the CA bundle is read below
    session.mount("https://", _GuardedAdapter(max_retries=0))
    session.mount("http://", _GuardedAdapter(max_retries=0))  # never used: http is refused earlier
    session.headers["User-Agent"] = USER_AGENT
    return session


def _verify() -> str | bool:
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url
    except ValueError:
        return url


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


def check_url(url: str) -> None:
    """Raise InsecureURL unless `url` is a well-formed https URL."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InsecureURL(f"{url!r} is not a valid URL.", url=url) from exc
    if parts.scheme != "https":
        raise InsecureURL(f"Only https URLs are allowed (got {parts.scheme or 'no scheme'}).", url=url)
    if not parts.hostname:
        raise InsecureURL("The URL has no host name.", url=url)
    if parts.username or parts.password:
        raise InsecureURL("URLs with a user name or password are not allowed.", url=url)


def _timeouts(timeout) -> tuple[float, float]:
    if timeout is None:
        return (
            float(getattr(settings, "OUTBOUND_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT)),
            float(getattr(settings, "OUTBOUND_READ_TIMEOUT", DEFAULT_READ_TIMEOUT)),
        )
    if isinstance(timeout, (int, float)):
        return float(timeout), float(timeout)
    connect, read = timeout
    return float(connect), float(read)


def fetch(method: str, url: str, *, data=None, headers: dict | None = None, auth=None, timeout=None,
          max_bytes: int | None = None) -> Response:
    """One guarded request; follows same-origin redirects only. Never raises anything but OutboundError."""
    method = method.upper()
    connect_timeout, read_timeout = _timeouts(timeout)
    limit = int(max_bytes if max_bytes is not None else getattr(settings, "OUTBOUND_MAX_BYTES", DEFAULT_MAX_BYTES))
    deadline = time.monotonic() + connect_timeout + read_timeout
    check_url(url)
    origin = _origin(url)
    current = url
    with _session() as session:
        for _hop in range(MAX_REDIRECTS + 1):
            raw = _send(session, method, current, data=data, headers=headers, auth=auth,
                        timeout=(connect_timeout, read_timeout))
            try:
                if raw.is_redirect:
                    location = raw.headers.get("location", "")
                    target = urljoin(current, location)
                    try:
                        check_url(target)
                    except InsecureURL as exc:
                        raise RedirectRefused(
                            f"{_host(current)} redirected to a non-https address; redirects are refused.",
                            url=current,
                        ) from exc
                    if _origin(target) != origin:
                        raise RedirectRefused(
                            f"{_host(current)} redirected to another host ({_host(target)}); "
                            "redirects to another host are refused.",
                            url=current,
                        )
                    if raw.status_code in (301, 302, 303) and method == "POST":
                        method, data = "GET", None
                    current = target
                    continue
                content = _read_capped(raw, limit, deadline, current)
                return Response(
                    status_code=raw.status_code,
                    url=current,
                    headers={k.lower(): v for k, v in raw.headers.items()},
                    content=content,
                )
            finally:
                raw.close()
    raise RedirectRefused(f"{_host(url)} redirected too many times.", url=url)


def _send(session, method, url, *, data, headers, auth, timeout) -> requests.Response:
    host = _host(url)
    try:
        return session.request(method, url, data=data, headers=headers, auth=auth, timeout=timeout,
                               allow_redirects=False, stream=True, verify=_verify())
    except OutboundError:
        raise
    except requests.exceptions.ConnectionError as exc:
        inner = _find_cause(exc, OutboundError)
        if inner is not None:
            raise type(inner)(inner.message, url=url) from exc
        if isinstance(exc, requests.exceptions.SSLError):
            raise OutboundTLSError(f"The TLS certificate of {host} could not be verified.", url=url) from exc
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _find_cause(exc, ConnectTimeoutError):
            raise OutboundTimeout(f"Connecting to {host} timed out.", url=url) from exc
        if _find_cause(exc, urllib3.exceptions.ReadTimeoutError) or _find_cause(exc, TimeoutError):
            raise OutboundTimeout(f"{host} did not answer in time.", url=url) from exc
        raise OutboundConnectionError(f"{host} could not be reached.", url=url) from exc
    except requests.exceptions.Timeout as exc:
        raise OutboundTimeout(f"{host} did not answer in time.", url=url) from exc
    except (requests.exceptions.RequestException, ValueError, OSError) as exc:
        raise OutboundConnectionError(f"The request to {host} failed.", url=url) from exc


def _find_cause(exc: BaseException, kind: type):
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend([current.__cause__, current.__context__])
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
    return None


def _read_capped(raw: requests.Response, limit: int, deadline: float, url: str) -> bytes:
    host = _host(url)
    declared = raw.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(f"The answer from {host} is larger than {limit} bytes.", url=url)
    chunks, total = [], 0
    try:
        for chunk in raw.iter_content(chunk_size=16384):
            total += len(chunk)
            if total > limit:
                raise ResponseTooLarge(f"The answer from {host} is larger than {limit} bytes.", url=url)
            if time.monotonic() > deadline:
                raise OutboundTimeout(f"{host} did not answer in time.", url=url)
            chunks.append(chunk)
    except OutboundError:
        raise
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, urllib3.exceptions.HTTPError,
            OSError) as exc:
        if _find_cause(exc, TimeoutError) or _find_cause(exc, urllib3.exceptions.ReadTimeoutError):
            raise OutboundTimeout(f"{host} did not answer in time.", url=url) from exc
        raise OutboundConnectionError(f"The answer from {host} was cut off.", url=url) from exc
    return b"".join(chunks)


def get_json(url: str, *, headers: dict | None = None, auth=None, timeout=None, max_bytes: int | None = None):
    """GET `url` and return its JSON body; a non-2xx status or a non-JSON body is an OutboundError."""
    response = fetch("GET", url, headers={"Accept": "application/json", **(headers or {})}, auth=auth,
                     timeout=timeout, max_bytes=max_bytes)
    response.raise_for_status()
    return response.json()


def post_form(url: str, *, data: dict, headers: dict | None = None, auth=None, timeout=None,
              max_bytes: int | None = None) -> Response:
    """POST an application/x-www-form-urlencoded body (token requests)."""
    return fetch("POST", url, data=data, headers={"Accept": "application/json", **(headers or {})}, auth=auth,
                 timeout=timeout, max_bytes=max_bytes)
