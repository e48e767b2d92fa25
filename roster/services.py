"""Roster writes: apply a OneRoster roster to one district, all or nothing.

`roster_import` reads the roster twice as a stream (first to check every row and index the
sourcedIds, then to compare with the database and write in batches), so memory grows with the
number of people (a few compact dicts and arrays), never with the width of the files, and no
query is made per row. Everything happens in one transaction: any error, a refused
deactivation share or a dry run rolls the whole district back.

It keeps the invariants of `forms_catalog.services`: a Django user is created for every new
guardian (`guardian_username`, unusable password), `(district, sis_id)` and `(district, global_id)`
stay unique, field lengths and e-mail addresses are validated before anything is written, and
records absent from the roster are deactivated, never deleted.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from forms_catalog.models import District, FormLock, Guardian, GuardianStudent, Student
from forms_catalog.services import guardian_username

from . import oneroster as orr
from .models import RosterSettings, RosterSync

BATCH = 2000
LIST_LIMIT = 100
DISABLED = 0x10  # flag on a kind: enabledUser=false or status=tobedeleted (treated as absent)

COUNT_KEYS = (
    "students_added", "students_updated", "students_reactivated", "students_deactivated",
    "guardians_added", "guardians_updated", "guardians_reactivated", "guardians_deactivated",
    "links_added", "links_reactivated", "links_deactivated", "links_restricted", "links_unrestricted",
    "locks_released", "relatives_without_access", "disabled_users",
    "students_in_roster", "guardians_in_roster", "links_in_roster",
)
CHANGE_KEYS = (
    "students_added", "students_updated", "students_reactivated", "students_deactivated",
    "guardians_added", "guardians_updated", "guardians_reactivated", "guardians_deactivated",
    "links_added", "links_reactivated", "links_deactivated", "links_restricted", "links_unrestricted",
)
_email = EmailValidator()
# A narrower pattern than EmailValidator's: what it matches, the validator accepts too; anything
# else still goes to the validator (this only spares its cost on the common address).
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\Z"
)


class RosterRefused(orr.RosterError):
    """The roster would deactivate more than the district allows; run again with force."""


@dataclass
class Report:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    lists: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False
    forced: bool = False
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds

    def add(self, key: str, label: str = "", n: int = 1) -> None:
        self.counts[key] += n
        if label:
            items = self.lists.setdefault(key, [])
            if len(items) < LIST_LIMIT:
                items.append(label)

    @property
    def changes(self) -> int:
        return sum(self.counts[k] for k in CHANGE_KEYS)

    def as_dict(self) -> dict:
        return {"counts": dict(self.counts), "lists": {k: v for k, v in self.lists.items() if v}}


class _DryRun(Exception):
    pass


def _insert(model, columns: list[str], rows: list[tuple]) -> list[int]:
    """Insert `rows` (values for `columns`) and return the new ids in order.

    PostgreSQL: ids are reserved from the table's sequence in one query and the rows are sent
    with COPY. Elsewhere: `bulk_create` (which returns the ids on SQLite 3.35+).
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        from psycopg import sql

        table = model._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
            )
            ids = [row[0] for row in cursor.fetchall()]
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in ["id", *columns])
            )
            with cursor.cursor.copy(statement) as copy:
                for pk, row in zip(ids, rows, strict=True):
                    copy.write_row((pk, *(json.dumps(v) if isinstance(v, dict) else v for v in row)))
        return ids
    objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objs, batch_size=BATCH)
    return [obj.pk for obj in objs]


def _unusable_password() -> str:
    # What make_password(None) stores, without its per-character random.choice loop.
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


# --- Settings --------------------------------------------------------------------------------


def roster_settings_for(district: District) -> RosterSettings:
    """The district's roster settings, defaults when never saved (not written)."""
    return RosterSettings.objects.filter(district=district).first() or RosterSettings(district=district)


@transaction.atomic
def roster_settings_update(*, district: District, client_secret: str | None = None, **values) -> RosterSettings:
    """Save the district's roster settings; `client_secret` replaces the stored secret when given."""
    obj = RosterSettings.objects.select_for_update().filter(district=district).first() or RosterSettings(
        district=district
    )
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    if client_secret:
        obj.set_client_secret(client_secret)
        changed.append("rest_client_secret_encrypted")
    if obj.pk and not changed:
        return obj
    obj.full_clean()
    if obj.pk:
        obj.save(update_fields=changed)
    else:
        obj.save()
    return obj


# --- Import ----------------------------------------------------------------------------------


def roster_import(
    *,
    district: District,
    source: orr.RosterSource,
    dry_run: bool = False,
    force: bool = False,
    started_by=None,
    sync_source: str = RosterSync.Source.CSV,
) -> tuple[Report, RosterSync]:
    """Apply `source` to `district` in one transaction and record the run.

    Raises RosterError (bad input) or RosterRefused (too many deactivations); in both cases
    nothing of the roster is written, only the failed RosterSync record.
    """
    started = timezone.now()
    report = Report(dry_run=dry_run, forced=force)
    outcome, message = RosterSync.Outcome.APPLIED, ""
    error: orr.RosterError | None = None
    try:
        with transaction.atomic():
            # One import per district at a time: lock (or create) its settings row.
            RosterSettings.objects.get_or_create(district=district)
            conf = RosterSettings.objects.select_for_update().get(district=district)
            try:
                _Importer(district, conf, source, report).run(force=force)
            except IntegrityError as exc:
                raise orr.RosterError(f"The roster conflicts with data already stored ({exc}).") from exc
            if dry_run:
                raise _DryRun
    except _DryRun:
        outcome = RosterSync.Outcome.DRY_RUN
    except RosterRefused as exc:
        outcome, message, error = RosterSync.Outcome.REFUSED, str(exc), exc
    except orr.RosterError as exc:
        outcome, message, error = RosterSync.Outcome.FAILED, str(exc), exc
        report = Report(dry_run=dry_run, forced=force)
    sync = _record(district=district, source=sync_source, outcome=outcome, started=started, force=force,
                   report=report, message=message, started_by=started_by)
    if error is not None:
        error.sync = sync
        error.report = report
        raise error
    return report, sync


def _record(*, district, source, outcome, started, force, report, message, started_by) -> RosterSync:
    sync = RosterSync(
        district=district,
        source=source,
        outcome=outcome,
        started_at=started,
        finished_at=timezone.now(),
        forced=force,
        counts=report.as_dict(),
        message=message,
        started_by=started_by if getattr(started_by, "pk", None) else None,
    )
    sync.full_clean()
    sync.save()
    return sync


def roster_sync(*, district: District, dry_run: bool = False, force: bool = False,
                started_by=None) -> tuple[Report, RosterSync]:
    """Pull the district's roster from its OneRoster REST endpoint and import it (see roster_import).

    Every page is fetched before anything is applied: a failed token request or page records a
    failed sync and raises RosterError with the district untouched.
    """
    from . import rest

    conf = roster_settings_for(district)
    started = timezone.now()
    with tempfile.TemporaryDirectory(prefix="roster-rest-") as folder:
        try:
            source = rest.fetch_roster(conf, Path(folder))
        except orr.RosterError as exc:
            report = Report(dry_run=dry_run, forced=force)
            exc.sync = _record(district=district, source=RosterSync.Source.REST, outcome=RosterSync.Outcome.FAILED,
                               started=started, force=force, report=report, message=str(exc),
                               started_by=started_by)
            exc.report = report
            raise
        return roster_import(district=district, source=source, dry_run=dry_run, force=force,
                             started_by=started_by, sync_source=RosterSync.Source.REST)


class _Importer:
    def __init__(self, district: District, conf: RosterSettings, source: orr.RosterSource, report: Report):
        self.district = district
        self.conf = conf
        self.source = source
        self.report = report
        self.index: dict[str, int] = {}  # sourcedId -> ordinal
        self.sids: list[str] = []  # ordinal -> sourcedId
        self.kinds = bytearray()  # ordinal -> kind | DISABLED
        self.lines = array("I")  # ordinal -> line in users.csv
        self.dbid = array("q")  # ordinal -> Student/Guardian id once written (0 = none)
        self.orgs: dict[str, str] = {}

    # -- reading ---------------------------------------------------------------------------

    def _timed(self, phase: str, started: float) -> float:
        now = time.perf_counter()
        self.report.timings[phase] = round(now - started, 2)
        return now

    def run(self, *, force: bool) -> None:
        t = time.perf_counter()
        props = orr.read_manifest(self.source)
        if props.get("file.orgs") == "bulk":
            self._read_orgs()
        users = orr.CsvFile(self.source, "users.csv", known=orr.USERS_COLUMNS_12 + orr.USERS_COLUMNS_11_EXTRA,
                            required=orr.USERS_REQUIRED)
        self._check_columns(users)
        roles = self._read_roles() if "role" not in users.columns else None
        t = self._timed("read_roles_orgs", t)
        self._pass_index(users, roles)
        del roles
        t = self._timed("check_and_index", t)
        self._pass_apply(users)
        t = self._timed("students_guardians", t)
        self._apply_links()
        t = self._timed("links", t)
        self._deactivate_absent()
        self._release_locks()
        self._check_share(force)
        self._timed("deactivate_locks", t)

    def _read_orgs(self) -> None:
        orgs = orr.CsvFile(self.source, "orgs.csv", known=orr.ORGS_COLUMNS, required=orr.ORGS_REQUIRED)
        c_id, c_name, c_parent = orgs.columns["sourcedId"], orgs.columns["name"], orgs.columns.get("parentSourcedId")
        parents: list[tuple[int, str]] = []
        lines: dict[str, int] = {}
        for line, row in orgs.rows():
            sid = row[c_id].strip()
            if not sid:
                raise orgs.error("sourcedId is empty.", line=line, column="sourcedId")
            if sid in self.orgs:
                raise orgs.error(f"Duplicate sourcedId {sid!r} (first on line {lines[sid]}).", line=line,
                                 column="sourcedId")
            name = row[c_name].strip()
            if not name:
                raise orgs.error("name is empty.", line=line, column="name")
            self.orgs[sid], lines[sid] = name, line
            if c_parent is not None and row[c_parent].strip():
                parents.append((line, row[c_parent].strip()))
        for line, parent in parents:
            if parent not in self.orgs:
                raise orgs.error(f"parentSourcedId {parent!r} names no org in orgs.csv.", line=line,
                                 column="parentSourcedId")

    def _check_columns(self, users: orr.CsvFile) -> None:
        gid_field = self.conf.global_id_field
        if gid_field not in users.columns:
            raise users.error(
                f"The district maps the guardian global identifier from {gid_field!r}, which the header lacks.",
                line=1,
            )
        if self.conf.student_id_field not in users.columns:
            raise users.error(
                f"The district maps the student SIS ID from {self.conf.student_id_field!r}, which the header lacks.",
                line=1,
            )

    def _read_roles(self) -> dict[str, int]:
        roles = orr.CsvFile(self.source, "roles.csv", known=orr.ROLES_COLUMNS, required=orr.ROLES_REQUIRED)
        c_user, c_role = roles.columns["userSourcedId"], roles.columns["role"]
        c_status = roles.columns.get("status")
        c_type = roles.columns["roleType"]
        result: dict[str, int] = {}  # userSourcedId -> line * 8 + kind
        for line, row in roles.rows():
            if c_status is not None and row[c_status].strip() == "tobedeleted":
                continue
            role = row[c_role].strip()
            kind = orr.ROLE_KINDS.get(role)
            if kind is None:
                raise roles.error(f"Unknown role {role!r}.", line=line, column="role")
            if row[c_type].strip() not in ("primary", "secondary"):
                raise roles.error("roleType must be 'primary' or 'secondary'.", line=line, column="roleType")
            user = row[c_user].strip()
            if not user:
                raise roles.error("userSourcedId is empty.", line=line, column="userSourcedId")
            previous = result.get(user)
            if previous is None or orr.KIND_PRIORITY.index(kind) < orr.KIND_PRIORITY.index(previous & 7):
                result[user] = line * 8 + kind
        return result

    def _kind_from_role(self, users: orr.CsvFile, line: int, value: str) -> int:
        kind = orr.ROLE_KINDS.get(value)
        if kind is None:
            raise users.error(f"Unknown role {value!r}.", line=line, column="role")
        return kind

    def _pass_index(self, users: orr.CsvFile, roles: dict[str, int] | None) -> None:
        """First pass: every row checked, every sourcedId indexed; no database access."""
        cols = users.columns
        c_sid, c_status, c_enabled = cols["sourcedId"], cols.get("status"), cols["enabledUser"]
        c_role = cols.get("role")
        c_restricted = cols.get(orr.RESTRICTED_COLUMN)
        student_keys: dict[str, int] = {}
        guardian_keys: dict[str, int] = {}
        for line, row in users.rows():
            sid = row[c_sid].strip()
            if not sid:
                raise users.error("sourcedId is empty.", line=line, column="sourcedId")
            if sid in self.index:
                first = self.lines[self.index[sid]]
                raise users.error(f"Duplicate sourcedId {sid!r} (first on line {first}).", line=line,
                                  column="sourcedId")
            if c_role is not None:
                kind = self._kind_from_role(users, line, row[c_role].strip())
            else:
                coded = roles.get(sid)
                if coded is None:
                    raise users.error(f"The user {sid!r} has no role in roles.csv.", line=line, column="sourcedId")
                kind = coded & 7
            status = row[c_status].strip() if c_status is not None else ""
            if status not in ("", "active", "tobedeleted"):
                raise users.error("status must be empty, 'active' or 'tobedeleted'.", line=line, column="status")
            enabled = row[c_enabled].strip().lower()
            if enabled not in ("true", "false"):
                raise users.error("enabledUser must be 'true' or 'false'.", line=line, column="enabledUser")
            disabled = enabled == "false" or status == "tobedeleted"
            if c_restricted is not None and row[c_restricted].strip() and (kind != orr.GUARDIAN):
                raise users.error(f"{orr.RESTRICTED_COLUMN} is only allowed on parent or guardian rows.",
                                  line=line, column=orr.RESTRICTED_COLUMN)
            if not disabled and kind == orr.STUDENT:
                key = self._student_values(users, line, row)[0]
                if key in student_keys:
                    raise users.error(
                        f"Two students map to the SIS ID {key!r} (first on line {student_keys[key]}).",
                        line=line, column=self.conf.student_id_field,
                    )
                student_keys[key] = line
            elif not disabled and kind == orr.GUARDIAN:
                key = self._guardian_values(users, line, row)[0]
                if key in guardian_keys:
                    raise users.error(
                        f"Two guardians map to the global identifier {key!r} (first on line {guardian_keys[key]}).",
                        line=line, column=self.conf.global_id_field,
                    )
                guardian_keys[key] = line
            self.index[sid] = len(self.sids)
            self.sids.append(sid)
            self.kinds.append(kind | (DISABLED if disabled else 0))
            self.lines.append(line)
        if roles is not None:
            for user, coded in roles.items():
                if user not in self.index:
                    raise orr.RosterError(f"userSourcedId {user!r} names no user in users.csv.",
                                          file=self.source.label("roles.csv"), line=coded >> 3,
                                          column="userSourcedId")
            # The role of each user is now in self.kinds.

    def _text(self, users, line, row, column, *, max_length, required=False) -> str:
        index = users.columns.get(column)
        value = row[index].strip() if index is not None else ""
        if required and not value:
            raise users.error(f"{column} is empty.", line=line, column=column)
        if len(value) > max_length:
            raise users.error(f"{column} is longer than {max_length} characters.", line=line, column=column)
        return value

    def _student_values(self, users, line, row) -> tuple[str, str, str, str, str]:
        key = self._text(users, line, row, self.conf.student_id_field, max_length=64, required=True)
        first = self._text(users, line, row, "givenName", max_length=100, required=True)
        last = self._text(users, line, row, "familyName", max_length=100, required=True)
        grades = orr.split_ids(self._text(users, line, row, "grades", max_length=500))
        grade = grades[0] if grades else ""
        if len(grade) > 20:
            raise users.error("The grade is longer than 20 characters.", line=line, column="grades")
        school = ""
        org_column = "primaryOrgSourcedId" if "primaryOrgSourcedId" in users.columns else "orgSourcedIds"
        orgs = orr.split_ids(self._text(users, line, row, org_column, max_length=2000))
        if orgs and self.orgs:
            if orgs[0] not in self.orgs:
                raise users.error(f"{orgs[0]!r} names no org in orgs.csv.", line=line, column=org_column)
            school = self.orgs[orgs[0]]
        return key, first, last, grade, school

    def _guardian_values(self, users, line, row) -> tuple[str, str, str, str]:
        gid_field = self.conf.global_id_field
        key = self._text(users, line, row, gid_field, max_length=255, required=True)
        email = self._text(users, line, row, "email", max_length=254)
        if email and not _PLAIN_EMAIL.match(email):
            try:
                _email(email)
            except ValidationError:
                raise users.error(f"{email!r} is not a valid e-mail address.", line=line, column="email") from None
        first = self._text(users, line, row, "givenName", max_length=100)
        last = self._text(users, line, row, "familyName", max_length=100)
        return key, email, first, last

    def _extractors(self, users: orr.CsvFile):
        """Fast value readers for rows already checked by the first pass (same results, no checks)."""
        c = users.columns
        i_key, i_first, i_last = c[self.conf.student_id_field], c["givenName"], c["familyName"]
        i_grades = c.get("grades")
        i_org = c.get("primaryOrgSourcedId", c.get("orgSourcedIds"))
        i_gid, i_email = c[self.conf.global_id_field], c["email"]
        orgs = self.orgs

        def first_id(value: str) -> str:
            return next((p.strip() for p in value.split(",") if p.strip()), "")

        def student(row):
            grade = first_id(row[i_grades]) if i_grades is not None else ""
            org = first_id(row[i_org]) if i_org is not None and orgs else ""
            return (row[i_key].strip(), row[i_first].strip(), row[i_last].strip(), grade,
                    orgs[org] if org else "")

        def guardian(row):
            return row[i_gid].strip(), row[i_email].strip(), row[i_first].strip(), row[i_last].strip()

        return student, guardian

    # -- writing ---------------------------------------------------------------------------

    def _pass_apply(self, users: orr.CsvFile) -> None:
        """Second pass: references checked, students and guardians written in batches, links collected."""
        report = self.report
        self.dbid = array("q", bytes(8 * len(self.sids)))
        self._load_existing()
        self.links: set[int] = set()  # guardian ordinal << 32 | student ordinal
        self.restricted: set[int] = set()
        cols = users.columns
        c_sid, c_agents = cols["sourcedId"], cols["agentSourcedIds"]
        c_restricted = cols.get(orr.RESTRICTED_COLUMN)
        index, kinds = self.index, self.kinds
        self._new_students, self._changed_students = [], []
        self._new_guardians, self._changed_guardians = [], []
        student_values, guardian_values = self._extractors(users)
        for line, row in users.rows():
            ordinal = index[row[c_sid].strip()]
            kind = kinds[ordinal]
            if kind & DISABLED:
                report.add("disabled_users")
                continue
            if kind == orr.OTHER:
                continue
            agents = orr.split_ids(row[c_agents])
            targets = []
            for agent in agents:
                other = index.get(agent)
                if other is None:
                    raise users.error(f"{agent!r} names no user in users.csv.", line=line, column="agentSourcedIds")
                targets.append(other)
            if kind == orr.STUDENT:
                report.add("students_in_roster")
                self._student_row(ordinal, student_values(row))
                for other in targets:
                    if kinds[other] == orr.GUARDIAN:
                        self.links.add(other << 32 | ordinal)
            elif kind == orr.GUARDIAN:
                report.add("guardians_in_roster")
                self._guardian_row(ordinal, guardian_values(row))
                for other in targets:
                    if kinds[other] == orr.STUDENT:
                        self.links.add(ordinal << 32 | other)
                restricted = orr.split_ids(row[c_restricted]) if c_restricted is not None else []
                for sid in restricted:
                    other = index.get(sid)
                    if other is None or other not in targets or kinds[other] & 7 != orr.STUDENT:
                        raise users.error(
                            f"{sid!r} is not one of this guardian's students in agentSourcedIds.",
                            line=line, column=orr.RESTRICTED_COLUMN,
                        )
                    self.restricted.add(ordinal << 32 | other)
            elif kind == orr.RELATIVE:
                report.add("relatives_without_access", row[c_sid].strip())
            if len(self._new_students) >= BATCH or len(self._changed_students) >= BATCH:
                self._flush_students()
            if len(self._new_guardians) >= BATCH or len(self._changed_guardians) >= BATCH:
                self._flush_guardians()
        self._flush_students()
        self._flush_guardians()

    def _load_existing(self) -> None:
        self.existing_students: dict[str, tuple[int, bool, int]] = {}
        self.active_students_before = 0
        rows = (
            Student.objects.filter(district=self.district)
            .values_list("sis_id", "id", "active", "first_name", "last_name", "grade", "sis_data__school")
            .iterator(chunk_size=5000)
        )
        for sis_id, pk, active, first, last, grade, school in rows:
            self.existing_students[sis_id] = (pk, active, hash((first, last, grade, school or "")))
            self.active_students_before += active
        self.existing_guardians: dict[str, tuple[int, bool, int]] = {}
        self.active_guardians_before = 0
        rows = (
            Guardian.objects.filter(district=self.district)
            .values_list("global_id", "id", "active", "email", "first_name", "last_name")
            .iterator(chunk_size=5000)
        )
        for global_id, pk, active, email, first, last in rows:
            self.existing_guardians[global_id] = (pk, active, hash((email, first, last)))
            self.active_guardians_before += active

    def _student_row(self, ordinal: int, values) -> None:
        key = values[0]
        existing = self.existing_students.pop(key, None)
        if existing is None:
            self._new_students.append((ordinal, values))
            self.report.add("students_added", key)
            return
        pk, active, digest = existing
        self.dbid[ordinal] = pk
        if not active:
            self._changed_students.append((pk, values))
            self.report.add("students_reactivated", key)
        elif digest != hash(values[1:]):
            self._changed_students.append((pk, values))
            self.report.add("students_updated", key)

    def _flush_students(self) -> None:
        if self._new_students:
            ids = _insert(
                Student,
                ["district_id", "sis_id", "first_name", "last_name", "grade", "sis_data", "active"],
                [(self.district.pk, key, first, last, grade, {"school": school} if school else {}, True)
                 for _, (key, first, last, grade, school) in self._new_students],
            )
            for (ordinal, _), pk in zip(self._new_students, ids, strict=True):
                self.dbid[ordinal] = pk
            self._new_students = []
        if self._changed_students:
            objs = Student.objects.in_bulk([pk for pk, _ in self._changed_students])
            for pk, (_key, first, last, grade, school) in self._changed_students:
                obj = objs[pk]
                obj.first_name, obj.last_name, obj.grade, obj.active = first, last, grade, True
                data = dict(obj.sis_data or {})
                if school:
                    data["school"] = school
                else:
                    data.pop("school", None)
                obj.sis_data = data
            Student.objects.bulk_update(list(objs.values()), ["first_name", "last_name", "grade", "sis_data",
                                                              "active"], batch_size=BATCH)
            self._changed_students = []

    def _guardian_row(self, ordinal: int, values) -> None:
        key = values[0]
        existing = self.existing_guardians.pop(key, None)
        if existing is None:
            self._new_guardians.append((ordinal, values))
            self.report.add("guardians_added", key)
            return
        pk, active, digest = existing
        self.dbid[ordinal] = pk
        if not active:
            self._changed_guardians.append((pk, values))
            self.report.add("guardians_reactivated", key)
        elif digest != hash(values[1:]):
            self._changed_guardians.append((pk, values))
            self.report.add("guardians_updated", key)

    def _flush_guardians(self) -> None:
        User = get_user_model()
        if self._new_guardians:
            now = timezone.now()
            user_ids = _insert(
                User,
                ["password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
                 "is_active", "date_joined"],
                [(_unusable_password(), False, guardian_username(self.district, key), first[:150], last[:150],
                  email, False, True, now)
                 for _, (key, email, first, last) in self._new_guardians],
            )
            ids = _insert(
                Guardian,
                ["district_id", "user_id", "global_id", "email", "first_name", "last_name", "active"],
                [(self.district.pk, user_id, key, email, first, last, True)
                 for (_, (key, email, first, last)), user_id in zip(self._new_guardians, user_ids, strict=True)],
            )
            for (ordinal, _), pk in zip(self._new_guardians, ids, strict=True):
                self.dbid[ordinal] = pk
            self._new_guardians = []
        if self._changed_guardians:
            objs = Guardian.objects.select_related("user").in_bulk([pk for pk, _ in self._changed_guardians])
            for pk, (_key, email, first, last) in self._changed_guardians:
                obj = objs[pk]
                obj.email, obj.first_name, obj.last_name, obj.active = email, first, last, True
                obj.user.email, obj.user.first_name, obj.user.last_name = email, first[:150], last[:150]
            Guardian.objects.bulk_update(list(objs.values()), ["email", "first_name", "last_name", "active"],
                                         batch_size=BATCH)
            User.objects.bulk_update([o.user for o in objs.values()], ["email", "first_name", "last_name"],
                                     batch_size=BATCH)
            self._changed_guardians = []

    def _apply_links(self) -> None:
        report, dbid, sids = self.report, self.dbid, self.sids
        existing: dict[int, int] = {}  # guardian_id << 32 | student_id -> id << 2 | restricted << 1 | active
        rows = (
            GuardianStudent.objects.filter(guardian__district=self.district)
            .values_list("id", "guardian_id", "student_id", "restricted", "active")
            .iterator(chunk_size=5000)
        )
        for pk, guardian_id, student_id, restricted, active in rows:
            existing[guardian_id << 32 | student_id] = pk << 2 | restricted << 1 | active
        new: list[tuple] = []
        columns = ["guardian_id", "student_id", "restricted", "active"]
        updates: dict[tuple[bool, bool], list[int]] = {(True, True): [], (False, True): [], (False, False): []}
        restricted_set = self.restricted
        for pair in self.links:
            g, s = pair >> 32, pair & 0xFFFFFFFF
            restricted = pair in restricted_set
            key = dbid[g] << 32 | dbid[s]
            label = f"{sids[g]} → {sids[s]}"
            report.add("links_in_roster")
            value = existing.pop(key, None)
            if value is None:
                new.append((dbid[g], dbid[s], restricted, True))
                report.add("links_added", label)
                if restricted:
                    report.add("links_restricted", label)
                if len(new) >= BATCH:
                    _insert(GuardianStudent, columns, new)
                    new = []
                continue
            was_restricted, was_active = bool(value & 2), bool(value & 1)
            if was_restricted == restricted and was_active:
                continue
            updates[(restricted, True)].append(value >> 2)
            if not was_active:
                report.add("links_reactivated", label)
            if restricted and not was_restricted:
                report.add("links_restricted", label)
            elif was_restricted and not restricted:
                report.add("links_unrestricted", label)
        _insert(GuardianStudent, columns, new)
        gone = [value >> 2 for value in existing.values() if value & 1]
        updates[(False, False)] = gone
        report.add("links_deactivated", n=len(gone))
        if gone:
            labels = (
                GuardianStudent.objects.filter(id__in=gone[:LIST_LIMIT])
                .values_list("guardian__global_id", "student__sis_id")
            )
            report.lists["links_deactivated"] = [f"{g} → {s}" for g, s in labels]
        for (restricted, active), ids in updates.items():
            for start in range(0, len(ids), BATCH):
                batch = ids[start:start + BATCH]
                if active:
                    GuardianStudent.objects.filter(id__in=batch).update(restricted=restricted, active=True)
                else:
                    GuardianStudent.objects.filter(id__in=batch).update(active=False)

    def _deactivate_absent(self) -> None:
        for model, existing, key in (
            (Student, self.existing_students, "students_deactivated"),
            (Guardian, self.existing_guardians, "guardians_deactivated"),
        ):
            ids = []
            for label, (pk, active, _) in existing.items():
                if active:
                    ids.append(pk)
                    self.report.add(key, label)
            for start in range(0, len(ids), BATCH):
                model.objects.filter(id__in=ids[start:start + BATCH]).update(active=False)

    def _release_locks(self) -> None:
        """A restriction or a removal takes effect at once: open form tabs it forbids lose their lock (R9)."""
        granting = GuardianStudent.objects.filter(
            guardian_id=OuterRef("guardian_id"), student_id=OuterRef("student_id"), active=True, restricted=False,
            guardian__active=True, student__active=True,
        )
        released, _ = FormLock.objects.filter(guardian__district=self.district).exclude(Exists(granting)).delete()
        self.report.add("locks_released", n=released)

    def _check_share(self, force: bool) -> None:
        limit = self.conf.max_deactivate_percent
        for kind, before in (("students", self.active_students_before), ("guardians", self.active_guardians_before)):
            gone = self.report.counts[f"{kind}_deactivated"]
            if before and gone * 100 > before * limit and not force:
                raise RosterRefused(
                    f"The roster would deactivate {gone} of {before} active {kind} "
                    f"({gone * 100 / before:.1f}%), more than the district's limit of {limit}%. "
                    "Check that the export is complete, or force the import."
                )
