"""R11: validation of a parent SSO configuration, with field-level messages.

`static_errors` holds the rules that need no network (used by `load_scenario` too).
"""

from __future__ import annotations

from urllib.parse import urlsplit

REQUIRED_WHEN_ENABLED = {
    "issuer": "Issuer URL",
    "client_id": "Client ID",
    "client_secret": "Client Secret",
    "global_identifier_claim": "Global Identifier Claim",
    "scopes": "Scopes",
}


def issuer_error(issuer: str) -> str | None:
    if not issuer:
        return None
    try:
        parts = urlsplit(issuer)
    except ValueError:
        return "Enter a valid URL."
    if not parts.scheme or not parts.netloc or not parts.hostname or " " in issuer:
        return "Enter a valid URL."
    if parts.scheme != "https":
        return "The Issuer URL must use https."
    return None


def static_errors(*, enabled: bool, issuer: str, client_id: str, client_secret: str,
                  global_identifier_claim: str, scopes: str) -> dict[str, str]:
    """Field -> message for every R11 rule that needs no network."""
    values = {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "global_identifier_claim": global_identifier_claim,
        "scopes": scopes,
    }
    errors: dict[str, str] = {}
    if message := issuer_error(issuer.strip()):
        errors["issuer"] = message
    if enabled:
        for field, label in REQUIRED_WHEN_ENABLED.items():
            if not (values[field] or "").strip() and field not in errors:
                errors[field] = f"{label} is required when Parent SSO is enabled."
    return errors
