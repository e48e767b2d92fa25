"""Presentation of the portal view model: link targets (R9), status badges (R5) and labels.

The selector decides what shows and in which order; these tags only turn its values into URLs and
words. Every link target is one of the form-tab routes in `parent_portal/urls.py`.
"""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

STATUS_LABELS = {
    "rejected": _("Rejected"),
    "started": _("Started"),
    "not_started": _("Not Started"),
    "pending_review": _("Pending Review"),
    "submitted": _("Submitted"),
    "approved": _("Approved"),
}

ACTION_LABELS = {
    "pay_balance": _("Pay Outstanding Balance"),
    "edit_form": _("Edit Form"),
}

ACTION_ROUTES = {"pay_balance": "parent_portal:form_pay", "edit_form": "parent_portal:form_edit"}

OPENS_ROUTES = {"continue": "parent_portal:form_continue", "confirmation": "parent_portal:form_confirmation"}


@register.simple_tag
def form_href(item, district_slug: str, student_id: int) -> str:
    """R9: `start` creates the submission; `continue` and `confirmation` open the existing one."""
    if item.opens == "start":
        return reverse(
            "parent_portal:form_start",
            kwargs={"district": district_slug, "student_id": student_id, "form_id": item.form_id},
        )
    return reverse(OPENS_ROUTES[item.opens], kwargs={"district": district_slug, "submission_id": item.submission_id})


@register.simple_tag
def action_href(action: str, item, district_slug: str) -> str:
    return reverse(ACTION_ROUTES[action], kwargs={"district": district_slug, "submission_id": item.submission_id})


@register.filter
def action_label(action: str) -> str:
    return ACTION_LABELS[action]


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS[status]


@register.inclusion_tag("parent_portal/partials/status_badge.html")
def status_badge(item):
    return {"status": item.status, "label": STATUS_LABELS[item.status], "approved_on": item.approved_on}
