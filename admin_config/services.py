"""Writes of the admin console: the audit log, staff roles, and the configuration changes it audits.

`audit_record` is the one way to write an `AuditEvent`; any app may call it (configuration changes,
Submission Workspace actions, security events such as sign-in failures, role changes, exports).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from forms_catalog import services as catalog_services
from forms_catalog.models import District, Form

from .models import AuditEvent, StaffMembership

REDACTED = "[redacted]"
# A key containing one of these words never has its value stored in the audit log.
SECRET_WORDS = ("secret", "password", "token", "credential", "private_key", "api_key")


def is_secret_key(key: str) -> bool:
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_WORDS)


def redact(value):
    """A JSON-ready copy of `value` with the value of every secret-named key replaced."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if is_secret_key(key):
                out[str(key)] = _redacted_change(item)
            else:
                out[str(key)] = redact(item)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _redacted_change(item):
    # Keep the shape of a change ({"old": ..., "new": ...}) but never the values; say only set / empty.
    if isinstance(item, Mapping) and set(item) <= {"old", "new"}:
        return {k: (REDACTED if v else "") for k, v in item.items()}
    return REDACTED if item else ""


def changes_between(old: Mapping, new: Mapping) -> dict:
    """{field: {"old": a, "new": b}} for every field whose value differs (keys of either mapping)."""
    out = {}
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if a != b:
            out[key] = {"old": a, "new": b}
    return out


def client_ip(request) -> str | None:
    """The client's address as the throttles see it (honours THROTTLE_TRUSTED_PROXIES), or None."""
    import ipaddress

    from enrollment_hub.throttle import client_address

    if request is None:
        return None
    try:
        return str(ipaddress.ip_address(client_address(request)))
    except ValueError:
        return None


def audit_record(
    *,
    action: str,
    actor=None,
    district: District | None = None,
    obj=None,
    object_type: str = "",
    object_id: str | int = "",
    object_label: str = "",
    changes: Mapping | None = None,
    details: Mapping | None = None,
    request=None,
    ip: str | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Record one event. `obj` (a model instance) fills object type, id and label.

    With `request`, the actor defaults to the signed-in user and the IP to the client address.
    `changes` and `details` are stored redacted (see `SECRET_WORDS`).
    """
    if request is not None:
        if actor is None and getattr(request.user, "is_authenticated", False):
            actor = request.user
        ip = ip or client_ip(request)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        object_label = object_label or str(obj)
    event = AuditEvent(
        district=district,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=(actor_label or (actor.get_username() if getattr(actor, "pk", None) else ""))[:150],
        at=timezone.now(),
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        object_label=str(object_label)[:255],
        changes=redact(dict(changes or {})),
        details=redact(dict(details or {})),
        ip=ip,
    )
    event.full_clean()
    event.save()
    return event


# --- Staff and roles -------------------------------------------------------------------------


def _membership_values(membership: StaffMembership) -> dict:
    return {
        "district": membership.district.slug if membership.district_id else None,
        "configuration": membership.configuration,
        "submission_workspace": membership.submission_workspace,
        "active": membership.active,
    }


@transaction.atomic
def staff_membership_set(
    *, user, district: District, configuration: bool = False, submission_workspace: bool = False,
    active: bool = True, by=None, request=None,
) -> tuple[StaffMembership, bool]:
    """Make `user` staff of `district` with these roles (a staff account belongs to one district)."""
    membership = StaffMembership.objects.select_for_update().filter(user=user).first()
    creating = membership is None
    old = {} if creating else _membership_values(membership)
    if creating:
        membership = StaffMembership(user=user)
    membership.district = district
    membership.configuration = configuration
    membership.submission_workspace = submission_workspace
    membership.active = active
    new = _membership_values(membership)
    changes = changes_between(old, new)
    if not changes:
        return membership, False
    membership.full_clean()
    if creating:
        membership.save()
    else:
        membership.save(update_fields=["district", "configuration", "submission_workspace", "active"])
    audit_record(
        action="staff.membership_created" if creating else "staff.roles_changed",
        actor=by, district=district, obj=membership, changes=changes, request=request,
    )
    return membership, True


@transaction.atomic
def staff_membership_remove(*, membership: StaffMembership, by=None, request=None) -> None:
    audit_record(
        action="staff.membership_removed", actor=by, district=membership.district, obj=membership,
        changes=changes_between(_membership_values(membership), {}), request=request,
    )
    membership.delete()


# --- Configuration changes -------------------------------------------------------------------


def available_forms_state(district: District) -> dict:
    selected = sorted(
        Form.objects.filter(district=district, in_available_selection=True).values_list("key", flat=True)
    )
    return {"mode": district.available_forms_mode, "selection": selected}


@transaction.atomic
def available_forms_update(*, district: District, mode: str, form_ids: Iterable[int], user, request=None) -> bool:
    """R4: save the Available Forms setting and selection through the domain service, audited."""
    district = District.objects.select_for_update().get(pk=district.pk)
    old = available_forms_state(district)
    changed = catalog_services.available_forms_set(district=district, mode=mode, form_ids=list(form_ids))
    if changed:
        new = available_forms_state(district)
        audit_record(
            action="configuration.available_forms_saved", actor=user, district=district,
            object_type="forms_catalog.district", object_id=district.pk, object_label=str(district),
            changes=changes_between(old, new), request=request,
        )
    return changed


@dataclass
class SSOSaveOutcome:
    saved: bool
    errors: dict[str, str] = field(default_factory=dict)
    config: object = None


SSO_FIELDS = ("enabled", "issuer", "client_id", "client_secret", "global_identifier_claim", "scopes")


def sso_state(config) -> dict:
    """The audited view of an SSO configuration: the secret only as set / not set."""
    if config is None:
        return {}
    return {
        "enabled": config.enabled,
        "issuer": config.issuer,
        "client_id": config.client_id,
        "client_secret": "set" if config.has_client_secret else "",
        "client_secret_fingerprint": _secret_fingerprint(config),
        "global_identifier_claim": config.global_identifier_claim,
        "scopes": config.scopes,
    }


def _secret_fingerprint(config) -> str:
    # Changes whenever a new secret is stored, without revealing it; never shown, only compared.
    import hashlib

    return hashlib.sha256(config.client_secret_encrypted.encode()).hexdigest()[:16] if config.has_client_secret else ""


@transaction.atomic
def sso_configuration_update(*, district: District, values: Mapping, user, request=None) -> SSOSaveOutcome:
    """R11: validate and save the district's parent SSO configuration (the SSO app's service), audited."""
    from sso import services as sso_services
    from sso.models import SSOConfiguration

    before = sso_state(SSOConfiguration.objects.filter(district=district).first())
    result = sso_services.sso_configuration_save(district=district, values=dict(values), user=user)
    outcome = SSOSaveOutcome(saved=bool(result.saved), errors=dict(result.errors or {}), config=result.config)
    if outcome.saved:
        after = sso_state(SSOConfiguration.objects.filter(district=district).first())
        changes = changes_between(before, after)
        secret_changed = changes.pop("client_secret_fingerprint", None) is not None
        changes.pop("client_secret", None)
        if secret_changed:
            changes["client_secret"] = {"old": bool(before.get("client_secret")), "new": True}
        if changes:
            audit_record(
                action="configuration.sso_saved", actor=user, district=district,
                object_type="sso.ssoconfiguration", object_id=getattr(result.config, "pk", "") or "",
                object_label=f"SSO for {district}", changes=changes, request=request,
            )
    return outcome


# --- Support staff's changes in Django admin -------------------------------------------------

DISTRICT_AUDITED_FIELDS = ("name", "environment", "has_enrollment", "has_express", "mypowerhub_enabled")
FORM_AUDITED_FIELDS = ("name", "type", "student_type", "status", "opens_at", "closes_at", "academic_year",
                       "approval_status", "packet_id")


def district_state(district: District | None) -> dict:
    """The audited view of a district's settings: products, environment, integration, Available Forms."""
    if district is None or district.pk is None:
        return {}
    fresh = District.objects.get(pk=district.pk)
    return {**{f: getattr(fresh, f) for f in DISTRICT_AUDITED_FIELDS}, **available_forms_state(fresh)}


def form_state(form: Form | None) -> dict:
    if form is None or form.pk is None:
        return {}
    fresh = Form.objects.get(pk=form.pk)
    return {f: getattr(fresh, f) for f in FORM_AUDITED_FIELDS}


def audit_state_change(*, action: str, before: Mapping, after: Mapping, district: District | None, obj,
                       request=None, actor=None) -> AuditEvent | None:
    """Record `action` with the fields that differ between two states; nothing when none does."""
    changes = changes_between(before, after)
    if not changes:
        return None
    return audit_record(action=action, actor=actor, district=district, obj=obj, changes=changes, request=request)
