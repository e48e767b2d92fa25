"""OneRoster CSV import: what every guardian sees after a roster, and after the next one (R8)."""

from __future__ import annotations

import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.http import Http404

from forms_catalog import access
from forms_catalog.models import Guardian, GuardianStudent, Student
from roster.models import RosterSync
from roster.oneroster import RosterError, ZipSource
from roster.services import RosterRefused, roster_import, roster_settings_update

from .helpers import ROSTERS, copy_roster, edit, portal, run, snapshot

FORMS = ["registration"]
FIRST = {
    "maria@example.org": {"5001": FORMS, "5002": FORMS},
    "jose@example.org": {"5001": FORMS, "5002": FORMS},
    "carlos@example.org": {"5001": "restricted"},
    "kim@example.org": {"5003": FORMS},
    "lee@example.org": {"5003": FORMS},
    "abuela@example.org": None,  # relativeOf: no portal access
    "jsmith@riverside.example.org": None,  # a teacher is not a guardian
}
SECOND = {
    "maria@example.org": {"5001": FORMS, "5002": "restricted"},  # restriction switched on
    "jose@example.org": None,  # removed from the SIS: deactivated, grants nothing
    "carlos@example.org": {"5001": "restricted"},
    "kim@example.org": {"5003": FORMS, "5004": FORMS},  # a new student
    "lee@example.org": {"5003": FORMS},
    "abuela@example.org": None,
    "jsmith@riverside.example.org": None,
}


def views(district) -> dict:
    return {global_id: portal(district, global_id) for global_id in FIRST}


def test_round_trip_then_second_roster_changes_each_guardians_portal_exactly(district):
    report, sync = run(district, ROSTERS / "first")
    assert views(district) == FIRST
    assert report.counts["students_added"] == 3
    assert report.counts["guardians_added"] == 5
    assert report.counts["links_added"] == 7
    assert report.counts["links_restricted"] == 1
    assert report.counts["relatives_without_access"] == 1
    assert sync.outcome == RosterSync.Outcome.APPLIED
    # Students carry their school from orgs.csv; every new guardian can sign in as their own user.
    assert Student.objects.get(district=district, sis_id="5002").sis_data == {"school": "Riverside Middle"}
    maria = Guardian.objects.get(district=district, global_id="maria@example.org")
    assert (maria.user.email, maria.user.first_name, maria.user.has_usable_password()) == (
        "maria@example.org", "Maria", False)

    report, _ = run(district, ROSTERS / "second")
    assert views(district) == SECOND
    counts = {k: v for k, v in report.counts.items() if v and not k.endswith("_in_roster")}
    assert counts == {
        "students_added": 1,
        "guardians_deactivated": 1,
        "links_added": 1,
        "links_deactivated": 2,
        "links_restricted": 1,
        "relatives_without_access": 1,
    }
    assert report.lists["guardians_deactivated"] == ["jose@example.org"]
    assert report.lists["links_restricted"] == ["p-maria → s-ben"]
    # Deactivated, never deleted: Jose's account and links stay for history.
    jose = Guardian.objects.get(district=district, global_id="jose@example.org")
    assert not jose.active
    assert sorted(GuardianStudent.objects.filter(guardian=jose).values_list("active", flat=True)) == [False, False]
    ana = Student.objects.get(district=district, sis_id="5001")
    with pytest.raises(Http404):
        access.access_student_link(jose.user, district_slug=district.slug, student_id=ana.pk)


def test_rerunning_the_same_roster_changes_nothing(district):
    run(district, ROSTERS / "first")
    before = snapshot()
    report, _ = run(district, ROSTERS / "first")
    assert report.changes == 0
    assert snapshot() == before


def test_a_guardian_back_in_the_roster_is_reactivated_and_a_lifted_restriction_grants_access_again(district):
    run(district, ROSTERS / "first")
    run(district, ROSTERS / "second")
    report, _ = run(district, ROSTERS / "first", force=True)  # 1 of 4 students leaves: 25%
    assert views(district) == {**FIRST, "kim@example.org": {"5003": FORMS}}
    assert report.counts["guardians_reactivated"] == 1
    assert report.counts["links_reactivated"] == 2
    assert report.counts["links_unrestricted"] == 1
    assert report.counts["students_deactivated"] == 1  # Dan is not in the first roster
    assert not Student.objects.get(district=district, sis_id="5004").active


def test_dry_run_reports_what_would_change_and_writes_nothing(district):
    run(district, ROSTERS / "first")
    before = snapshot()
    report, sync = run(district, ROSTERS / "second", dry_run=True)
    assert snapshot() == before
    assert views(district) == FIRST
    assert report.dry_run
    assert (report.counts["students_added"], report.counts["guardians_deactivated"],
            report.counts["links_restricted"]) == (1, 1, 1)
    assert report.lists["students_added"] == ["5004"]
    assert sync.outcome == RosterSync.Outcome.DRY_RUN
    assert sync.counts["counts"]["guardians_deactivated"] == 1


def test_a_roster_deactivating_more_than_the_district_share_is_refused_unless_forced(district, tmp_path):
    run(district, ROSTERS / "first")
    folder = copy_roster("first", tmp_path)
    users = folder / "users.csv"
    # A truncated export: Kim and Lee (2 of 5 guardians, 40%) are missing.
    lines = [line for line in users.read_text().splitlines() if not line.startswith(("p-kim", "p-lee"))]
    users.write_text("\n".join(lines).replace(",p-kim,05,", ",,05,") + "\n")
    roles = folder / "roles.csv"
    roles.write_text("\n".join(x for x in roles.read_text().splitlines() if ",p-kim," not in x and ",p-lee," not in x))
    before = snapshot()
    with pytest.raises(RosterRefused) as refused:
        run(district, folder)
    assert "deactivate 2 of 5 active guardians (40.0%), more than the district's limit of 20%" in str(refused.value)
    assert snapshot() == before
    assert RosterSync.objects.filter(district=district).first().outcome == RosterSync.Outcome.REFUSED

    roster_settings_update(district=district, max_deactivate_percent=50)
    report, _ = run(district, folder)
    assert report.counts["guardians_deactivated"] == 2
    assert portal(district, "kim@example.org") is None


def test_force_applies_a_roster_over_the_share(district, tmp_path):
    run(district, ROSTERS / "first")
    roster_settings_update(district=district, max_deactivate_percent=0)
    with pytest.raises(RosterRefused):
        run(district, ROSTERS / "second")
    report, sync = run(district, ROSTERS / "second", force=True)
    assert sync.forced and sync.outcome == RosterSync.Outcome.APPLIED
    assert views(district) == SECOND


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("username", "maria.lopez"),
        ("sourcedId", "p-maria"),
        ("metadata.portalId", "G-0001"),
    ],
)
def test_global_id_comes_from_the_districts_chosen_field(district, tmp_path, field, expected):
    folder = copy_roster("first", tmp_path)
    users = folder / "users.csv"
    rows = users.read_text().splitlines()
    rows[0] += ",metadata.portalId"
    rows[1:] = [row + f",G-{i:04d}" for i, row in enumerate(rows[1:], start=1)]
    rows[4] = rows[4].rsplit(",", 1)[0] + ",G-0001"  # p-maria
    users.write_text("\n".join(rows) + "\n")
    roster_settings_update(district=district, global_id_field=field, student_id_field="sourcedId")
    run(district, folder)
    maria = Guardian.objects.get(district=district, first_name="Maria")
    assert maria.global_id == expected
    assert portal(district, expected) == {"s-ana": FORMS, "s-ben": FORMS}


def test_oneroster_11_layout_with_a_role_column_in_a_zip(district, tmp_path):
    users = (ROSTERS / "first" / "users.csv").read_text().splitlines()
    roles = {line.split(",")[3]: line.split(",")[5] for line in
             (ROSTERS / "first" / "roles.csv").read_text().splitlines()[1:]}
    rows = [users[0] + ",role"] + [row + "," + roles[row.split(",")[0]] for row in users[1:]]
    manifest = (ROSTERS / "first" / "manifest.csv").read_text().replace("file.roles,bulk", "file.roles,absent")
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("export/manifest.csv", manifest)
        zf.writestr("export/users.csv", "\n".join(rows) + "\n")
        zf.writestr("export/orgs.csv", (ROSTERS / "first" / "orgs.csv").read_text())
    roster_import(district=district, source=ZipSource(archive))
    assert views(district) == FIRST


def test_disabled_users_count_as_absent(district, tmp_path):
    run(district, ROSTERS / "first")
    folder = copy_roster("first", tmp_path)
    edit(folder / "users.csv", "p-lee,,,true", "p-lee,,,false")
    report, _ = run(district, folder)
    assert report.counts["guardians_deactivated"] == 1
    assert portal(district, "lee@example.org") is None


def test_import_roster_command_prints_the_report_and_fails_loudly(district, tmp_path, capsys):
    call_command("import_roster", "--district", "riverside", str(ROSTERS / "first"), "--dry-run")
    out = capsys.readouterr().out
    assert "Dry run: nothing written." in out
    assert "guardians_added: 5" in out
    assert "maria@example.org" in out
    assert not Guardian.objects.exists()

    folder = copy_roster("first", tmp_path)
    (folder / "users.csv").unlink()
    with pytest.raises(CommandError, match=r"users\.csv: The file is missing\."):
        call_command("import_roster", "--district", "riverside", str(folder))
    with pytest.raises(CommandError, match="No district 'nowhere'"):
        call_command("import_roster", "--district", "nowhere", str(folder))


def test_other_districts_are_untouched(district, cast):
    before = snapshot()
    run(district, ROSTERS / "first")
    after = snapshot()
    springfield = cast.district.pk
    assert [r for r in after[0] if r[0] == springfield] == [r for r in before[0] if r[0] == springfield]
    assert [r for r in after[1] if r[0] == springfield] == [r for r in before[1] if r[0] == springfield]
    assert Guardian.objects.get(district=cast.district, global_id="maria@example.org").active


def test_errors_raise_roster_error_with_location(district, tmp_path):
    folder = copy_roster("first", tmp_path)
    edit(folder / "users.csv", "p-kim,,,true", "p-kim,,,yes")
    with pytest.raises(RosterError) as exc:
        run(district, folder)
    assert (exc.value.file, exc.value.line, exc.value.column) == ("users.csv", 8, "enabledUser")
    assert str(exc.value) == "users.csv, line 8, column 4 (enabledUser): enabledUser must be 'true' or 'false'."


def test_a_restriction_releases_the_open_form_lock_at_once(district):
    from forms_catalog.models import Form, FormLock
    from parent_portal.form_runtime.services import form_lock_acquire

    run(district, ROSTERS / "first")
    form = Form.objects.get(district=district, key="registration")
    maria = Guardian.objects.get(district=district, global_id="maria@example.org")
    kim = Guardian.objects.get(district=district, global_id="kim@example.org")
    jose = Guardian.objects.get(district=district, global_id="jose@example.org")
    ben, cara, ana = (Student.objects.get(district=district, sis_id=s) for s in ("5002", "5003", "5001"))
    for guardian, student in ((maria, ben), (kim, cara), (jose, ana)):
        assert form_lock_acquire(guardian=guardian, form=form, student=student, token=f"tab-{guardian.pk}").granted

    report, _ = run(district, ROSTERS / "second")  # Maria restricted for Ben (R8), Jose removed
    assert report.counts["locks_released"] == 2
    assert list(FormLock.objects.values_list("guardian__global_id", flat=True)) == ["kim@example.org"]


def test_the_portal_pages_follow_the_roster_at_once(client, district):
    """R8 on the real pages: after the second roster Maria's restricted student shows no form and
    cannot be started, and Jose (removed from the SIS) reaches nothing."""
    from django.urls import reverse

    from forms_catalog.models import Form

    run(district, ROSTERS / "first")
    form = Form.objects.get(district=district, key="registration")
    maria = Guardian.objects.get(district=district, global_id="maria@example.org")
    jose = Guardian.objects.get(district=district, global_id="jose@example.org")
    ben = Student.objects.get(district=district, sis_id="5002")
    forms_page = reverse("parent_portal:forms", kwargs={"district": district.slug, "student_id": ben.pk})
    start = reverse("parent_portal:form_start",
                    kwargs={"district": district.slug, "student_id": ben.pk, "form_id": form.pk})
    client.force_login(maria.user)
    before = client.get(forms_page)
    assert before.status_code == 200 and "Registration" in before.text
    client.force_login(jose.user)
    assert client.get(forms_page).status_code == 200

    run(district, ROSTERS / "second")
    client.force_login(maria.user)
    after = client.get(forms_page)
    assert after.status_code == 200 and "Registration" not in after.text  # the "no forms" page
    assert client.get(start).status_code == 404
    client.force_login(jose.user)
    response = client.get(forms_page)
    assert response.status_code in (302, 404)  # signed out or refused: never the page
    assert client.get(start).status_code in (302, 404)
