"""The large-district generator at a small size: counts, determinism, constraints, and the selector on it."""

from __future__ import annotations

import io
import json
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from forms_catalog import selectors
from forms_catalog.management.commands.generate_district import BENCH_GUARDIAN, BENCH_SIS_ID
from forms_catalog.models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission
from forms_catalog.services import guardian_username

pytestmark = pytest.mark.django_db

SIZE = {"students": 60, "guardians": 100, "forms": 80, "submissions": 700}


def generate(seed: int = 7, **extra) -> dict:
    out = io.StringIO()
    call_command("generate_district", slug="perf-test", seed=seed, stdout=out, **{**SIZE, **extra})
    return json.loads(out.getvalue())


def snapshot(slug: str = "perf-test") -> dict:
    """The district's content by natural keys (primary keys differ between runs)."""
    d = District.objects.get(slug=slug)
    return {
        "district": list(District.objects.filter(pk=d.pk).values("slug", "name", "has_enrollment", "has_express",
                                                                  "mypowerhub_enabled", "available_forms_mode")),
        "students": list(Student.objects.filter(district=d).order_by("sis_id").values(
            "sis_id", "first_name", "last_name", "grade", "sis_data", "active")),
        "guardians": list(Guardian.objects.filter(district=d).order_by("global_id").values(
            "global_id", "email", "first_name", "last_name", "active", "user__password", "user__email",
            "user__first_name", "user__last_name", "user__date_joined")),
        "links": list(GuardianStudent.objects.filter(guardian__district=d).order_by(
            "guardian__global_id", "student__sis_id").values(
            "guardian__global_id", "student__sis_id", "restricted", "active")),
        "packets": [
            (p.key, p.name, p.all_students, sorted(p.students.values_list("sis_id", flat=True)))
            for p in Packet.objects.filter(district=d).order_by("key")
        ],
        "forms": list(Form.objects.filter(district=d).order_by("key").values(
            "key", "name", "product", "type", "student_type", "status", "opens_at", "closes_at", "academic_year",
            "approval_status", "packet__key", "in_available_selection")),
        "submissions": list(Submission.objects.filter(district=d).order_by("student__sis_id", "form__key").values(
            "student__sis_id", "form__key", "started_by__global_id", "status", "workspace", "started_at",
            "submitted_at", "last_updated_at", "approved_at", "balance", "update_requested", "last_page", "answers",
            "version")),
        "ledger": list(LedgerEntry.objects.filter(submission__district=d).order_by(
            "submission__student__sis_id", "submission__form__key", "created_at", "kind").values(
            "submission__student__sis_id", "submission__form__key", "kind", "amount", "reason", "reference",
            "created_at")),
    }


def test_counts_match_the_options_and_cover_every_state():
    report = generate()
    d = District.objects.get(slug="perf-test")
    assert Student.objects.filter(district=d).count() == 60
    assert Guardian.objects.filter(district=d).count() == 100
    assert Form.objects.filter(district=d).count() == 80
    assert Submission.objects.filter(district=d).count() == 700
    assert report["rows"]["submissions"] == 700

    # Most students are shared by two guardians.
    per_student = Counter(GuardianStudent.objects.filter(student__district=d).values_list("student_id", flat=True))
    assert sum(1 for n in per_student.values() if n == 2) > 60 / 2
    assert max(per_student.values()) <= 2

    forms = Form.objects.filter(district=d)
    assert set(forms.values_list("product", flat=True)) == {"enrollment", "express"}
    assert set(forms.values_list("status", flat=True)) == {"open", "closed", "scheduled"}
    assert set(forms.exclude(type="").values_list("type", flat=True)) == {
        "public", "restricted", "private", "year_round_update"}
    assert set(forms.values_list("student_type", flat=True)) == {"new", "existing", "new_and_existing"}
    assert forms.values("academic_year").distinct().count() >= 4
    assert set(Packet.objects.filter(district=d).values_list("all_students", flat=True)) == {True, False}
    assert Packet.students.through.objects.filter(packet__district=d).exists()

    subs = Submission.objects.filter(district=d)
    assert set(subs.values_list("status", flat=True)) == {"in_progress", "submitted"}
    assert set(subs.filter(status="submitted").values_list("workspace", flat=True)) == {
        "not_imported", "pending_approval", "approved", "discarded", "rejected"}
    assert subs.filter(update_requested=True).exists()
    assert subs.filter(balance__gt=0).exists()
    assert not subs.filter(status="in_progress").exclude(workspace="not_imported").exists()
    assert not subs.filter(workspace="approved", approved_at__isnull=True).exists()


def test_guardians_have_django_users_that_cannot_sign_in_with_a_password():
    generate()
    d = District.objects.get(slug="perf-test")
    guardians = list(Guardian.objects.filter(district=d).select_related("user"))
    assert len({g.user_id for g in guardians}) == len(guardians)
    for g in guardians:
        assert g.user.username == guardian_username(d, g.global_id)
        assert not g.user.has_usable_password()
        assert g.user.is_active and not g.user.is_staff
    assert get_user_model().objects.filter(guardian__district=d).count() == 100


def test_balances_equal_their_ledger_and_every_row_passes_model_validation():
    generate()
    d = District.objects.get(slug="perf-test")
    subs = Submission.objects.filter(district=d).annotate(total=Sum("ledger_entries__amount"))
    for sub in subs:
        assert sub.balance == (sub.total or Decimal("0")), sub
    assert LedgerEntry.objects.filter(submission__district=d, kind="charge").count() == (
        subs.filter(ledger_entries__kind="charge").count())
    assert subs.filter(balance__gt=0).count() <= LedgerEntry.objects.filter(kind="charge").count()
    # Model-level rules (R2, same-district links, express packets) hold for every generated row.
    for obj in (*Form.objects.filter(district=d), *GuardianStudent.objects.filter(guardian__district=d),
                *Student.objects.filter(district=d), *Guardian.objects.filter(district=d)):
        obj.full_clean()
    for sub in Submission.objects.filter(district=d).select_related("form", "student")[:200]:
        sub.full_clean()
    for entry in LedgerEntry.objects.filter(submission__district=d):
        entry.full_clean()


def test_two_runs_with_the_same_seed_build_the_same_district():
    generate(seed=11)
    first = snapshot()
    with pytest.raises(CommandError, match="--replace"):
        generate(seed=11)
    generate(seed=11, replace=True)
    assert snapshot() == first
    generate(seed=12, replace=True)
    assert snapshot() != first
    # The replaced district left no rows behind.
    assert Guardian.objects.count() == 100
    assert get_user_model().objects.count() == 100


def test_the_bench_guardian_sees_exactly_sixty_forms_through_the_selector(django_assert_num_queries):
    report = generate()
    assert report["bench_visible_forms"] == 60
    link = selectors.guardian_link(district_slug="perf-test", global_id=BENCH_GUARDIAN, sis_id=BENCH_SIS_ID)
    with django_assert_num_queries(2):
        view = selectors.portal_view(link=link)
    assert view.todo.count + view.complete.count == 60
    statuses = {i.status for i in (*view.todo.enrollment, *view.complete.enrollment)} | {
        i.status for tab in (view.todo, view.complete) for g in tab.express for i in g.forms}
    assert {"started", "not_started"} <= statuses
    assert len(statuses & {"approved", "rejected", "pending_review", "submitted"}) >= 2
    assert view.overview and len(view.overview) == 5


def test_the_selector_answers_for_every_generated_student_in_two_queries(django_assert_num_queries):
    generate()
    links = GuardianStudent.objects.select_related("guardian", "student", "student__district").filter(
        guardian__district__slug="perf-test", restricted=False, active=True)[:25]
    shown = []
    for link in links:
        with django_assert_num_queries(2):
            view = selectors.portal_view(link=link)
        shown.append(view.todo.count + view.complete.count)
    assert all(n > 0 for n in shown)


def test_sizes_the_district_cannot_hold_are_refused():
    with pytest.raises(CommandError):
        generate(guardians=500)  # more than two guardians per student
    with pytest.raises(CommandError):
        generate(submissions=60 * 80 + 1)
    assert not District.objects.filter(slug="perf-test").exists()
