"""Malformed scenario files (SCENARIOS.md): the message names the JSON path, the exit is non-zero,
and nothing is written.

Each bad file first changes valid data (renames the district, adds a student) before the part at
fault, so an unchanged database proves the whole file was rolled back, not merely stopped early.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.forms_catalog.scenarios import BASE, counts, document, snapshot, write

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def d0(data: dict) -> dict:
    return data["districts"][0]


def with_earlier_changes(data: dict) -> dict:
    d = d0(data)
    d["name"] = "Renamed Before The Error"
    d["students"].insert(0, {"sis_id": "9000", "first_name": "New", "last_name": "Student"})
    return data


def mutate(fn):
    data = with_earlier_changes(document())
    fn(d0(data))
    return data


# Each case: (id, bad document or raw text, the message after "<file>: ").
CASES = [
    ("unknown-field", mutate(lambda d: d.update(colour="blue")), "districts[0].colour: unknown field"),
    ("unknown-field-in-form", mutate(lambda d: d["forms"][1].update(kind="x")),
     "districts[0].forms[1].kind: unknown field"),
    ("missing-key", mutate(lambda d: d["students"][2].pop("last_name")),
     "districts[0].students[2].last_name: missing required field"),
    ("missing-form-key", mutate(lambda d: d["forms"][0].pop("key")),
     "districts[0].forms[0].key: missing required field"),
    ("dangling-student-in-link", mutate(lambda d: d["guardians"][0]["students"].append({"sis_id": "4040"})),
     'districts[0].guardians[0].students[2].sis_id: no student with sis_id "4040" in district "maple"'),
    ("dangling-student-in-submission", mutate(lambda d: d["submissions"][0].update(student="4040")),
     'districts[0].submissions[0].student: no student with sis_id "4040" in district "maple"'),
    ("dangling-student-in-packet", mutate(lambda d: d["packets"][1].update(students=["1002", "7"])),
     'districts[0].packets[1].students[1]: no student with sis_id "7" in district "maple"'),
    ("dangling-guardian", mutate(lambda d: d["submissions"][0].update(started_by="g-nobody")),
     'districts[0].submissions[0].started_by: no guardian with global_id "g-nobody"'),
    ("dangling-packet", mutate(lambda d: d["forms"][5].update(packet="nope")),
     'districts[0].forms[5].packet: no packet with key "nope"'),
    ("dangling-form-in-submission", mutate(lambda d: d["submissions"][2].update(form="ghost")),
     'districts[0].submissions[2].form: no form with key "ghost" in district "maple"'),
    ("dangling-form-in-selection", mutate(lambda d: d.update(available_forms={"mode": "manual", "forms": ["ghost"]})),
     'districts[0].available_forms.forms[0]: no form with key "ghost" in district "maple"'),
    ("express-form-in-selection", mutate(lambda d: d.update(available_forms={"mode": "manual", "forms": ["media"]})),
     'districts[0].available_forms.forms[0]: form "media" is not an enrollment form'),
    ("bad-enum-status", mutate(lambda d: d["forms"][0].update(status="archived")),
     'districts[0].forms[0].status: "archived" is not one of open|closed|scheduled'),
    ("bad-enum-environment", mutate(lambda d: d.update(environment="EU")),
     'districts[0].environment: "EU" is not one of US1|US2|CAN'),
    ("bad-enum-workspace", mutate(lambda d: d["submissions"][1].update(workspace="lost")),
     'districts[0].submissions[1].workspace: "lost" is not one of '
     "not_imported|pending_approval|approved|discarded|rejected"),
    ("bad-enum-available-mode", mutate(lambda d: d["available_forms"].update(mode="all")),
     'districts[0].available_forms.mode: "all" is not one of automatic|none|manual'),
    ("bad-product", mutate(lambda d: d.update(products=["enrollment", "sis"])),
     'districts[0].products[1]: "sis" is not one of enrollment|express'),
    ("no-product", mutate(lambda d: d.update(products=[])),
     "districts[0].products: a district needs at least one product"),
    ("bad-date", mutate(lambda d: d["forms"][3].update(opens_at="2025-13-01")),
     'districts[0].forms[3].opens_at: "2025-13-01" is not a valid ISO 8601 date-time'),
    ("date-not-a-string", mutate(lambda d: d["submissions"][0].update(submitted_at=20250402)),
     "districts[0].submissions[0].submitted_at: expected an ISO 8601 date-time string, got a number"),
    ("closes-before-opens", mutate(lambda d: d["forms"][3].update(closes_at="2025-08-01T00:00:00Z")),
     "districts[0].forms[3].closes_at: The form must close after it opens."),
    ("bad-balance-precision", mutate(lambda d: d["submissions"][0].update(balance="12.345")),
     "districts[0].submissions[0].balance: must have at most two decimal places"),
    ("negative-balance", mutate(lambda d: d["submissions"][0].update(balance="-5")),
     "districts[0].submissions[0].balance: must be a non-negative amount"),
    ("balance-not-an-amount", mutate(lambda d: d["submissions"][0].update(balance="ten")),
     'districts[0].submissions[0].balance: "ten" is not an amount'),
    ("r2-private-for-new-students", mutate(lambda d: d["forms"][2].update(student_type="new")),
     'districts[0].forms[2].student_type: private forms are always for existing students; '
     'student_type must be "existing" (R2)'),
    ("r2-year-round-for-everyone", mutate(lambda d: d["forms"].append(
        {"key": "yru", "name": "Address", "type": "year_round_update", "student_type": "new_and_existing"})),
     'districts[0].forms[7].student_type: year_round_update forms are always for existing students; '
     'student_type must be "existing" (R2)'),
    ("duplicate-form-key", mutate(lambda d: d["forms"].append({"key": "reg", "name": "Again", "type": "public"})),
     'districts[0].forms[7].key: duplicate form "reg"'),
    ("duplicate-student", mutate(lambda d: d["students"].append({"sis_id": "1001", "first_name": "A",
                                                                 "last_name": "B"})),
     'districts[0].students[3].sis_id: duplicate student "1001"'),
    ("duplicate-submission", mutate(lambda d: d["submissions"].append({"form": "reg", "student": "1001"})),
     'districts[0].submissions[3]: a second submission of form "reg" for student "1001"; '
     "a student has one submission per form"),
    ("duplicate-district", None, 'districts[1].slug: duplicate district "maple"'),
    ("slug-not-a-string", mutate(lambda d: d.update(slug=["maple"])),
     "districts[0].slug: expected a string, got a list"),
    ("huge-balance", mutate(lambda d: d["submissions"][0].update(balance="1e30")),
     "districts[0].submissions[0].balance: is too large"),
    ("nan-is-not-json", '{"districts": [{"slug": "maple", "name": "M", "students": [{"sis_id": "1", '
     '"first_name": "A", "last_name": "B", "sis_data": {"weight": NaN}}]}]}',
     "$: not valid JSON (NaN is not a JSON value)"),
    ("not-json", '{"districts": [', "$: not valid JSON (line 1, column 16: Expecting value)"),
    ("top-level-list", "[]", "$: expected an object, got a list"),
    ("submitted-without-submitted-at", mutate(lambda d: d["submissions"][1].pop("submitted_at")),
     "districts[0].submissions[1].submitted_at: a submitted submission needs submitted_at"),
    ("sso-http-issuer", mutate(lambda d: d["sso"].update(issuer="http://idp.maple.example")),
     "districts[0].sso.issuer: The Issuer URL must use https."),
    ("sso-enabled-missing-client-id", mutate(lambda d: d["sso"].pop("client_id")),
     "districts[0].sso.client_id: Client ID is required when Parent SSO is enabled."),
    ("sso-enabled-blank-claim", mutate(lambda d: d["sso"].update(global_identifier_claim="  ")),
     "districts[0].sso.global_identifier_claim: Global Identifier Claim is required when Parent SSO is enabled."),
    ("express-form-with-type", mutate(lambda d: d["forms"][5].update(type="public")),
     "districts[0].forms[5].type: express forms have no form type or student type"),
    ("enrollment-form-with-packet", mutate(lambda d: d["forms"][0].update(packet="bts")),
     "districts[0].forms[0].packet: only express forms belong to a packet"),
    ("boolean-as-text", mutate(lambda d: d.update(mypowerhub_enabled="yes")),
     "districts[0].mypowerhub_enabled: expected true or false, got a string"),
    ("last-page-zero", mutate(lambda d: d["submissions"][2].update(last_page=0)),
     "districts[0].submissions[2].last_page: must be at least 1"),
    ("packet-audience-not-a-list", mutate(lambda d: d["packets"][0].update(students="some")),
     'districts[0].packets[0].students: expected "all" or a list of student sis_ids'),
]


def _duplicate_district() -> dict:
    data = with_earlier_changes(document())
    data["districts"].append(json.loads(json.dumps(BASE["districts"][0])))
    return data


CASES = [(cid, _duplicate_district() if data is None else data, msg) for cid, data, msg in CASES]


def test_there_are_at_least_ten_malformed_files():
    assert len(CASES) >= 10
    assert len({cid for cid, _, _ in CASES}) == len(CASES)


@pytest.fixture
def loaded(tmp_path):
    """The valid base scenario, loaded; returns the database snapshot after it."""
    call_command("load_scenario", write(tmp_path, BASE, "base.json"), stdout=open("/dev/null", "w"))  # noqa: SIM115
    return snapshot()


@pytest.mark.parametrize(("data", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_scenario_names_the_path_exits_non_zero_and_writes_nothing(tmp_path, loaded, data, message):
    path = write(tmp_path, data, "bad.json")
    with pytest.raises(CommandError) as info:
        call_command("load_scenario", path)
    assert str(info.value) == f"{path}: {message}"
    assert snapshot() == loaded


def test_malformed_file_on_an_empty_database_writes_nothing(tmp_path):
    before = counts()
    assert all(n == 0 for label, n in before.items() if label.startswith("forms_catalog."))
    data = document()
    d0(data)["submissions"][0]["balance"] = "1.001"
    path = write(tmp_path, data)
    with pytest.raises(CommandError, match=r"districts\[0\]\.submissions\[0\]\.balance: "):
        call_command("load_scenario", path)
    assert counts() == before


def test_missing_file_is_an_error(tmp_path):
    path = str(tmp_path / "nowhere.json")
    with pytest.raises(CommandError) as info:
        call_command("load_scenario", path)
    assert str(info.value) == f"{path}: $: file not found: {path}"


def test_each_file_is_its_own_transaction(tmp_path, loaded):
    good = document(name="Maple Grove Unified")
    bad = document(name="Never Saved", environment="EU")
    good_path, bad_path = write(tmp_path, good, "good.json"), write(tmp_path, bad, "bad.json")
    with pytest.raises(CommandError, match=r"bad\.json: districts\[0\]\.environment"):
        call_command("load_scenario", good_path, bad_path, stdout=open("/dev/null", "w"))  # noqa: SIM115
    from forms_catalog.models import District

    assert District.objects.get(slug="maple").name == "Maple Grove Unified"


def _table_counts(db_file: Path) -> dict:
    with sqlite3.connect(db_file) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608


def test_load_scenario_process_exits_non_zero_with_the_message_and_writes_nothing(tmp_path):
    """A real `manage.py load_scenario` process against its own SQLite database."""
    db_file = tmp_path / "cli.sqlite3"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{db_file}", "DEBUG": "True",
           "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}

    def manage(*args):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    assert manage("migrate", "--noinput").returncode == 0
    good = manage("load_scenario", write(tmp_path, BASE, "base.json"))
    assert good.returncode == 0, good.stderr
    assert "1 district(s) loaded" in good.stdout
    before = _table_counts(db_file)

    bad_data = with_earlier_changes(document())
    d0(bad_data)["forms"][2]["student_type"] = "new_and_existing"
    bad_path = write(tmp_path, bad_data, "bad.json")
    bad = manage("load_scenario", bad_path)
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.strip() == (
        f'CommandError: {bad_path}: districts[0].forms[2].student_type: private forms are always for existing '
        'students; student_type must be "existing" (R2)'
    )
    assert _table_counts(db_file) == before
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT name FROM forms_catalog_district").fetchall() == [("Maple Grove Schools",)]


def test_the_earlier_changes_of_the_bad_files_would_be_written_by_a_good_file(tmp_path, loaded):
    """The premise of the tests above: without the fault, the same file does change the database."""
    call_command("load_scenario", write(tmp_path, with_earlier_changes(document()), "good.json"),
                 stdout=open("/dev/null", "w"))  # noqa: SIM115
    after = snapshot()
    assert after != loaded
    assert [d["name"] for d in after["forms_catalog.District"]] == ["Renamed Before The Error"]
    assert len(after["forms_catalog.Student"]) == len(loaded["forms_catalog.Student"]) + 1
