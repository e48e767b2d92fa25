"""Sign-in signal receivers: index the new HTTP session, stamp its start, and audit the event.

No domain writes happen here beyond calling the services of this app (the index and the audit log).
"""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from enrollment_hub.security import AUTH_AT_KEY, END_REASON_ATTR, SEEN_AT_KEY

from . import services


@receiver(user_logged_in, dispatch_uid="security.signed_in")
def signed_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    now = int(time.time())
    request.session[AUTH_AT_KEY] = now
    request.session[SEEN_AT_KEY] = now
    if request.session.session_key is None:
        request.session.save()
    services.user_session_record(
        user=user,
        session_key=request.session.session_key,
        ip=services.client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    if _self_audited(request):
        return
    services.security_event_record(
        action="auth.sign_in",
        user=user,
        request=request,
        details={"method": _method(request, user)},
    )


@receiver(user_logged_out, dispatch_uid="security.signed_out")
def signed_out(sender, request, user, **kwargs):
    if request is None:
        return
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    services.user_session_forget(session_key=session_key)
    if user is not None and not _self_audited(request):
        reason = getattr(request, END_REASON_ATTR, None) or "signed_out"
        services.security_event_record(
            action="auth.sign_out", user=user, request=request, details={"reason": reason}
        )


@receiver(user_login_failed, dispatch_uid="security.sign_in_failed")
def sign_in_failed(sender, credentials, request=None, **kwargs):
    """A failed password sign-in (Django's login form and admin). `credentials` is already cleansed."""
    from django.contrib.auth import get_user_model

    if request is not None and _self_audited(request):
        return
    username = str((credentials or {}).get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first() if username else None
    reason = "unknown_account" if user is None else ("account_inactive" if not user.is_active
                                                      else "invalid_credentials")
    services.security_event_record(
        action="auth.sign_in_failed",
        user=user,
        actor=user,
        actor_label=username,
        request=request,
        details={"method": "password", "reason": reason, "username": username},
    )


# The admin console's sign-in views record their own sign-in, failure, refusal and sign-out events
# (admin_config.views); events from there are not recorded a second time here.
SELF_AUDITING_NAMESPACES = ("admin_config",)


def _self_audited(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.namespace in SELF_AUDITING_NAMESPACES


@receiver(post_save, sender="sso.SSOConfiguration", dispatch_uid="security.sso_saved")
@receiver(post_delete, sender="sso.SSOConfiguration", dispatch_uid="security.sso_deleted")
def sso_configuration_changed(sender, instance, **kwargs):
    """A district's identity provider changed: its pages' form-action origins are recomputed."""
    from enrollment_hub.security import forget_sso_form_action_origins

    slug = instance.district.slug
    forget_sso_form_action_origins(slug)
    transaction.on_commit(lambda: forget_sso_form_action_origins(slug))


def _method(request, user) -> str:
    backend = getattr(user, "backend", "") or ""
    return "sso" if "oidc" in backend.lower() or "sso" in backend.lower() else "password"
