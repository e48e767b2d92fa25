"""Seeded random rosters: after any sequence of imports the district holds exactly the last roster."""

from __future__ import annotations

import csv
import random

import pytest

from forms_catalog.models import Guardian, GuardianStudent, Student

from .helpers import run

HEADER = ["sourcedId", "status", "dateLastModified", "enabledUser", "username", "givenName", "familyName",
          "identifier", "email", "agentSourcedIds", "grades", "role", "metadata.guardianRestricted"]


def random_roster(rng: random.Random, folder, *, pool_students=30, pool_guardians=40):
    """A roster over a fixed pool of people: who is in, enabled, linked and restricted varies."""
    folder.mkdir()
    (folder / "manifest.csv").write_text("propertyName,value\noneroster.version,1.2\nfile.users,bulk\n")
    students = [s for s in range(pool_students) if rng.random() < 0.8]
    guardians = [g for g in range(pool_guardians) if rng.random() < 0.8]
    enabled = {f"s{s}": rng.random() < 0.9 for s in students} | {f"g{g}": rng.random() < 0.9 for g in guardians}
    links = {}
    for g in guardians:
        for s in rng.sample(students, k=min(len(students), rng.randrange(0, 3))):
            links[(f"g{g}", f"s{s}")] = rng.random() < 0.2
    expected_links = {
        (f"parent{g[1:]}@example.org", f"ID{s[1:]}"): r for (g, s), r in links.items() if enabled[g] and enabled[s]
    }
    with open(folder / "users.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for s in students:
            # Links are declared from the student side for even students, from the guardian side otherwise.
            agents = [g for (g, st) in links if st == f"s{s}"] if s % 2 == 0 else []
            w.writerow([f"s{s}", "", "", str(enabled[f"s{s}"]).lower(), f"stu{s}", f"First{s}",
                        rng.choice(["Lopez", "Kim"]), f"ID{s}", "", ",".join(agents), rng.choice(["01", "02"]),
                        "student", ""])
        for g in guardians:
            kids = [s for (gg, s) in links if gg == f"g{g}"]
            declared = [s for s in kids if int(s[1:]) % 2 == 1 or links[(f"g{g}", s)]]
            restricted = [s for s in declared if links[(f"g{g}", s)]]
            w.writerow([f"g{g}", "", "", str(enabled[f"g{g}"]).lower(), f"par{g}", f"P{g}", rng.choice(["A", "B"]),
                        "", f"parent{g}@example.org", ",".join(declared), "", rng.choice(["parent", "guardian"]),
                        ",".join(restricted)])
    expected_students = {f"ID{s}" for s in students if enabled[f"s{s}"]}
    expected_guardians = {f"parent{g}@example.org" for g in guardians if enabled[f"g{g}"]}
    return expected_students, expected_guardians, expected_links


@pytest.mark.parametrize("seed", range(4))
def test_the_district_matches_the_last_roster_and_a_rerun_changes_nothing(district, tmp_path, seed):
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    for step in range(3):
        folder = tmp_path / f"roster-{step}"
        students, guardians, links = random_roster(rng, folder)
        run(district, folder, force=True)
        assert set(Student.objects.filter(district=district, active=True).values_list("sis_id", flat=True)) == students
        assert set(Guardian.objects.filter(district=district, active=True).values_list("global_id", flat=True)) == (
            guardians)
        stored = {
            (g, s): r for g, s, r in GuardianStudent.objects.filter(guardian__district=district, active=True)
            .values_list("guardian__global_id", "student__sis_id", "restricted")
        }
        assert stored == links
        report, _ = run(district, folder)
        assert report.changes == 0
