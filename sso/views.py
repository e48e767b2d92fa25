"""Parent sign-in and sign-out pages (thin: the flow lives in sso.oidc, writes in sso.services).

* `sso:login`    GET  <district>/login/?next=...  -> the district's provider (state, nonce, PKCE S256)
* `sso:callback` GET  callback/                  -> the district bound to the stored state
* `sso:logout`   POST <district>/logout/          -> ends the session; the provider's end_session_endpoint
                 GET  shows a confirmation form (so a plain link works without JavaScript)
* `sso:signed_out` GET <district>/signed-out/

Every failure renders `sso/error.html` (or `sso/no_account.html`) with no session; none is a 500.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib import auth
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from forms_catalog.models import District

from . import safe_http
from .models import SSOConfiguration
from .oidc import LoginFailed, NoAccount, config_settings, state_from_location
from .services import DiscoveryError, sso_discovery_refresh

logger = logging.getLogger(__name__)


def portal_home_url(slug: str) -> str:
    try:
        return reverse("parent_portal:home", kwargs={"district": slug})
    except NoReverseMatch:
        return f"/d/{slug}/"


def _district_name(slug: str | None) -> str:
    if not slug:
        return ""
    try:
        return District.objects.filter(slug=slug).values_list("name", flat=True).first() or ""
    except Exception:  # pragma: no cover - the error page must render even when the database fails
        logger.exception("SSO: could not read the district name")
        return ""


def error_page(request, *, message: str, district: str | None = None, status: int = 400,
               template: str = "sso/error.html"):
    """End any session and say what happened."""
    try:
        auth.logout(request)  # flushes the session and its cookie
    except Exception:  # pragma: no cover - a broken database must still give the parent a page
        logger.exception("SSO: could not end the session after a failed sign-in")
    from security.services import sso_sign_in_failure_record  # audit trail of sign-in failures

    sso_sign_in_failure_record(request, district_slug=district, status=status)
    context = {"message": message, "district_slug": district, "district_name": _district_name(district)}
    return render(request, template, context, status=status)


def _enabled_config(slug: str) -> SSOConfiguration | None:
    return (
        SSOConfiguration.objects.select_related("district")
        .filter(district__slug=slug, enabled=True)
        .first()
    )


@method_decorator(never_cache, name="dispatch")
class LoginView(OIDCAuthenticationRequestView):
    """Starts the authorization code flow at the district's provider."""

    http_method_names = ["get"]

    def __init__(self, **kwargs):
        # The library reads endpoints from settings in __init__; ours depend on the district.
        View.__init__(self, **kwargs)
        self.config: SSOConfiguration | None = None

    def get_settings(self, attr, *args):
        values = config_settings(self.config) if self.config is not None else {}
        if attr in values:
            return values[attr]
        return OIDCAuthenticationRequestView.get_settings(attr, *args)

    def get(self, request, district):
        config = _enabled_config(district)
        if config is None:
            return error_page(request, district=district, status=404,
                              message=_("Parent sign-in is not available for this district."))
        try:
            sso_discovery_refresh(config=config)
        except DiscoveryError as exc:
            logger.warning("SSO %s: discovery failed at sign-in: %s", district, exc.message)
            return error_page(request, district=district, status=502, message=_(
                "Your district's identity provider could not be reached. Please try again later."))
        self.config = config
        self.OIDC_OP_AUTH_ENDPOINT = config.discovery["authorization_endpoint"]
        self.OIDC_RP_CLIENT_ID = config.client_id
        response = super().get(request)
        state = state_from_location(response["Location"])
        entry = request.session["oidc_states"][state]
        entry["district"] = district
        entry["next"] = request.session.pop("oidc_login_next", None)
        request.session.modified = True
        return response


@method_decorator(never_cache, name="dispatch")
class CallbackView(OIDCAuthenticationCallbackView):
    """Completes the sign-in for the district stored with the state."""

    http_method_names = ["get"]

    def get(self, request):
        state = request.GET.get("state")
        states = request.session.get("oidc_states")
        entry = states.pop(state, None) if isinstance(states, dict) and state else None
        if entry is not None:
            request.session.modified = True
            request.session.save()  # one use only, even if what follows fails
        if not isinstance(entry, dict) or not entry.get("district"):
            logger.warning("SSO callback with an unknown or reused state")
            return error_page(request, message=_(
                "This sign-in link has expired or was already used. Please start again from your district's page."))
        slug = entry["district"]
        config = _enabled_config(slug)
        if config is None:
            return error_page(request, district=slug, status=404,
                              message=_("Parent sign-in is not available for this district."))
        if request.GET.get("error"):
            logger.info("SSO %s: provider answered error=%s", slug, request.GET.get("error")[:100])
            cancelled = request.GET.get("error") in ("access_denied", "login_required", "consent_required")
            return error_page(request, district=slug, message=_(
                "The sign-in was cancelled at your identity provider.") if cancelled else _(
                "Your identity provider could not sign you in."))
        issuer_param = request.GET.get("iss")
        if issuer_param is not None and issuer_param != config.issuer:
            logger.warning("SSO %s: callback iss parameter is another issuer", slug)
            return error_page(request, district=slug, message=_(
                "Your identity provider's answer could not be verified, so you were not signed in."))
        try:
            user = auth.authenticate(request=request, nonce=entry.get("nonce"),
                                     code_verifier=entry.get("code_verifier"), sso_config=config)
        except NoAccount as exc:
            logger.info("SSO %s: %s", slug, exc.reason)
            return error_page(request, district=slug, status=403, message=exc.message,
                              template="sso/no_account.html")
        except LoginFailed as exc:
            logger.warning("SSO %s: sign-in refused: %s", slug, exc.reason)
            return error_page(request, district=slug, message=exc.message)
        except Exception:
            logger.exception("SSO %s: unexpected error during sign-in", slug)
            return error_page(request, district=slug, message=_(
                "Something went wrong while signing you in. Please try again."))
        if user is None or not user.is_active:
            return error_page(request, district=slug, message=_(
                "Your identity provider's answer could not be verified, so you were not signed in."))
        auth.login(request, user)  # a new session key: no fixation across the sign-in
        request.session["sso_district"] = slug
        request.session["sso_issuer"] = config.issuer
        id_token = getattr(request, "_sso_id_token", None)
        if id_token:
            request.session["sso_id_token"] = id_token
        next_url = entry.get("next")
        if not next_url or not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                                               require_https=request.is_secure()):
            next_url = portal_home_url(slug)
        return HttpResponseRedirect(next_url)


login_start = LoginView.as_view()
callback = CallbackView.as_view()


@never_cache
@require_http_methods(["GET", "POST"])
def logout(request, district):
    if request.method == "GET":
        return render(request, "sso/logout_confirm.html",
                      {"district_slug": district, "district_name": _district_name(district)})
    id_token = request.session.get("sso_id_token")
    config = _enabled_config(district)
    auth.logout(request)
    signed_out = request.build_absolute_uri(reverse("sso:signed_out", kwargs={"district": district}))
    end_session = (config.discovery or {}).get("end_session_endpoint") if config else None
    if isinstance(end_session, str):
        try:
            safe_http.check_url(end_session)
        except safe_http.OutboundError:
            end_session = None
    if not end_session:
        return HttpResponseRedirect(signed_out)
    params = {"post_logout_redirect_uri": signed_out, "client_id": config.client_id}
    if id_token:
        params["id_token_hint"] = id_token
    separator = "&" if "?" in end_session else "?"
    return HttpResponseRedirect(f"{end_session}{separator}{urlencode(params)}")


@never_cache
def signed_out(request, district):
    return render(request, "sso/signed_out.html",
                  {"district_slug": district, "district_name": _district_name(district)})
