"""One source of truth (issue 3, item 6): the Overview and Forms pages render exactly what
`portal_forms` prints for the shared example district, case by case (R3-R9).

Each case of `../shared/examples/lincoln.cases.json` names a guardian, a student, an instant and a
search; the pages are rendered at that instant (the portal clock frozen) and read back from the
HTML (`rendered.read_page`), then compared with the expected JSON: keys, names, statuses, years,
approval dates, actions, link kinds, order, sections and packets.
"""

import json
from pathlib import Path
from unittest import mock

import pytest
from django.urls import reverse

from forms_catalog import scenario
from forms_catalog.management.commands.portal_forms import parse_instant
from forms_catalog.models import Guardian, Student
from parent_portal.templatetags.portal import STATUS_LABELS

from .rendered import as_view_model, read_page, tab_as_view_model

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
CASES = json.loads((EXAMPLES / "lincoln.cases.json").read_text())


def _args(case):
    args = case["args"]
    return {args[i].lstrip("-"): args[i + 1] for i in range(0, len(args), 2)}


@pytest.fixture
def lincoln(db):
    scenario.load_file(str(EXAMPLES / "lincoln.json"))


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c["args"][1::2]) for c in CASES])
def test_pages_render_the_selector_view_model(sign_in, lincoln, case):
    args, expect = _args(case), case["expect"]
    guardian = Guardian.objects.get(district__slug=args["district"], global_id=args["guardian"])
    student = Student.objects.get(district__slug=args["district"], sis_id=args["student"])
    client = sign_in(guardian.user)
    kwargs = {"district": args["district"], "student_id": student.id}
    with mock.patch("parent_portal.views.current_time", return_value=parse_instant(args["at"])):
        overview = client.get(reverse("parent_portal:overview", kwargs=kwargs))
        pages = {
            tab: client.get(reverse("parent_portal:forms", kwargs=kwargs), {"tab": tab, "q": args.get("q", "")})
            for tab in ("todo", "complete")
        }
    assert overview.status_code == 200
    shown = read_page(overview.content.decode())
    assert shown["restricted"] is expect["restricted"]
    # R6: the Overview shows the first five in order; with its names, years, badges and approval dates.
    assert [as_view_model(i) for i in shown["overview"]] == expect["overview"]
    for item in shown["overview"]:
        assert item["status_label"] == STATUS_LABELS[item["status"]]
        assert item["target"] == ("_blank", "noopener")

    for tab, response in pages.items():
        assert response.status_code == 200
        page = read_page(response.content.decode())
        assert page["restricted"] is expect["restricted"]
        # Both tabs are rendered on each Forms page; the selected one is visible.
        for name in ("todo", "complete"):
            if expect["restricted"]:
                assert name not in page
                continue
            # R6/R7: sections, packets, order and statuses as the selector decided.
            assert tab_as_view_model(page[name]) == expect[name], (tab, name)
            # R7: a product header only when the district has both products and the tab has its forms.
            expected_headers = [
                section for section in ("enrollment", "express") if expect["product_headers"] and expect[name][section]
            ]
            assert page["headers"].get(name, []) == expected_headers
