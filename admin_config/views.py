"""The district admin console: thin views over access helpers, selectors and services."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forms_catalog import rules, workspace
from forms_catalog import selectors as catalog_selectors
from forms_catalog.models import District, Submission

from . import selectors, services, throttle
from .access import (
    CONFIGURATION,
    SUBMISSION_WORKSPACE,
    access_guardian_link,
    access_submission,
    console_view,
    home_district_slug,
    is_district_staff,
)
from .forms import AvailableFormsForm, SSOConfigurationForm, WorkspaceActionForm, WorkspaceBulkForm
from .models import StaffMembership

ACTION_LABELS = {
    "import": gettext_lazy("Import"),
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Reject (with a message to the parent)"),
    "request_update": gettext_lazy("Request an update"),
    "discard": gettext_lazy("Discard"),
    "adjust_balance": gettext_lazy("Adjust the balance"),
}
STATUS_LABELS = workspace.DISPLAY_STATUS_LABELS

# --- Sign-in ---------------------------------------------------------------------------------


class ConsoleLoginView(auth_views.LoginView):
    """Django's login, with failures throttled per username and per client IP (admin_config.throttle)
    and every sign-in, failure and refusal in the audit log."""

    template_name = "admin_config/login.html"

    def _who(self) -> tuple[str, str | None]:
        return (self.request.POST.get("username") or "")[:150], services.client_ip(self.request)

    def _throttled(self):
        """The shared "too many attempts" page (429) with the time left in this lock."""
        seconds = throttle.retry_after(*self._who())
        response = render(self.request, "security/throttled.html",
                          {"retry_after": seconds, "retry_minutes": max(1, -(-seconds // 60))}, status=429)
        response["Retry-After"] = str(seconds)
        return response

    def post(self, request, *args, **kwargs):
        username, ip = self._who()
        if throttle.is_locked(username, ip):
            services.audit_record(action="auth.sign_in_refused", actor_label=username, request=request,
                                  details={"reason": "too_many_failures", "method": "password"})
            return self._throttled()
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        username, ip = self._who()
        if self.request.method == "POST":
            throttle.record_failure(username, ip)
            services.audit_record(action="auth.sign_in_failed", actor_label=username, request=self.request,
                                  details={"method": "password"})
            if throttle.is_locked(username, ip):
                return self._throttled()
        return super().form_invalid(form)

    def form_valid(self, form):
        user = form.get_user()
        throttle.clear_username(self._who()[0])
        response = super().form_valid(form)
        membership = StaffMembership.objects.filter(user=user).select_related("district").first()
        services.audit_record(action="auth.sign_in", actor=user, request=self.request,
                              district=membership.district if membership else None, details={"method": "password"})
        return response

    def get_default_redirect_url(self):
        return reverse("admin_config:home")


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "admin_config:login"

    def post(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            membership = StaffMembership.objects.filter(user=request.user).select_related("district").first()
            services.audit_record(action="auth.sign_out", request=request,
                                  district=membership.district if membership else None)
        return super().post(request, *args, **kwargs)


class ConsolePasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change: the old password, then the new one through AUTH_PASSWORD_VALIDATORS."""

    template_name = "admin_config/password_change.html"

    def get_success_url(self):
        return reverse("admin_config:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        membership = StaffMembership.objects.filter(user=self.request.user).select_related("district").first()
        services.audit_record(action="auth.password_changed", request=self.request,
                              district=membership.district if membership else None)
        messages.success(self.request, _("Your password was changed."))
        return response


def console_login_required(view):
    return login_required(view, login_url="admin_config:login")


def console_staff_required(view):
    """Signed in (else the sign-in page) and district staff or support staff (else 404, as for any
    console URL a parent or stranger tries)."""

    @console_login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (request.user.is_superuser or is_district_staff(request.user)):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@console_staff_required
def home(request):
    """`console/`: a district member goes to their district; support staff pick one."""
    slug = home_district_slug(request.user)
    if slug is not None:
        return redirect("admin_config:dashboard", district=slug)
    return render(request, "admin_config/home.html", {"districts": District.objects.order_by("name")})


@require_GET
@console_view()
def dashboard(request, access):
    return render(request, "admin_config/dashboard.html", {"access": access, "district": access.district,
                                                           "section": "dashboard"})


# --- Configuration - General -----------------------------------------------------------------


def _redirect_uri(request, district) -> str | None:
    """The parent sign-in callback URL to register at the identity provider."""
    for kwargs in ({}, {"district": district.slug}):
        try:
            return request.build_absolute_uri(reverse("sso:callback", kwargs=kwargs or None))
        except NoReverseMatch:
            continue
    return None


def _sso_config(district):
    from sso.models import SSOConfiguration

    return SSOConfiguration.objects.filter(district=district).first()


def _sso_context(request, access, **extra):
    return {
        "access": access,
        "district": access.district,
        "tab": "sso",
        "section": "configuration",
        "config": _sso_config(access.district),
        "redirect_uri": _redirect_uri(request, access.district),
        **extra,
    }


@require_GET
@console_view(CONFIGURATION)
def configuration(request, access):
    return redirect("admin_config:config_sso", district=access.district.slug)


@require_GET
@console_view(CONFIGURATION)
def config_sso(request, access):
    return render(request, "admin_config/config_sso.html", _sso_context(request, access))


@require_http_methods(["GET", "POST"])
@console_view(CONFIGURATION)
def config_sso_edit(request, access):
    from sso import services as sso_services

    config = _sso_config(access.district)
    if request.method == "POST":
        form = SSOConfigurationForm(request.POST)
        if form.is_valid():
            outcome = services.sso_configuration_update(
                district=access.district, values=form.cleaned_data, user=request.user, request=request
            )
            if not outcome.errors:
                messages.success(request, _("The SSO configuration was saved.") if outcome.saved
                                 else _("Nothing changed."))
                return redirect("admin_config:config_sso", district=access.district.slug)
            for name, message in outcome.errors.items():
                form.add_error(name if name in form.fields else None, message)
    else:
        initial = {name: getattr(config, name) for name in ("enabled", "issuer", "client_id",
                                                             "global_identifier_claim", "scopes")} if config else {}
        form = SSOConfigurationForm(initial=initial or {"scopes": "openid"})
    hints = sso_services.sso_configuration_hints(
        issuer=(form.data.get("issuer") if form.is_bound else "") or "", district=access.district
    )
    return render(request, "admin_config/config_sso_edit.html",
                  _sso_context(request, access, form=form, config=config, hints=hints))


@require_http_methods(["GET", "POST"])
@console_view(CONFIGURATION)
def config_available_forms(request, access):
    district = access.district
    rows = selectors.available_forms_rows(district=district)
    if request.method == "POST":
        form = AvailableFormsForm(request.POST, selectable=rows)
        if form.is_valid():
            try:
                changed = services.available_forms_update(
                    district=district, mode=form.cleaned_data["mode"], form_ids=form.cleaned_data["forms"],
                    user=request.user, request=request,
                )
            except ValueError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Available Forms was saved.") if changed else _("Nothing changed."))
                return redirect("admin_config:config_available_forms", district=district.slug)
    else:
        form = AvailableFormsForm(
            initial={"mode": district.available_forms_mode, "forms": [r.id for r in rows if r.selected]},
            selectable=rows,
        )
    chosen = {str(v) for v in (form["forms"].value() or [])}
    return render(request, "admin_config/config_available_forms.html", {
        "access": access, "district": district, "tab": "available_forms", "form": form, "section": "configuration",
        "rows": rows, "chosen": chosen, "now": timezone.now(),
        "modes": District.AvailableForms.choices, "mode": form["mode"].value(),
    })


# --- Audit log -------------------------------------------------------------------------------


@require_GET
@console_view(CONFIGURATION)
def audit_log(request, access):
    filters = selectors.AuditFilters.from_query(request.GET)
    page = selectors.audit_page(district=access.district, filters=filters, cursor=request.GET.get("after"))
    query = {k: v for k, v in request.GET.items() if k != "after" and v}
    return render(request, "admin_config/audit_log.html", {
        "access": access, "district": access.district, "page": page, "filters": filters, "section": "audit",
        "action_groups": selectors.AUDIT_ACTION_GROUPS,
        "actions": selectors.AUDIT_ACTIONS,
        "next_query": urlencode({**query, "after": page.next_cursor}) if page.next_cursor else "",
        "first_query": urlencode(query),
    })


# --- Parent view preview ---------------------------------------------------------------------


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _instant(text):
    """An ISO 8601 date or date-time (UTC when no offset is given), else None."""
    from django.core.management import CommandError

    from forms_catalog.management.commands.portal_forms import parse_instant

    if not text:
        return None
    try:
        return parse_instant(text.strip())
    except CommandError:
        return None


@require_GET
@console_view(CONFIGURATION)
def preview(request, access):
    """What a guardian sees for a student: the portal's own view model, plus every hidden form and why."""
    district = access.district
    text = (request.GET.get("q") or "").strip()
    guardian_id, student_id = _int(request.GET.get("guardian")), _int(request.GET.get("student"))
    context = {"access": access, "district": district, "section": "preview", "q": text, "matches": [], "guardian": None,
               "links": [], "link": None, "view": None, "reasons": rules.HIDDEN_REASONS}
    if text:
        context["matches"] = selectors.guardians_matching(district=district, text=text)
    if guardian_id:
        guardian = selectors.guardian_of_district(district=district, guardian_id=guardian_id)
        if guardian is None:
            raise Http404
        context["guardian"] = guardian
        context["links"] = selectors.guardian_links(guardian=guardian)
        if student_id:
            link = access_guardian_link(access, guardian_id=guardian_id, student_id=student_id)
            context["link"] = link
            context["at"] = at = _instant(request.GET.get("at"))
            if request.GET.get("at") and at is None:
                messages.error(request, _("“At” is not a date and time; showing the portal as of now."))
            context["view"] = catalog_selectors.portal_view(link=link, now=at, explain=True)
    return render(request, "admin_config/preview.html", context)


# --- Submission Workspace --------------------------------------------------------------------


@require_GET
@console_view(SUBMISSION_WORKSPACE)
def workspace_list(request, access):
    filters = selectors.WorkspaceFilters.from_query(request.GET)
    page = selectors.workspace_page(district=access.district, filters=filters, cursor=request.GET.get("after"))
    query = {k: v for k, v in request.GET.items() if k != "after" and v}
    return render(request, "admin_config/workspace_list.html", {
        "access": access, "district": access.district, "page": page, "filters": filters,
        "forms": selectors.district_forms(district=access.district),
        "section": "workspace",
        "status_labels": STATUS_LABELS,
        "states": Submission.Workspace.choices,
        "action_labels": ACTION_LABELS,
        "next_query": urlencode({**query, "after": page.next_cursor}) if page.next_cursor else "",
        "first_query": urlencode(query),
        "current_query": request.GET.urlencode(),
    })


def _back_to_list(request, access):
    back = request.POST.get("back") or ""
    url = reverse("admin_config:workspace", kwargs={"district": access.district.slug})
    return redirect(f"{url}?{back}" if back and "//" not in back else url)


@require_POST
@console_view(SUBMISSION_WORKSPACE)
def workspace_bulk(request, access):
    form = WorkspaceBulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an action and at least one submission."))
        return _back_to_list(request, access)
    data = form.cleaned_data
    try:
        done = workspace.submissions_bulk_apply(
            district=access.district, submission_ids=data["selected"], action=data["action"], user=request.user,
            request=request, message=data["message"], amount=data["amount"], reason=data["reason"],
        )
    except workspace.BulkRefused as exc:
        messages.error(request, exc.message)
        for error in exc.errors:
            messages.error(request, error.message)
    except workspace.WorkspaceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(count)d submissions updated.") % {"count": len(done)})
    return _back_to_list(request, access)


@require_GET
@console_view(SUBMISSION_WORKSPACE)
def workspace_detail(request, access, submission_id):
    submission = access_submission(access, submission_id=submission_id)
    available = [a for a in workspace.ACTIONS if workspace.refusal(a, submission) is None]
    return render(request, "admin_config/workspace_detail.html", {
        "access": access, "district": access.district, "submission": submission,
        "display_status": rules.display_status(submission.form, submission),
        "section": "workspace", "action_labels": ACTION_LABELS,
        "available": available,
        "ledger": selectors.submission_ledger(submission=submission),
        "events": selectors.object_audit(district=access.district, obj=submission),
    })


SINGLE_ACTIONS = {
    "import": lambda s, d, **kw: workspace.submission_import(submission=s, **kw),
    "approve": lambda s, d, **kw: workspace.submission_approve(submission=s, **kw),
    "reject": lambda s, d, **kw: workspace.submission_reject(submission=s, message=d["message"], **kw),
    "request_update": lambda s, d, **kw: workspace.submission_request_update(submission=s, message=d["message"],
                                                                             **kw),
    "discard": lambda s, d, **kw: workspace.submission_discard(submission=s, **kw),
    "adjust_balance": lambda s, d, **kw: workspace.submission_balance_adjust(
        submission=s, amount=d["amount"], reason=d["reason"], **kw),
}


@require_POST
@console_view(SUBMISSION_WORKSPACE)
def workspace_action(request, access, submission_id):
    submission = access_submission(access, submission_id=submission_id)
    form = WorkspaceActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an action."))
    else:
        try:
            SINGLE_ACTIONS[form.cleaned_data["action"]](submission, form.cleaned_data, user=request.user,
                                                         request=request)
        except workspace.WorkspaceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Done."))
    return redirect("admin_config:workspace_detail", district=access.district.slug, submission_id=submission.pk)
