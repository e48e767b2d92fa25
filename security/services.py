"""Writes about sign-ins: the per-user index of live HTTP sessions, ending them, and the security
events of the audit log (sign-ins, failures with their reason, sign-outs)."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import UserSession

logger = logging.getLogger(__name__)


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def district_of(user):
    """The district a user acts in: the guardian's district, or the staff member's; else None."""
    if user is None or not getattr(user, "pk", None):
        return None
    from django.core.exceptions import ObjectDoesNotExist

    for attr in ("guardian", "staff_membership"):
        try:
            related = getattr(user, attr, None)
        except ObjectDoesNotExist:  # not a guardian / not district staff
            related = None
        if related is not None:
            return related.district
    return None


def client_address(request) -> str | None:
    """The client's address as the audit log records it (see `admin_config.services.client_ip`)."""
    from admin_config.services import client_ip

    return client_ip(request)


@transaction.atomic
def user_session_record(*, user, session_key: str, ip: str | None = None, user_agent: str = "") -> UserSession:
    """Index a new sign-in; drops this user's rows older than the absolute lifetime (those are dead)."""
    now = timezone.now()
    UserSession.objects.filter(
        user=user, created_at__lt=now - timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME)
    ).delete()
    row = UserSession.objects.filter(session_key=session_key).first() or UserSession(session_key=session_key)
    row.user = user
    row.created_at = now
    row.ip_address = ip
    row.user_agent = (user_agent or "")[:300]
    row.full_clean(validate_unique=False)
    row.save()
    return row


@transaction.atomic
def user_session_forget(*, session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def user_sessions_end(*, user, actor=None, request=None) -> int:
    """End every sign-in of `user` server-side (their next request is signed out). Returns how many."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    store = _session_store()
    model = store.get_model_class() if hasattr(store, "get_model_class") else None
    if model is not None:  # database-backed sessions: one DELETE by key, however many sign-ins
        model.objects.filter(session_key__in=keys).delete()
    else:
        for key in keys:
            store(session_key=key).delete()
    UserSession.objects.filter(user=user).delete()
    security_event_record(
        action="auth.sessions_ended",
        user=user,
        actor=actor,
        request=request,
        details={"count": len(keys)},
    )
    return len(keys)


def security_event_record(*, action: str, user=None, actor=None, request=None, district=None,
                          actor_label: str = "", details: dict | None = None) -> None:
    """An audit event about sign-in security; the event is about `user` (by default also its actor)."""
    from admin_config.services import audit_record

    actor = actor if actor is not None else user
    if district is None:
        district = district_of(user) or district_of(actor)
    try:
        with transaction.atomic():  # a savepoint: a failed write leaves the caller's transaction usable
            audit_record(
                action=action,
                actor=actor,
                actor_label=actor_label,
                district=district,
                obj=user if getattr(user, "pk", None) else None,
                details=details or {},
                ip=client_address(request),
            )
    except Exception:
        # The event must not turn a sign-in or sign-out into an error page; it is logged instead.
        logger.exception("could not record security event %s", action)


def sso_sign_in_failure_record(request, *, district_slug: str | None, status: int) -> None:
    """Audit a parent sign-in that ended on an error page. Called where the SSO views render failures;
    the reason comes from the exception being handled (the flow's `LoginFailed.reason`), else the status."""
    import sys

    from forms_catalog.models import District

    exc = sys.exc_info()[1]
    reason = getattr(exc, "reason", None) or {
        404: "sso_not_enabled",
        502: "provider_unreachable",
        403: "no_matching_account",
    }.get(status, "invalid_or_expired_response")
    match = getattr(request, "resolver_match", None)
    district = District.objects.filter(slug=district_slug).first() if district_slug else None
    security_event_record(
        action="auth.sign_in_failed",
        request=request,
        district=district,
        details={"method": "sso", "reason": str(reason)[:300], "status": status,
                 "step": match.url_name if match is not None else ""},
    )
