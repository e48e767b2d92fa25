"""Form items rendered in Python (`parent_portal/templatetags/portal.py: form_items`) are exactly what
the reference partials render (partials/form_item.html with status_badge.html and more_menu.html):
same bytes for every status (R5), action set (R9), link kind, year and approval date, in every
language of the portal — so the faster rendering changes nothing a parent sees or a screen reader
reads."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation

from forms_catalog.rules import PortalItem
from parent_portal.templatetags.portal import ACTION_LABELS, STATUS_LABELS

REFERENCE = Template(
    '{% for item in items %}{% include "parent_portal/partials/form_item.html" %}{% endfor %}'
)
FAST = Template("{% load portal %}{% form_items items %}")

ACTION_SETS = [(), ("pay_balance",), ("edit_form",), ("pay_balance", "edit_form"), ("edit_form", "pay_balance")]
OPENS = {"start": None, "continue": 41, "confirmation": 42}


def items():
    """One item for every combination a page can show, with names that need escaping."""
    n = 0
    for status, actions, opens, year, approved in itertools.product(
        STATUS_LABELS, ACTION_SETS, OPENS, ("", "2025-2026"), (None, datetime(2026, 8, 31, 23, 30, tzinfo=UTC))
    ):
        if actions and opens == "start":
            continue  # actions act on an existing submission (R9)
        n += 1
        yield PortalItem(
            form_id=1000 + n,
            form=f"form-{n}",
            name=f'Health & "Safety" <Form> {n} — Año\'s',
            product="enrollment" if n % 2 else "express",
            status=status,
            academic_year=year,
            approved_at=approved,
            actions=actions,
            opens=opens,
            packet=None,
            packet_name=None,
            submission_id=None if opens == "start" else 5000 + n,
            balance=Decimal("0"),
            effective_at=None,
        )


def context(items, *, slug="lincoln-usd"):
    return Context({
        "items": list(items),
        "district": SimpleNamespace(slug=slug),
        "student": SimpleNamespace(id=77),
        "request": RequestFactory().get("/"),
    })


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_every_kind_of_item_renders_the_same_bytes_as_the_reference_partials(language):
    all_items = list(items())
    assert {i.status for i in all_items} == set(STATUS_LABELS)
    assert {a for i in all_items for a in i.actions} == set(ACTION_LABELS)
    with translation.override(language):
        ctx = context(all_items)
        reference, fast = REFERENCE.render(ctx), FAST.render(context(all_items))
    assert fast.count('<li class="form-item"') == len(all_items)
    assert fast == reference
    if language != "en":  # the words really are translated, not left in English
        with translation.override("en"):
            assert FAST.render(context(all_items)) != fast


def test_one_item_at_a_time_and_no_items():
    for item in itertools.islice(items(), 0, None, 7):
        assert FAST.render(context([item])) == REFERENCE.render(context([item]))
    assert FAST.render(context([])) == "" == REFERENCE.render(context([]))


def test_links_follow_the_page_district_and_student():
    """Two students on one request (never on a portal page, but the link prefixes must not leak)."""
    request = RequestFactory().get("/")
    item = next(i for i in items() if i.opens == "start")
    first = FAST.render(Context({"items": [item], "district": SimpleNamespace(slug="a"),
                                 "student": SimpleNamespace(id=1), "request": request}))
    second = FAST.render(Context({"items": [item], "district": SimpleNamespace(slug="b"),
                                  "student": SimpleNamespace(id=2), "request": request}))
    assert f'href="/d/a/students/1/forms/{item.form_id}/start/"' in first
    assert f'href="/d/b/students/2/forms/{item.form_id}/start/"' in second
