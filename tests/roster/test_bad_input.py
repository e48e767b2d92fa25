"""Bad rosters: each problem names its file, line and column, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from roster.models import RosterSync
from roster.oneroster import RosterError, ZipSource

from .helpers import ROSTERS, copy_roster, edit, run, snapshot


def remove(folder: Path, name: str) -> None:
    (folder / name).unlink()


def replace(name: str, old: str, new: str):
    return lambda folder: edit(folder / name, old, new)


def replace_bytes(name: str, old: bytes, new: bytes):
    def mutate(folder):
        path = folder / name
        path.write_bytes(path.read_bytes().replace(old, new, 1))

    return mutate


def write(name: str, data: bytes):
    return lambda folder: (folder / name).write_bytes(data)


# Lines of second/users.csv: 1 header, 2 s-ana, 3 s-ben, 4 s-cara, 5 s-dan, 6 p-maria, 7 p-carlos,
# 8 p-kim, 9 p-lee, 10 r-abuela, 11 t-smith. roles.csv follows the same order.
CASES = [
    ("missing users file", lambda f: remove(f, "users.csv"), ("users.csv", None, ""), "The file is missing."),
    ("missing manifest", lambda f: remove(f, "manifest.csv"), ("manifest.csv", None, ""), "The file is missing."),
    ("missing orgs file declared bulk", lambda f: remove(f, "orgs.csv"), ("orgs.csv", None, ""),
     "The file is missing."),
    ("missing roles file in the 1.2 layout", lambda f: remove(f, "roles.csv"), ("roles.csv", None, ""),
     "The file is missing."),
    ("empty users file", write("users.csv", b""), ("users.csv", 1, ""),
     "The file is empty; a header line is required."),
    ("unknown header column", replace("users.csv", ",givenName,", ",givenNme,"), ("users.csv", 1, "givenNme"),
     "Unknown column; OneRoster extension columns start with 'metadata.'."),
    ("repeated header column", replace("users.csv", ",middleName,", ",givenName,"), ("users.csv", 1, "givenName"),
     "The column appears twice in the header."),
    ("required header column missing", replace("users.csv", ",agentSourcedIds,", ",metadata.agents,"),
     ("users.csv", 1, ""), "The header lacks the required column 'agentSourcedIds'."),
    ("dangling agentSourcedIds", replace("users.csv", "5004,,,,p-kim", "5004,,,,p-nobody"),
     ("users.csv", 5, "agentSourcedIds"), "'p-nobody' names no user in users.csv."),
    ("duplicate sourcedId", replace("users.csv", "p-lee,,,true", "p-kim,,,true"), ("users.csv", 9, "sourcedId"),
     "Duplicate sourcedId 'p-kim' (first on line 8)."),
    ("row with too few fields", replace("users.csv", "org-e,,\np-maria", "org-e\np-maria"),
     ("users.csv", 5, "pronouns"), "Malformed row: 22 fields where the header has 24."),
    ("unclosed quote", replace("users.csv", '"p-maria",03', '"p-maria,03'), ("users.csv", 2, ""),
     "Malformed CSV: ',' expected after '\"' (the record breaks on line 3)."),
    ("invalid e-mail address", replace("users.csv", "lee@example.org", "lee at example"),
     ("users.csv", 9, "email"), "'lee at example' is not a valid e-mail address."),
    ("empty student name", replace("users.csv", "Dan,Kim", ",Kim"), ("users.csv", 5, "givenName"),
     "givenName is empty."),
    ("two guardians with one global identifier", replace("users.csv", "lee@example.org", "kim@example.org"),
     ("users.csv", 9, "email"), "Two guardians map to the global identifier 'kim@example.org' (first on line 8)."),
    ("restriction for a student not linked", replace("users.csv", '"s-ana,s-ben",,,,,,,,,,s-ben',
                                                     '"s-ana,s-ben",,,,,,,,,,s-cara'),
     ("users.csv", 6, "metadata.guardianRestricted"),
     "'s-cara' is not one of this guardian's students in agentSourcedIds."),
    ("restriction on a student row", replace("users.csv", "org-e,,\ns-ben", "org-e,,s-ana\ns-ben"),
     ("users.csv", 2, "metadata.guardianRestricted"),
     "metadata.guardianRestricted is only allowed on parent or guardian rows."),
    ("bad enabledUser", replace("users.csv", "p-kim,,,true", "p-kim,,,yes"), ("users.csv", 8, "enabledUser"),
     "enabledUser must be 'true' or 'false'."),
    ("dangling org", replace("users.csv", "01,,,,,,,org-e", "01,,,,,,,org-x"), ("users.csv", 5, "primaryOrgSourcedId"),
     "'org-x' names no org in orgs.csv."),
    ("not UTF-8", replace_bytes("users.csv", b"Dan,Kim", b"D\xf1n,Kim"), ("users.csv", 5, ""),
     "The file is not valid UTF-8."),
    ("unknown role", replace("roles.csv", "p-kim,primary,parent", "p-kim,primary,mother"), ("roles.csv", 8, "role"),
     "Unknown role 'mother'."),
    ("role for nobody", replace("roles.csv", "r8,,,p-lee", "r8,,,p-ghost"), ("users.csv", 9, "sourcedId"),
     "The user 'p-lee' has no role in roles.csv."),
    ("delta users file", replace("manifest.csv", "file.users,bulk", "file.users,delta"),
     ("manifest.csv", 22, "value"),
     "users must be a bulk file: a full roster is needed to know who left (the manifest says 'delta')."),
    ("unsupported version", replace("manifest.csv", "oneroster.version,1.2", "oneroster.version,1.0"),
     ("manifest.csv", 3, "value"), "OneRoster version '1.0' is not supported (1.2 or 1.1)."),
    ("dangling parent org", replace("orgs.csv", "RE,org-d", "RE,org-q"), ("orgs.csv", 3, "parentSourcedId"),
     "parentSourcedId 'org-q' names no org in orgs.csv."),
]


@pytest.mark.parametrize(("mutate", "where", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_roster_is_reported_with_file_line_and_column_and_writes_nothing(district, tmp_path, mutate, where,
                                                                            message):
    run(district, ROSTERS / "first")
    before = snapshot()
    folder = copy_roster("second", tmp_path)
    mutate(folder)
    with pytest.raises(RosterError) as exc:
        run(district, folder)
    error = exc.value
    assert (error.file, error.line, error.column) == where
    assert error.message == message
    assert snapshot() == before
    sync = RosterSync.objects.filter(district=district).first()
    assert sync.outcome == RosterSync.Outcome.FAILED
    assert sync.message == str(error)
    assert sync.counts["counts"]["guardians_added"] == 0


def test_a_file_that_is_not_a_zip_archive_is_refused(tmp_path):
    junk = tmp_path / "roster.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(RosterError, match="not a readable zip archive"):
        ZipSource(junk)


def test_the_header_must_have_the_column_the_district_maps_the_global_id_from(district):
    from roster.services import roster_settings_update

    roster_settings_update(district=district, global_id_field="metadata.portalId")
    with pytest.raises(RosterError) as exc:
        run(district, ROSTERS / "first")
    assert str(exc.value) == (
        "users.csv, line 1: The district maps the guardian global identifier from 'metadata.portalId', "
        "which the header lacks."
    )
