"""Fuzzing with Hypothesis: scenario files, roster CSVs and the SSO configuration form never fail with
anything but their own error, and a refused input writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from hypothesis import given
from hypothesis import strategies as st

from forms_catalog.models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission
from forms_catalog.scenario import ScenarioError, load_data
from sso.models import SSOConfiguration

from .fuzzing import FUZZ, JSON, TEXT, mutate, snapshot

pytestmark = pytest.mark.django_db

DOMAIN = (District, Student, Guardian, GuardianStudent, Packet, Form, Submission, LedgerEntry, SSOConfiguration,
          get_user_model())
DEMO = json.loads((Path(settings.BASE_DIR) / "demo" / "district.json").read_text())


@FUZZ
@given(data=st.data())
def test_scenario_files_load_whole_or_not_at_all(data):
    doc = mutate(data, DEMO)
    before = snapshot(*DOMAIN)
    try:
        load_data(doc)
    except ScenarioError as exc:
        assert exc.path.startswith(("$", "districts"))
        assert snapshot(*DOMAIN) == before, f"a refused file wrote data ({exc})"


@FUZZ
@given(doc=JSON)
def test_scenario_loader_refuses_any_json_that_is_not_a_scenario(doc):
    before = snapshot(*DOMAIN)
    try:
        load_data(doc)
    except ScenarioError:
        assert snapshot(*DOMAIN) == before


# --- SSO configuration (R11's static rules; no network: enabled configurations are refused before
# discovery when a rule fails, and the fuzz keeps `enabled` false or the issuer not https) ----------

SSO_FIELDS = ("issuer", "client_id", "client_secret", "global_identifier_claim", "scopes")


@FUZZ
@given(values=st.fixed_dictionaries({}, optional={
    **{name: st.one_of(TEXT, st.none(), st.integers(), st.booleans()) for name in SSO_FIELDS},
    "enabled": st.one_of(st.booleans(), st.none(), TEXT),
}))
def test_sso_configuration_save_answers_field_messages_or_saves(values, cast):
    from sso.services import sso_configuration_save

    issuer = values.get("issuer")
    if values.get("enabled") and isinstance(issuer, str) and issuer.strip().lower().startswith("https://"):
        values["issuer"] = "http://" + issuer.strip()[8:]  # keep the discovery fetch (the network) out
    before = snapshot(SSOConfiguration)
    result = sso_configuration_save(district=cast.district, values=values)
    if result.errors:
        assert not result.saved
        assert set(result.errors) <= set(SSO_FIELDS) | {"enabled"}
        assert all(isinstance(m, str) and m for m in result.errors.values())
        assert snapshot(SSOConfiguration) == before
    else:
        stored = SSOConfiguration.objects.get(district=cast.district)
        assert "\x00" not in stored.issuer
        if values.get("client_secret"):
            assert str(values["client_secret"]) not in stored.client_secret_encrypted


# --- Roster CSVs ---------------------------------------------------------------------------------

ROSTER = Path(settings.BASE_DIR) / "tests" / "roster" / "rosters" / "first"


def _roster_models():
    from roster.models import RosterSettings

    return (*DOMAIN, RosterSettings)


@FUZZ
@given(data=st.data())
def test_roster_csv_imports_whole_or_not_at_all(data, tmp_path_factory):
    import csv
    import io

    from forms_catalog import services
    from roster.oneroster import FolderSource, RosterError
    from roster.services import roster_import, roster_settings_update

    district, _ = services.district_upsert(slug="riverside", name="Riverside Unified")
    roster_settings_update(district=district, global_id_field="email", student_id_field="identifier")
    folder = tmp_path_factory.mktemp("roster")
    for src in ROSTER.iterdir():
        (folder / src.name).write_bytes(src.read_bytes())
    target = data.draw(st.sampled_from(["users.csv", "orgs.csv", "manifest.csv", "roles.csv"]), label="file")
    rows = list(csv.reader(io.StringIO((folder / target).read_text())))
    mode = data.draw(st.sampled_from(["cell", "cell", "cell", "row", "bytes", "header"]), label="mode")
    if mode == "bytes":
        raw = bytearray((folder / target).read_bytes())
        for _ in range(data.draw(st.integers(1, 5))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        (folder / target).write_bytes(bytes(raw))
    else:
        if mode == "cell":
            r = data.draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
            c = data.draw(st.integers(0, len(rows[r]) - 1))
            rows[r][c] = data.draw(TEXT, label="cell")
        elif mode == "row":
            rows.append(data.draw(st.lists(TEXT, max_size=30), label="row"))
        else:
            c = data.draw(st.integers(0, len(rows[0]) - 1))
            rows[0][c] = data.draw(TEXT, label="header")
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        (folder / target).write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
    before = snapshot(*_roster_models())
    try:
        roster_import(district=district, source=FolderSource(folder))
    except RosterError:
        assert snapshot(*_roster_models()) == before
