"""Properties of the portal view that hold for any district, forms and submissions (R3-R7)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from forms_catalog import rules

NOW = datetime(2025, 9, 1, tzinfo=UTC)
instants = st.one_of(st.none(), st.integers(-5, 5).map(lambda d: NOW + timedelta(days=d)))


@st.composite
def form_facts(draw, fid: int):
    product = draw(st.sampled_from(["enrollment", "express"]))
    form_type = "" if product == "express" else draw(st.sampled_from(sorted(rules.FIXED_EXISTING_TYPES
                                                                            | {"public", "restricted"})))
    return rules.FormFacts(
        id=fid,
        key=f"k{fid}",
        name=draw(st.sampled_from(["Registration", "registration", "Lunch", "Media Release", "Health"])),
        product=product,
        type=form_type,
        student_type=draw(st.sampled_from(["new", "existing", "new_and_existing"])),
        status=draw(st.sampled_from(["open", "closed", "scheduled"])),
        opens_at=draw(instants),
        closes_at=draw(instants),
        academic_year=draw(st.sampled_from(["", "2024", "2024-2025", "2024-25", "Fall", "fall"])),
        approval_status=draw(st.booleans()),
        in_available_selection=draw(st.booleans()),
        packet_key=draw(st.sampled_from(["p1", "p2"])) if product == "express" else None,
        packet_name="Packet" if product == "express" else None,
        packet_targets_student=draw(st.booleans()),
    )


@st.composite
def submission_facts(draw, sid: int):
    status = draw(st.sampled_from(["in_progress", "submitted"]))
    return rules.SubmissionFacts(
        id=sid,
        status=status,
        workspace=draw(st.sampled_from(["not_imported", "pending_approval", "approved", "discarded", "rejected"])),
        submitted_at=draw(instants.filter(lambda x: x is not None)) if status == "submitted" else None,
        last_updated_at=draw(instants),
        approved_at=draw(instants),
        balance=draw(st.sampled_from([Decimal("0.00"), Decimal("12.50")])),
        update_requested=draw(st.booleans()),
    )


@st.composite
def portal_input(draw):
    n = draw(st.integers(0, 12))
    forms = [draw(form_facts(i)) for i in range(n)]
    submissions = {f.id: draw(submission_facts(100 + f.id)) for f in forms if draw(st.booleans())}
    district = rules.DistrictFacts(
        products=frozenset(draw(st.sampled_from([{"enrollment"}, {"express"}, {"enrollment", "express"}]))),
        mypowerhub_enabled=draw(st.booleans()),
        available_forms_mode=draw(st.sampled_from(["automatic", "none", "manual"])),
    )
    return district, forms, submissions


def _all(tab: rules.TabView) -> list[rules.PortalItem]:
    return [*tab.enrollment, *(i for g in tab.express for i in g.forms)]


@settings(max_examples=60, deadline=None)
@given(portal_input(), st.booleans())
def test_every_form_is_either_shown_once_or_explained(data, restricted):
    district, forms, submissions = data
    view = rules.build_portal_view(district=district, forms=forms, submissions=submissions, now=NOW,
                                   restricted=restricted, explain=True)
    todo, complete = _all(view.todo), _all(view.complete)
    shown = [i.form for i in todo + complete]
    assert len(shown) == len(set(shown))  # no form in both tabs or twice
    assert sorted(shown + [h.form for h in view.hidden]) == sorted(f.key for f in forms)
    assert {i.status for i in todo} <= rules.TODO_STATUSES
    assert {i.status for i in complete} <= rules.COMPLETE_STATUSES
    # The overview is the first five of everything shown, in To Do order (R6).
    assert [i.form for i in view.overview] == [i.form for i in sorted(todo + complete, key=rules.todo_key)][:5]
    if restricted or not district.mypowerhub_enabled:
        assert shown == []


@settings(max_examples=60, deadline=None)
@given(portal_input())
def test_available_forms_setting_never_hides_a_started_or_submitted_form(data):
    district, forms, submissions = data
    by_mode = {}
    for mode in ("automatic", "none", "manual"):
        d = rules.DistrictFacts(products=district.products, mypowerhub_enabled=True, available_forms_mode=mode)
        view = rules.build_portal_view(district=d, forms=forms, submissions=submissions, now=NOW)
        by_mode[mode] = {i.form for i in _all(view.todo) + _all(view.complete) if i.submission_id is not None}
    assert by_mode["automatic"] == by_mode["none"] == by_mode["manual"]


@settings(max_examples=40, deadline=None)
@given(portal_input(), st.sampled_from(["reg", "REGISTRATION", "lunch", "zzz", ""]))
def test_search_only_narrows_the_tabs_and_never_the_overview(data, query):
    district, forms, submissions = data
    full = rules.build_portal_view(district=district, forms=forms, submissions=submissions, now=NOW)
    searched = rules.build_portal_view(district=district, forms=forms, submissions=submissions, now=NOW,
                                       query=query)
    assert searched.overview == full.overview
    for tab in ("todo", "complete"):
        wanted = [i for i in _all(getattr(full, tab)) if query.casefold() in i.name.casefold()]
        got = getattr(searched, tab)
        assert [i.form for i in got.enrollment] == [i.form for i in wanted if i.product == "enrollment"]
        # Express packets are re-ordered by their first matching form (R7); within a packet, order holds.
        for group in got.express:
            assert [i.form for i in group.forms] == [i.form for i in wanted if i.packet == group.packet]
        assert sum(len(g.forms) for g in got.express) == len([i for i in wanted if i.product == "express"])
