"""Writes to parent SSO configuration (R11) and the discovery check.

`sso_configuration_save` is the only way a configuration changes: the admin console, Django admin
and scripts call it. It applies R11 exactly:

1. static rules (`sso.validation.static_errors`): https issuer, required fields when enabled;
2. when enabled and nothing else is wrong, `<issuer>/.well-known/openid-configuration` is fetched
   through `sso.safe_http`; it must answer JSON whose `issuer` equals the configured issuer exactly
   and which names `authorization_endpoint`, `token_endpoint` and `jwks_uri` — else the save is
   refused with a message saying what failed;
3. a blank client secret keeps the stored one; the secret is stored encrypted and never logged.

The discovery document is cached on the configuration (`discovery`, `discovery_fetched_at`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from forms_catalog.models import District

from . import safe_http, validation
from .models import SSOConfiguration

logger = logging.getLogger(__name__)

REQUIRED_METADATA = ("authorization_endpoint", "token_endpoint", "jwks_uri")
FIELDS = ("enabled", "issuer", "client_id", "global_identifier_claim", "scopes")
# A discovery document older than this is refetched (and re-checked) at the next sign-in.
DISCOVERY_MAX_AGE = timedelta(hours=24)
HINTS_CACHE_SECONDS = 300


class DiscoveryError(Exception):
    """The discovery check failed; `message` says what failed and can be shown as is."""

    def __init__(self, message: str, *, code: str = "discovery"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class SaveResult:
    config: SSOConfiguration
    errors: dict[str, str] = field(default_factory=dict)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


def discovery_url(issuer: str) -> str:
    """OpenID Connect Discovery 1.0 §4: the issuer without a trailing slash + the well-known path."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def discover(issuer: str) -> dict[str, Any]:
    """Fetch and check the issuer's discovery document (R11); raise DiscoveryError saying what failed."""
    url = discovery_url(issuer)
    try:
        response = safe_http.fetch("GET", url, headers={"Accept": "application/json"})
    except safe_http.OutboundTimeout as exc:
        raise DiscoveryError(f"The discovery document could not be fetched: {exc.message} ({url})",
                             code="timeout") from exc
    except safe_http.RedirectRefused as exc:
        raise DiscoveryError(f"The discovery document could not be fetched: {exc.message}", code="redirect") from exc
    except safe_http.BlockedAddress as exc:
        raise DiscoveryError(f"The discovery document could not be fetched: {exc.message}",
                             code="private_address") from exc
    except safe_http.OutboundError as exc:
        raise DiscoveryError(f"The discovery document could not be fetched: {exc.message}", code=exc.code) from exc
    if not response.ok:
        raise DiscoveryError(f"The discovery document at {url} answered HTTP {response.status_code}.",
                             code="http_status")
    try:
        document = response.json()
    except safe_http.NotJSON as exc:
        kind = response.content_type or "an unknown content type"
        raise DiscoveryError(f"The discovery document at {url} is not JSON (the provider sent {kind}).",
                             code="not_json") from exc
    if not isinstance(document, dict):
        raise DiscoveryError(f"The discovery document at {url} is not a JSON object.", code="not_json")
    advertised = document.get("issuer")
    if advertised != issuer:
        raise DiscoveryError(
            f"The provider's discovery document names the issuer “{advertised}”, which is not exactly "
            f"the Issuer URL “{issuer}”.",
            code="issuer_mismatch",
        )
    missing = [name for name in REQUIRED_METADATA if not isinstance(document.get(name), str) or not document[name]]
    if missing:
        raise DiscoveryError(f"The discovery document does not name: {', '.join(missing)}.", code="missing_endpoints")
    return document


def _normalized(values: dict, config: SSOConfiguration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = values.get(name, getattr(config, name))
        if name == "enabled":
            out[name] = bool(value)
        elif name == "scopes":
            out[name] = " ".join(str(value or "").split())
        else:
            out[name] = str(value or "").strip()
    return out


@transaction.atomic
def sso_configuration_save(*, district: District, values: dict, user=None) -> SaveResult:
    """Create or update the district's SSO configuration under R11.

    `values` may hold enabled, issuer, client_id, client_secret, global_identifier_claim and scopes;
    a missing key keeps the stored value, a blank client_secret keeps the stored secret. Returns a
    SaveResult with field -> message errors (nothing is written when there are any).
    """
    config = SSOConfiguration.objects.select_for_update().filter(district=district).first()
    creating = config is None
    if creating:
        config = SSOConfiguration(district=district)
    clean = _normalized(values, config)
    new_secret = str(values.get("client_secret") or "")
    effective_secret = new_secret or (config.client_secret if config.has_client_secret else "")

    errors = validation.static_errors(client_secret=effective_secret, **clean)
    document: dict | None = None
    if clean["enabled"] and not errors:
        try:
            document = discover(clean["issuer"])
        except DiscoveryError as exc:
            errors["issuer"] = exc.message
    if errors:
        if not creating:
            config.refresh_from_db()
        return SaveResult(config=config, errors=errors, saved=False)

    changed = [name for name in FIELDS if getattr(config, name) != clean[name]]
    for name in changed:
        setattr(config, name, clean[name])
    if new_secret and (not config.has_client_secret or config.client_secret != new_secret):
        config.set_client_secret(new_secret)
        changed.append("client_secret_encrypted")
    if document is not None:
        if config.discovery != document:
            config.discovery = document
            changed.append("discovery")
        config.discovery_fetched_at = timezone.now()
        changed.append("discovery_fetched_at")
    elif "issuer" in changed and config.discovery:
        config.discovery = {}
        config.discovery_fetched_at = None
        changed += ["discovery", "discovery_fetched_at"]

    if not creating and not changed:
        return SaveResult(config=config, errors={}, saved=False)
    try:
        config.full_clean()
    except ValidationError as exc:  # e.g. a value longer than its column: a field message, not an error page
        if not creating:
            config.refresh_from_db()
        return SaveResult(config=config, errors={field: " ".join(messages) for field, messages
                                                 in exc.message_dict.items()}, saved=False)
    if creating:
        config.save()
    else:
        config.save(update_fields=sorted(set(changed)))
    logger.info(
        "SSO configuration of district %s saved by %s: %s",
        district.slug, getattr(user, "username", None) or "system",
        ", ".join(sorted({"client_secret" if c == "client_secret_encrypted" else c for c in changed})) or "created",
    )
    return SaveResult(config=config, errors={}, saved=True)


@transaction.atomic
def sso_discovery_refresh(*, config: SSOConfiguration, force: bool = False) -> dict[str, Any]:
    """The configuration's discovery document, refetched (and re-checked) when missing, stale or forced.

    Raises DiscoveryError when the provider no longer passes the R11 check.
    """
    fresh = (
        config.discovery
        and config.discovery_fetched_at
        and timezone.now() - config.discovery_fetched_at < DISCOVERY_MAX_AGE
        and config.discovery.get("issuer") == config.issuer
    )
    if fresh and not force:
        return config.discovery
    document = discover(config.issuer)
    config.discovery = document
    config.discovery_fetched_at = timezone.now()
    config.save(update_fields=["discovery", "discovery_fetched_at"])
    return document


# --- Hints (issue item 6) ---------------------------------------------------------------------

PROVIDER_HINTS: tuple[dict[str, str], ...] = (
    {
        "provider": "Google",
        "issuer": "https://accounts.google.com",
        "global_identifier_claim": "email",
        "scopes": "openid email profile",
        "note": "",
    },
    {
        "provider": "Microsoft Entra ID",
        "issuer": "https://login.microsoftonline.com/<tenant-id>/v2.0",
        "global_identifier_claim": "oid",
        "scopes": "openid email profile",
        "note": "The issuer is tenant-specific: use your directory (tenant) ID, not “common”.",
    },
    {
        "provider": "Microsoft AD FS",
        "issuer": "https://<adfs-host>/adfs",
        "global_identifier_claim": "upn",
        "scopes": "openid",
        "note": "",
    },
)


@dataclass
class Hints:
    providers: tuple[dict[str, str], ...] = PROVIDER_HINTS
    issuer: str = ""
    claims_supported: list[str] = field(default_factory=list)
    scopes_supported: list[str] = field(default_factory=list)
    error: str = ""


def _string_list(value) -> list[str]:
    if not isinstance(value, list):
        return []
    return sorted({v for v in value if isinstance(v, str) and v})


def sso_configuration_hints(*, issuer: str = "", district: District | None = None) -> Hints:
    """Provider hints plus, once `issuer` passes the discovery check, its advertised claims and scopes.

    With no `issuer`, the district's stored configuration is used (its cached discovery document when
    the issuer is unchanged). A failing check leaves the lists empty and sets `error`.
    """
    config = SSOConfiguration.objects.filter(district=district).first() if district is not None else None
    issuer = (issuer or (config.issuer if config else "")).strip()
    if not issuer:
        return Hints()
    if message := validation.issuer_error(issuer):
        return Hints(issuer=issuer, error=message)
    if config is not None and config.issuer == issuer and config.discovery.get("issuer") == issuer:
        document = config.discovery
    else:
        key = f"sso:hints:{issuer}"
        document = cache.get(key)
        if document is None:
            try:
                document = discover(issuer)
            except DiscoveryError as exc:
                return Hints(issuer=issuer, error=exc.message)
            cache.set(key, document, HINTS_CACHE_SECONDS)
    return Hints(
        issuer=issuer,
        claims_supported=_string_list(document.get("claims_supported")),
        scopes_supported=_string_list(document.get("scopes_supported")),
    )
