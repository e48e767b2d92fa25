"""R6 (order), R7 (sections, headers, search) and R9 (actions, what a link opens) as pure rules."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from forms_catalog import rules
from tests.forms_catalog.facts import district, express, form, keys, sub, tab_keys, view


def at(day: int, month: int = 5) -> datetime:
    return datetime(2025, month, day, 12, tzinfo=UTC)


# --- R6: academic years --------------------------------------------------------------------------


def test_r6_year_formats_sort_by_first_year_single_before_range():
    years = ["2023-2024", "2023", "2022-2023", "2022"]
    assert sorted(years, key=rules.year_key) == ["2022", "2022-2023", "2023", "2023-2024"]


def test_r6_short_range_sorts_like_the_long_range():
    assert rules.year_key("2022-23") == rules.year_key("2022-2023")
    assert rules.year_key("2022") < rules.year_key("2022-23") < rules.year_key("2023")


def test_r6_free_text_sorts_after_every_year_case_folded():
    years = ["Summer term", "2099", "all years", "Beta", "2022-23"]
    # Plain string order would put "Beta" and "Summer term" before "all years".
    assert sorted(years, key=rules.year_key) == ["2022-23", "2099", "all years", "Beta", "Summer term"]


def test_r6_empty_year_sorts_last_after_free_text():
    years = ["", "zzz", "2030", "   "]
    assert sorted(years, key=rules.year_key)[:2] == ["2030", "zzz"]
    assert rules.year_key("") == rules.year_key("   ")
    assert rules.year_key("zzz") < rules.year_key("")


@pytest.mark.parametrize("text", ["2022/2023", "22-23", "2022-2", "2022 - 2023", "FY2022"])
def test_r6_near_year_texts_are_free_text(text):
    assert rules.year_key(text) > rules.year_key("9999-9999")
    assert rules.year_key(text) < rules.year_key("")


def test_r6_to_do_orders_by_status_rank_then_year_then_name():
    forms = [
        form("nsy", name="B", academic_year="2024"),
        form("ns-empty", name="A", academic_year=""),
        form("ns-free", name="A", academic_year="Fall"),
        form("ns-old", name="Z", academic_year="2023-2024"),
        form("started", name="Z", academic_year=""),
        form("pending", name="A", approval_status=True, academic_year="2000"),
        form("rejected", name="Z", approval_status=True, academic_year=""),
    ]
    v = view(forms, {"started": sub("in_progress"), "pending": sub("submitted", "pending_approval"),
                     "rejected": sub("submitted", "rejected")})
    assert keys(v.todo.enrollment) == ["rejected", "started", "ns-old", "nsy", "ns-free", "ns-empty", "pending"]


def test_r6_names_compare_case_folded():
    forms = [form("b", name="banana"), form("a", name="Cherry"), form("c", name="Apple")]
    assert keys(view(forms).todo.enrollment) == ["c", "b", "a"]


def test_r6_equal_names_fall_back_to_the_form_key():
    forms = [form("k2", name="Registration"), form("k10", name="REGISTRATION"), form("k1", name="registration")]
    assert keys(view(forms).todo.enrollment) == ["k1", "k10", "k2"]


def test_r6_overview_is_every_product_by_rank_year_name_capped_at_five():
    forms = [
        form("done", name="A", approval_status=False),
        express("m1", name="Media", academic_year="2025"),
        form("r1", name="Reg", academic_year="2025-2026"),
        form("r0", name="Reg", academic_year="2024"),
        express("m0", name="Health", academic_year="2025"),
        form("st", name="Z"),
        form("extra", name="Zzz"),
    ]
    v = view(forms, {"done": sub("submitted"), "st": sub("in_progress")})
    assert keys(v.overview) == ["st", "r0", "m0", "m1", "r1"]
    assert len(v.overview) == rules.OVERVIEW_LIMIT


def test_r6_overview_includes_complete_forms_after_to_do_forms():
    v = view([form("done", name="A"), form("todo", name="Z")], {"done": sub("submitted")})
    assert keys(v.overview) == ["todo", "done"]


# --- R6: the Complete tab -----------------------------------------------------------------------


def test_r6_complete_tab_uses_last_updated_else_submitted_descending():
    forms = [form("a", name="A"), form("b", name="B"), form("c", name="C")]
    v = view(forms, {
        "a": sub("submitted", submitted_at=at(1), last_updated_at=at(20)),  # updated: effective 20
        "b": sub("submitted", submitted_at=at(10)),  # effective 10
        "c": sub("submitted", submitted_at=at(15)),  # effective 15
    })
    assert keys(v.complete.enrollment) == ["a", "c", "b"]
    assert [i.effective_at for i in v.complete.enrollment] == [at(20), at(15), at(10)]


def test_r6_complete_tab_ties_on_date_go_by_name_key():
    forms = [form("x2", name="beta"), form("x1", name="Alpha"), form("x0", name="BETA")]
    v = view(forms, {k: sub("submitted", submitted_at=at(3)) for k in ("x0", "x1", "x2")})
    assert keys(v.complete.enrollment) == ["x1", "x0", "x2"]


def test_r6_complete_tab_holds_submitted_and_approved_only():
    forms = [form(k, approval_status=True) for k in ("appr", "rej", "pend", "disc")]
    v = view(forms, {"appr": sub("submitted", "approved"), "rej": sub("submitted", "rejected"),
                     "pend": sub("submitted", "pending_approval"), "disc": sub("submitted", "discarded")})
    assert sorted(keys(v.complete.enrollment)) == ["appr", "disc"]
    assert sorted(keys(v.todo.enrollment)) == ["pend", "rej"]


# --- R7 ----------------------------------------------------------------------------------------


def test_r7_express_forms_group_by_packet_in_order_of_first_form():
    forms = [
        express("z-late", packet="bts", name="Zoo Trip"),
        express("a-early", packet="sports", name="Athletics Waiver"),
        express("m-mid", packet="bts", name="Media Release"),
        express("s-second", packet="sports", name="Sports Physical"),
        form("reg", name="Registration"),
    ]
    v = view(forms)
    assert tab_keys(v.todo) == {
        "enrollment": ["reg"],
        "express": [("sports", ["a-early", "s-second"]), ("bts", ["m-mid", "z-late"])],
    }
    assert [g.name for g in v.todo.express] == ["SPORTS", "BTS"]


def test_r7_packet_order_follows_status_rank_first():
    forms = [express("a", packet="p1", name="A"), express("z", packet="p2", name="Z")]
    v = view(forms, {"z": sub("in_progress")})
    assert [g.packet for g in v.todo.express] == ["p2", "p1"]


def test_r7_complete_tab_groups_packets_in_its_own_date_order():
    forms = [express("a", packet="p1", name="A"), express("b", packet="p2", name="B"),
             express("c", packet="p1", name="C")]
    v = view(forms, {"a": sub("submitted", submitted_at=at(1)), "b": sub("submitted", submitted_at=at(9)),
                     "c": sub("submitted", submitted_at=at(5))})
    assert tab_keys(v.complete)["express"] == [("p2", ["b"]), ("p1", ["c", "a"])]


@pytest.mark.parametrize(
    ("products", "headers"),
    [(("enrollment", "express"), True), (("enrollment",), False), (("express",), False)],
)
def test_r7_product_headers_only_when_the_district_has_both_products(products, headers):
    v = view([form("a"), express("m")], dist=district(products=products))
    assert v.product_headers is headers


def test_r7_a_tab_without_express_forms_has_no_express_section():
    v = view([form("a"), express("m")], {"m": sub("submitted")})
    assert v.product_headers is True
    assert tab_keys(v.todo) == {"enrollment": ["a"], "express": []}
    assert tab_keys(v.complete) == {"enrollment": [], "express": [("bts", ["m"])]}


def test_r7_search_filters_both_tabs_case_insensitively_and_leaves_the_overview():
    forms = [
        form("reg", name="Returning REGISTRATION"),
        form("lunch", name="Lunch"),
        express("media", name="Media Release"),
        express("reg-x", name="Club registration", packet="clubs"),
        form("done", name="Kinder Registration"),
        form("done2", name="Health"),
    ]
    subs = {"done": sub("submitted"), "done2": sub("submitted")}
    v = view(forms, subs, query="  registration ")
    assert v.query == "registration"
    assert tab_keys(v.todo) == {"enrollment": ["reg"], "express": [("clubs", ["reg-x"])]}
    assert tab_keys(v.complete) == {"enrollment": ["done"], "express": []}
    assert keys(v.overview) == keys(view(forms, subs).overview)
    assert len(v.overview) == 5


def test_r7_search_matching_nothing_empties_both_tabs():
    v = view([form("a", name="Lunch")], query="zzz")
    assert v.todo.is_empty and v.complete.is_empty and keys(v.overview) == ["a"]


# --- R9 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "opens"), [
    ("not_started", "start"), ("started", "continue"), ("rejected", "confirmation"),
    ("pending_review", "confirmation"), ("submitted", "confirmation"), ("approved", "confirmation"),
])
def test_r9_what_a_form_link_opens(status, opens):
    assert rules.opens_for(status) == opens


@pytest.mark.parametrize("workspace", ["not_imported", "approved", "rejected", "discarded"])
def test_r9_submitted_forms_offer_pay_balance_then_edit_form(workspace):
    f = form("a", approval_status=True)
    s = sub("submitted", workspace, balance=Decimal("25.00"), update_requested=True)
    (item,) = view([f], {"a": s}).overview
    assert item.as_json()["actions"] == ["pay_balance", "edit_form"]
    assert item.opens == "confirmation"


def test_r9_no_pay_balance_when_nothing_is_owed():
    s = sub("submitted", balance=Decimal("0.00"), update_requested=True)
    assert rules.actions_for("submitted", s) == ("edit_form",)
    s = sub("submitted", balance=Decimal("0.01"))
    assert rules.actions_for("submitted", s) == ("pay_balance",)


def test_r9_started_and_not_started_forms_have_no_menu():
    s = sub("in_progress", balance=Decimal("10.00"), update_requested=True)
    assert rules.actions_for("started", s) == ()
    assert rules.actions_for("not_started", None) == ()
    (item,) = view([form("a")], {"a": s}).overview
    assert item.actions == () and item.opens == "continue"


def test_r9_item_json_has_exactly_the_documented_fields():
    (item,) = view([form("a", name="Reg", academic_year="2025")]).overview
    assert item.as_json() == {"form": "a", "name": "Reg", "product": "enrollment", "status": "not_started",
                              "academic_year": "2025", "approved_on": None, "actions": [], "opens": "start"}
