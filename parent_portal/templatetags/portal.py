"""Presentation of the portal view model: link targets (R9), status badges (R5) and labels.

The selector decides what shows and in which order; these tags only turn its values into URLs and
words. Every link target is one of the form-tab routes in `parent_portal/urls.py`.
"""

import html

from django import template
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
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


# --- Form items, rendered in Python ------------------------------------------------------------
#
# A Forms page lists up to every form of the student, twice (both tabs are on the page); through
# the template engine each item cost about 0.22 ms (an include, an inclusion tag, a nested include,
# a reverse() per link, several translation tags). `form_items` writes the same HTML directly: the
# words are translated once per page, the link prefixes reversed once per page, and each item is a
# few string joins. The markup is exactly what partials/form_item.html (with status_badge.html and
# more_menu.html) renders, byte for byte: those partials stay as the reference, and
# tests/perf/test_rendering.py compares both for every status, action set, year and approval date,
# in every language.

_SENTINEL = 987654321987  # an id no route will see: marks where a reversed URL takes its id

_EXTERNAL_ICON = (
    '<svg class="form-item__external" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" '
    'focusable="false"><path d="M9 2h5v5M14 2 7.5 8.5M12 9.5V14H2V4h4.5" fill="none" stroke="currentColor" '
    'stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round"/></svg>'
)
_STATUS_ICONS = {
    "rejected": '<path d="M8 1 15 14H1Z" fill="currentColor"/><path d="M8 6v4M8 11.5v1" stroke="#fff" '
    'stroke-width="1.6" stroke-linecap="round"/>',
    "started": '<circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" stroke-width="1.5"/>'
    '<path d="M8 1.75a6.25 6.25 0 0 1 0 12.5Z" fill="currentColor"/>',
    "not_started": '<circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" stroke-width="1.5" '
    'stroke-dasharray="2.5 1.8"/>',
    "pending_review": '<circle cx="8" cy="8" r="6.25" fill="none" stroke="currentColor" stroke-width="1.5"/>'
    '<path d="M8 4.5V8l2.5 1.8" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"/>',
    "submitted": '<path d="M2.5 8.5l3.5 3.5 7.5-8" fill="none" stroke="currentColor" stroke-width="2" '
    'stroke-linecap="round" stroke-linejoin="round"/>',
}
_APPROVED_ICON = (
    '<circle cx="8" cy="8" r="7" fill="currentColor"/><path d="M4.5 8.2l2.4 2.4 4.6-5" fill="none" '
    'stroke="#fff" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>'
)
_MENU_ICON = (
    '<svg viewBox="0 0 16 16" width="20" height="20" aria-hidden="true" focusable="false">'
    '<circle cx="3" cy="8" r="1.6" fill="currentColor"/><circle cx="8" cy="8" r="1.6" fill="currentColor"/>'
    '<circle cx="13" cy="8" r="1.6" fill="currentColor"/></svg>'
)


def _e(value) -> str:
    # What autoescaping does to a value (django.utils.html.escape), without its lazy-string wrapper.
    return html.escape(str(value))


class _ItemRenderer:
    """What every item of one page shares: translated words (in the request's language), link
    prefixes for the page's district and student, and each status's badge."""

    def __init__(self, district_slug: str, student_id: int):
        self.district_slug = district_slug
        self.student_id = student_id
        self._urls: dict[str, tuple[str, str]] = {}
        new_tab = _e(gettext("(opens in a new tab)"))
        self.new_tab = f'<span class="visually-hidden"> {new_tab}</span>'
        self.academic_year = _e(gettext("Academic year"))
        self.approved_on = _e(gettext("Approved on"))
        self.more_actions = gettext("More actions for %(name)s")
        status_word = _e(gettext("Status:"))
        self.badges = {
            status: (
                f'\n<span class="badge badge--{_e(status)}" data-field="status">\n'
                '  <svg class="badge__icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true" '
                'focusable="false">\n'
                f"  {_STATUS_ICONS.get(status, _APPROVED_ICON)}\n  \n  </svg>\n"
                f'  <span class="visually-hidden">{status_word}</span>\n'
                f'  <span class="badge__label">{_e(label)}</span>\n</span>\n'
            )
            for status, label in STATUS_LABELS.items()
        }
        self.action_links = {action: _e(label) for action, label in ACTION_LABELS.items()}

    def _url(self, route: str, **kwargs) -> tuple[str, str]:
        """The route's URL around its id, reversed once per page: (before, after)."""
        held = self._urls.get(route)
        if held is None:
            url = reverse(route, kwargs={"district": self.district_slug, **kwargs})
            before, _, after = url.rpartition(str(_SENTINEL))
            held = self._urls[route] = (before, after)
        return held

    def href(self, item) -> str:
        if item.opens == "start":
            before, after = self._url("parent_portal:form_start", student_id=self.student_id, form_id=_SENTINEL)
            return f"{before}{item.form_id}{after}"
        before, after = self._url(OPENS_ROUTES[item.opens], submission_id=_SENTINEL)
        return f"{before}{item.submission_id}{after}"

    def action_href(self, action: str, item) -> str:
        before, after = self._url(ACTION_ROUTES[action], submission_id=_SENTINEL)
        return f"{before}{item.submission_id}{after}"

    def item(self, item) -> str:
        name = _e(item.name)
        year = (
            f'<p class="form-item__year">{self.academic_year} <span data-field="academic-year">'
            f"{_e(item.academic_year)}</span></p>"
            if item.academic_year
            else ""
        )
        approved_on = item.approved_on
        approved = (
            f'<span class="form-item__approved" data-field="approved-on">{self.approved_on} '
            f'<time datetime="{_e(date_filter(approved_on, "Y-m-d"))}">'
            f'{_e(date_filter(approved_on, "DATE_FORMAT"))}</time></span>'
            if approved_on
            else ""
        )
        menu = ""
        if item.actions:
            links = "".join(
                f'\n    <li><a href="{_e(self.action_href(action, item))}" target="_blank" rel="noopener" '
                f'data-action="{_e(action)}">{self.action_links[action]}{self.new_tab}</a></li>\n    '
                for action in item.actions
            )
            menu = (
                '\n<details class="more-menu" data-menu>\n  <summary class="more-menu__button">\n'
                f"    {_MENU_ICON}\n"
                f'    <span class="visually-hidden">{self.more_actions % {"name": name}}</span>\n'
                f'  </summary>\n  <ul class="more-menu__list">\n    {links}\n  </ul>\n</details>\n'
            )
        return (
            f'\n<li class="form-item" data-form-key="{_e(item.form)}" data-status="{_e(item.status)}" '
            f'data-product="{_e(item.product)}" data-opens="{_e(item.opens)}" '
            f'data-actions="{" ".join(_e(a) for a in item.actions)}">\n'
            '  <div class="form-item__main">\n'
            f'    <a class="form-item__link" href="{_e(self.href(item))}" target="_blank" rel="noopener">\n'
            f'      <span data-field="name">{name}</span>{self.new_tab}{_EXTERNAL_ICON}</a>\n'
            f"    {year}\n  </div>\n"
            f'  <div class="form-item__status">{self.badges[item.status]}{approved}\n</div>\n'
            f'  <div class="form-item__actions">{menu}</div>\n</li>\n'
        )


@register.simple_tag(takes_context=True)
def form_items(context, items) -> str:
    """Every item of `items` as partials/form_item.html renders it (one after the other), for the
    page's district and student."""
    district_slug, student_id = context["district"].slug, context["student"].id
    request = context.get("request")
    renderer = getattr(request, "_portal_item_renderer", None)
    if renderer is None or (renderer.district_slug, renderer.student_id) != (district_slug, student_id):
        renderer = _ItemRenderer(district_slug, student_id)
        if request is not None:
            request._portal_item_renderer = renderer
    # Every value is escaped by _e above; the markup itself is constant.
    return mark_safe("".join(renderer.item(item) for item in items))  # noqa: S308  # nosec
