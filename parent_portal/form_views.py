"""The form tab (R9, R10). Every view checks access first: a restricted guardian or a stranger gets 404.

Views parse input, call an access helper, a selector or a service, and render; the rules engine
decides what a guardian may open (R3) and with which status and actions (R5, R9).
"""

from __future__ import annotations

import uuid
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from forms_catalog.access import access_student_link, access_submission, guardian_for_user
from forms_catalog.form_definitions import definition_for
from forms_catalog.models import Form, GuardianStudent, Submission

from .form_runtime import payments, presentation, selectors, services
from .form_runtime.fields import clean_page, missing_answers
from .form_runtime.forms import PaymentForm


def form_tab_view(view):
    """Signed-out visitors go to the district's parent sign-in, then back here; pages are never cached
    (they hold a student's answers, and a page from the browser's cache would be a stale version)."""

    @wraps(view)
    def wrapper(request, district, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("sso:login", kwargs={"district": district}))
        return view(request, district, *args, **kwargs)

    return never_cache(wrapper)


def _url(name: str, district: str, submission: Submission, **kwargs) -> str:
    return reverse(f"parent_portal:{name}", kwargs={"district": district, "submission_id": submission.pk, **kwargs})


def _page_url(district: str, submission: Submission, number: int) -> str:
    if number == 0:
        return _url("form_instructions", district, submission)
    return _url("form_page", district, submission, page=number)


def _access(request, district: str, submission_id: int):
    """The submission, the guardian's link and the rules' state of it; 404 unless the portal shows it (R3, R8)."""
    submission, link = access_submission(request.user, district_slug=district, submission_id=submission_id)
    state = selectors.submission_state(link=link, submission=submission)
    if not state.shown:
        raise Http404
    return submission, link, state


def _tab_context(request, link: GuardianStudent, form: Form, token: str | None) -> dict:
    district = link.student.district
    timeout = settings.FORM_LOCK_TIMEOUT
    return {
        "district": district,
        "student": link.student,
        "guardian": link.guardian,
        "form": form,
        "portal_url": presentation.portal_url(district.slug, link.student_id),
        "lock": {
            "token": token,
            "form": form.pk,
            "student": link.student_id,
            "heartbeat_url": reverse("parent_portal:form_lock_heartbeat", kwargs={"district": district.slug}),
            "release_url": reverse("parent_portal:form_lock_release", kwargs={"district": district.slug}),
            "interval_ms": max(250, timeout * 1000 // 4),
        } if token else None,
    }


def _open_tab(request, link: GuardianStudent, form: Form):
    """R9: take this guardian's one open-form lock; (token, None) or (None, the Cannot Open Another Form page)."""
    token = services.new_lock_token()
    result = services.form_lock_acquire(guardian=link.guardian, form=form, student=link.student, token=token)
    if result.granted:
        return token, None
    context = _tab_context(request, link, form, None)
    context.update({"held_form": result.held_form, "held_student": result.held_student,
                    "timeout_minutes": max(1, round(settings.FORM_LOCK_TIMEOUT / 60))})
    return None, render(request, "parent_portal/form_tab/cannot_open.html", context, status=409)


def _keep_tab(link: GuardianStudent, form: Form) -> str | None:
    """A page shown again after a POST (errors, R10) keeps the lock under a new token when it can;
    the answers are shown either way."""
    token = services.new_lock_token()
    granted = services.form_lock_acquire(guardian=link.guardian, form=form, student=link.student, token=token)
    return token if granted.granted else None


# --- Start / continue ------------------------------------------------------------------------


@form_tab_view
@require_safe
def start(request, district, student_id, form_id):
    """R9 `not_started`: create the in-progress submission (once) and open its initial page."""
    link = access_student_link(request.user, district_slug=district, student_id=student_id)
    form = selectors.access_form(link=link, form_id=form_id)
    if not selectors.form_decision(link=link, form=form, now=timezone.now()).shown:
        raise Http404  # R3: the portal does not show this form, so it cannot be started (nor locked)
    _token, refused = _open_tab(request, link, form)
    if refused:
        return refused
    try:
        submission, created = services.submission_start(link=link, form=form)
    except services.FormNotAvailable:
        raise Http404 from None
    if not created:
        return redirect(_url("form_continue", district, submission))
    return redirect(_page_url(district, submission, services.initial_page(form)))


@form_tab_view
@require_safe
def continue_form(request, district, submission_id):
    """R9 `started`: the last saved page; a submitted form opens on its confirmation page."""
    submission, _link, _state = _access(request, district, submission_id)
    if not services.is_editable(submission):
        return redirect(_url("form_confirmation", district, submission))
    # A definition edited since the last save may have fewer pages now.
    last = min(submission.last_page, definition_for(submission.form).page_count)
    return redirect(_page_url(district, submission, last))


@form_tab_view
@require_safe
def instructions(request, district, submission_id):
    submission, link, _state = _access(request, district, submission_id)
    if not services.is_editable(submission):
        return redirect(_url("form_confirmation", district, submission))
    token, refused = _open_tab(request, link, submission.form)
    if refused:
        return refused
    definition = definition_for(submission.form)
    context = _tab_context(request, link, submission.form, token)
    context.update({"submission": submission, "definition": definition,
                    "first_page_url": _page_url(district, submission, 1)})
    return render(request, "parent_portal/form_tab/instructions.html", context)


# --- Pages ------------------------------------------------------------------------------------


def _render_page(request, link, submission, definition, number, token, *, typed=None, errors=None, stale=False,
                 version=None, status=200):
    district = link.student.district.slug
    page = definition.page(number)
    context = _tab_context(request, link, submission.form, token)
    has_back = number > 1 or services.initial_page(submission.form) == 0
    context.update({
        "submission": submission,
        "page": page,
        "page_count": definition.page_count,
        "is_last": number == definition.page_count,
        "has_back": has_back,
        "fields": presentation.field_views(page, submission.answers or {}, typed=typed, errors=errors, stale=stale),
        "errors": errors or {},
        "stale": stale,
        "version": version if version is not None else submission.version,
        "multipart": definition.has_files(number),
        "updating": submission.status == Submission.Status.SUBMITTED,
        "action_url": _page_url(district, submission, number),
    })
    return render(request, "parent_portal/form_tab/page.html", context, status=status)


@form_tab_view
@require_http_methods(["GET", "HEAD", "POST"])
def page(request, district, submission_id, page):
    submission, link, _state = _access(request, district, submission_id)
    if not services.is_editable(submission):
        return redirect(_url("form_confirmation", district, submission))
    definition = definition_for(submission.form)
    if not 1 <= page <= definition.page_count:
        raise Http404
    if request.method != "POST":
        token, refused = _open_tab(request, link, submission.form)
        if refused:
            return refused
        errors = None
        if request.GET.get("check"):  # Submit found this page incomplete
            errors = missing_answers(definition.page(page), submission.answers or {})
        return _render_page(request, link, submission, definition, page, token, errors=errors)
    return _save_page(request, district, link, submission, definition, page)


def _save_page(request, district, link, submission, definition, number):
    action = request.POST.get("action", "save")
    try:
        base_version = int(request.POST.get("version", ""))
    except ValueError:
        return HttpResponseBadRequest("version")
    if action == "back":
        target = number - 1 if number > 1 else services.initial_page(submission.form)
    elif action == "submit":
        target = number
    else:
        target = min(number + 1, definition.page_count)
    try:
        saved = services.submission_save_page(
            submission=submission, definition=definition, page=number, data=request.POST, files=request.FILES,
            base_version=base_version, next_page=max(target, 1), require=action != "back",
        )
    except services.NotEditable:
        return redirect(_url("form_confirmation", district, submission))
    except services.PageInvalid as exc:
        return _render_page(request, link, submission, definition, number, _keep_tab(link, submission.form),
                            typed=exc.result.typed,
                            errors=exc.result.errors, version=base_version)
    except services.StaleVersion as exc:
        # R10: another guardian saved first. Nothing was saved; what was typed is shown again over the
        # new version, so saving again is a deliberate choice.
        submission.refresh_from_db()
        result_typed = _typed(definition.page(number), request)
        return _render_page(request, link, submission, definition, number, _keep_tab(link, submission.form),
                            typed=result_typed, stale=True,
                            version=exc.current_version, status=409)
    if action == "submit":
        try:
            services.submission_submit(submission=saved, guardian=link.guardian, definition=definition,
                                       base_version=saved.version)
        except services.NotEditable:
            return redirect(_url("form_confirmation", district, submission))
        except services.SubmitIncomplete as exc:
            messages.error(request, _("Some answers are missing. Complete the marked fields, then submit again."))
            return redirect(f"{_page_url(district, submission, exc.page)}?check=1")
        messages.success(request, _("Your form was submitted."))
        return redirect(_url("form_confirmation", district, submission))
    if action == "save" and number == definition.page_count:
        messages.success(request, _("Your answers were saved."))
    return redirect(_page_url(district, submission, target))


def _typed(page_def, request) -> dict:
    return clean_page(page_def, request.POST, {}, {}, timezone.localdate()).typed


# --- Confirmation, payment, update ---------------------------------------------------------------


@form_tab_view
@require_safe
def confirmation(request, district, submission_id):
    """R9 submitted forms: status, times, balance, a read-only summary, and the Pay / Edit actions."""
    submission, link, state = _access(request, district, submission_id)
    if services.is_editable(submission) and submission.status == Submission.Status.IN_PROGRESS:
        return redirect(_url("form_continue", district, submission))
    token, refused = _open_tab(request, link, submission.form)
    if refused:
        return refused
    definition = definition_for(submission.form)
    context = _tab_context(request, link, submission.form, token)
    context.update({
        "submission": submission,
        "state": state,
        "summary": presentation.answer_summary(definition, selectors.submitted_answers(submission)),
        "pay_url": _url("form_pay", district, submission) if "pay_balance" in state.actions else None,
        "edit_url": _url("form_edit", district, submission) if "edit_form" in state.actions else None,
        "review_message": getattr(submission, "review_message", ""),
    })
    return render(request, "parent_portal/form_tab/confirmation.html", context)


@form_tab_view
@require_http_methods(["GET", "HEAD", "POST"])
def pay(request, district, submission_id):
    """R9 pay_balance: the Payment page; a payment goes through the configured gateway."""
    submission, link, state = _access(request, district, submission_id)
    if submission.status != Submission.Status.SUBMITTED:
        return redirect(_url("form_continue", district, submission))
    if request.method != "POST":
        token, refused = _open_tab(request, link, submission.form)
        if refused:
            return refused
    else:
        token = _keep_tab(link, submission.form)
    payable = "pay_balance" in state.actions
    form = PaymentForm(request.POST or None, balance=submission.balance)
    error = ""
    if request.method == "POST" and payable and form.is_valid():
        try:
            outcome = services.payment_make(
                submission=submission, amount=form.cleaned_data["amount"], card=form.card(),
                idempotency_key=str(form.cleaned_data["key"]), user=request.user,
            )
        except services.PaymentRefused as exc:
            error = exc.message
            # The gateway remembers a key's result: another try is another payment attempt, with a new key.
            retry = request.POST.copy()
            retry["key"] = str(uuid.uuid4())
            form = PaymentForm(retry, balance=submission.balance)
            form.is_valid()
        else:
            messages.success(request, _("Thank you. Your payment of $%(amount)s was received.")
                             % {"amount": f"{-outcome.entry.amount:.2f}"})
            return redirect(_url("form_confirmation", district, submission))
    context = _tab_context(request, link, submission.form, token)
    context.update({"submission": submission, "payable": payable, "payment_form": form, "error": error,
                    "sandbox": getattr(payments.get_gateway(), "is_sandbox", False),
                    "confirmation_url": _url("form_confirmation", district, submission)})
    return render(request, "parent_portal/form_tab/pay.html", context, status=200 if not error else 402)


@form_tab_view
@require_safe
def edit(request, district, submission_id):
    """R9 edit_form: start an update from the submitted answers and open the first page."""
    submission, _link, state = _access(request, district, submission_id)
    if "edit_form" not in state.actions:
        return redirect(_url("form_confirmation", district, submission))
    services.submission_update_start(submission=submission)
    return redirect(_page_url(district, submission, 1))


# --- The one open form (R9): heartbeat and release ----------------------------------------------


@form_tab_view
@require_POST
def lock_heartbeat(request, district):
    """The tab is in use: keep (or take back) this guardian's open-form lock. 204, or 409 when refused."""
    try:
        student_id, form_id = int(request.POST["student"]), int(request.POST["form"])
    except (KeyError, ValueError):
        return HttpResponseBadRequest("student, form")
    link = access_student_link(request.user, district_slug=district, student_id=student_id)
    form = selectors.access_form(link=link, form_id=form_id)
    result = services.form_lock_acquire(guardian=link.guardian, form=form, student=link.student,
                                        token=request.POST.get("token", "")[:64] or services.new_lock_token())
    return HttpResponse(status=204 if result.granted else 409)


@form_tab_view
@require_POST
def lock_release(request, district):
    """The tab was closed (page-hide beacon): release the lock if that tab holds it."""
    guardian = guardian_for_user(request.user, district_slug=district)
    services.form_lock_release(guardian=guardian, token=request.POST.get("token", "")[:64])
    return HttpResponse(status=204)
