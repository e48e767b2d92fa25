"""Build a large, realistic district for performance work (docs/performance.md).

    manage.py generate_district [--slug perf] [--seed 1] [--students 100000] [--guardians 180000]
                                [--forms 500] [--submissions 1000000] [--replace]

Rows go in with PostgreSQL COPY (psycopg 3) or, on other databases, batched INSERTs, in one
transaction, with explicit primary keys taken from each table's sequence. Every value comes from a
`random.Random(seed)` and fixed dates, so two runs with the same seed build the same district.

The district holds one well-known student (`BENCH_SIS_ID`) whose well-known guardian
(`BENCH_GUARDIAN`) sees exactly 60 forms (fewer only when the district has fewer forms), for the
benchmark in bench/.
"""

from __future__ import annotations

import json
import random
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from forms_catalog import rules, selectors
from forms_catalog.models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission
from forms_catalog.services import guardian_username

BENCH_SIS_ID = "BENCH-60"
BENCH_GUARDIAN = "bench.parent@perf.example.org"
BENCH_CO_GUARDIAN = "bench.coparent@perf.example.org"
BENCH_VISIBLE = 60

# Fixed instants: nothing depends on the clock, so reruns are identical. Windows of scheduled
# forms are far from today in both directions, so what a parent sees is stable for years.
ANCHOR = datetime(2026, 8, 17, 12, 0, tzinfo=UTC)
CURRENT_WINDOW = (datetime(2026, 7, 1, tzinfo=UTC), datetime(2031, 6, 30, tzinfo=UTC))
PAST_WINDOW = (datetime(2023, 8, 1, tzinfo=UTC), datetime(2024, 6, 30, tzinfo=UTC))
FUTURE_WINDOW = (datetime(2031, 8, 1, tzinfo=UTC), datetime(2032, 6, 30, tzinfo=UTC))



def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Ana Luis Maria Jose Olivia Liam Emma Noah Ava Elijah Sophia Lucas Mia Mateo Isabella Levi Amelia Ezra "
    "Harper Asher Evelyn James Abigail Leo Emily Kai Ella Aiden Camila Ethan Luna Daniel Sofia Wei Mei Arjun "
    "Priya Omar Fatima Yusuf Aisha Chen Hana Kenji Nia Kofi Amara Diego Valentina Ivan Anya Tomas Ingrid"
)
LAST_NAMES = _words(
    "Garcia Smith Johnson Williams Brown Jones Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Kim Patel Okafor Haddad Novak Silva"
)
GRADES = ("K", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12")
STREETS = ("Oak St", "Maple Ave", "Pine Rd", "Cedar Ln", "Elm St", "Lakeview Dr", "Hillcrest Rd", "Main St")
TOPICS = (
    "Emergency Contact Update", "Health History", "Transportation Request", "Photo Release",
    "Technology Use Agreement", "Meal Benefits Application", "Home Language Survey", "Athletics Participation",
    "Field Trip Permission", "Medication Authorization", "Residency Verification", "Enrollment Registration",
    "Immunization Record", "Special Education Consent", "Directory Information Opt-Out", "Bus Rider Agreement",
    "After-School Program", "Library Card Application", "Music Program Sign-Up", "Device Insurance",
    "Yearbook Order", "Volunteer Application", "Counseling Consent", "Attendance Policy Acknowledgement",
    "Dress Code Acknowledgement",
)
PAST_YEARS = ("2021-2022", "2022-2023", "2023-2024", "2024-2025", "2025-2026", "2022", "2024", "Summer 2025")
CURRENT_YEARS = ("2026-2027", "2026-2027", "2026", "Summer Programs", "")
ENROLLMENT_TYPES = ("public", "restricted", "private", "year_round_update")
WORKSPACES = ("not_imported", "pending_approval", "approved", "discarded", "rejected")
WORKSPACE_WEIGHTS = (20, 20, 40, 5, 15)
CHARGES = (Decimal("15.00"), Decimal("25.00"), Decimal("40.00"), Decimal("75.50"), Decimal("120.00"))


def _quota(n: int, fractions: dict[str, float], rng: random.Random) -> list[str]:
    """`n` labels in the given proportions (largest remainder), shuffled."""
    counts = {k: int(n * f) for k, f in fractions.items()}
    rest = sorted(fractions, key=lambda k: n * fractions[k] - counts[k], reverse=True)
    for k in rest[: n - sum(counts.values())]:
        counts[k] += 1
    labels = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(labels)
    return labels


class _Writer:
    """Bulk rows into one table: COPY on PostgreSQL, batched INSERTs elsewhere.

    Rows are dicts keyed by attribute name; a field not given takes its model default, so fields
    added later to the models do not break the generator.
    """

    BATCH = 5000

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.table = model._meta.db_table
        self.attnames = [f.attname for f in self.fields]
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        self.pg = connection.vendor == "postgresql"
        self.count = 0

    def reserve_ids(self, n: int) -> int:
        """The first of `n` consecutive primary keys no other row will take."""
        with connection.cursor() as cursor:
            if self.pg:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.table])
                seq = cursor.fetchone()[0]
                cursor.execute("SELECT nextval(%s)", [seq])
                first = cursor.fetchone()[0]
                if n > 1:
                    cursor.execute("SELECT setval(%s, %s)", [seq, first + n - 1])
                return first
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {self.table}")  # noqa: S608
            return cursor.fetchone()[0]

    def _prepare(self, value, field):
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"), sort_keys=True)
        if not self.pg:
            return field.get_db_prep_save(value, connection)
        return value

    @contextmanager
    def open(self):
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        fields = self.fields
        attnames = self.attnames
        defaults = self.defaults
        if self.pg:
            with connection.cursor() as wrapper:
                sql = f"COPY {connection.ops.quote_name(self.table)} ({columns}) FROM STDIN"
                with wrapper.cursor.copy(sql) as copy:

                    def write(row: dict):
                        copy.write_row(
                            [self._prepare(row.get(a, defaults[a]), f) for a, f in zip(attnames, fields, strict=True)]
                        )
                        self.count += 1

                    yield write
            return
        batch: list = []
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {connection.ops.quote_name(self.table)} ({columns}) VALUES ({marks})"  # noqa: S608

        def write(row: dict):
            batch.append([self._prepare(row.get(a, defaults[a]), f) for a, f in zip(attnames, fields, strict=True)])
            self.count += 1
            if len(batch) >= self.BATCH:
                flush()

        def flush():
            if batch:
                with connection.cursor() as cursor:
                    cursor.executemany(sql, batch)
                batch.clear()

        yield write
        flush()


class Command(BaseCommand):
    help = "Build a large, seeded district (students, guardians, forms, submissions) for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="perf", help="District slug (default: perf).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--students", type=int, default=100_000)
        parser.add_argument("--guardians", type=int, default=180_000)
        parser.add_argument("--forms", type=int, default=500)
        parser.add_argument("--submissions", type=int, default=1_000_000)
        parser.add_argument("--replace", action="store_true", help="Delete the district first if it exists.")

    def handle(self, *args, slug, seed, students, guardians, forms, submissions, replace, **options):
        if students < 2 or forms < 1:
            raise CommandError("Need at least 2 students and 1 form.")
        if guardians < 3 or guardians > 2 * students:
            raise CommandError("Guardians must be between 3 and twice the number of students.")
        if submissions > students * forms:
            raise CommandError("At most one submission per student and form.")
        self.verbosity = options.get("verbosity", 1)
        started = time.monotonic()
        with transaction.atomic():
            existing = District.objects.filter(slug=slug).first()
            if existing is not None:
                if not replace:
                    raise CommandError(f"District {slug!r} exists; pass --replace to rebuild it.")
                self._delete(existing)
            gen = _Generator(
                slug=slug, seed=seed, n_students=students, n_guardians=guardians, n_forms=forms,
                n_submissions=submissions, log=self._log,
            )
            gen.run()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (get_user_model(), Student, Guardian, GuardianStudent, Packet, Packet.students.through,
                              Form, Submission, LedgerEntry):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        link = selectors.guardian_link(district_slug=slug, global_id=BENCH_GUARDIAN, sis_id=BENCH_SIS_ID)
        view = selectors.portal_view(link=link)
        visible = view.todo.count + view.complete.count
        self.stdout.write(
            json.dumps(
                {
                    "district": slug,
                    "seed": seed,
                    "rows": gen.counts,
                    "bench_guardian": BENCH_GUARDIAN,
                    "bench_student": BENCH_SIS_ID,
                    "bench_student_id": link.student_id,
                    "bench_visible_forms": visible,
                    "seconds": round(time.monotonic() - started, 1),
                },
                indent=1,
            )
        )

    def _log(self, message: str):
        if self.verbosity >= 2:
            self.stderr.write(f"{time.strftime('%H:%M:%S')} {message}")

    def _delete(self, district: District):
        """Delete a district fast: raw deletes of the bulk tables, then the ORM for the rest."""
        self._log(f"deleting district {district.slug}")
        user_ids = list(Guardian.objects.filter(district=district).values_list("user_id", flat=True))
        subs = Submission.objects.filter(district=district)
        # Rows of other apps that point at the bulk tables go through the ORM (their own cascades).
        for model in (Submission, Form, Packet, Guardian, Student):
            for rel in model._meta.related_objects:
                related = rel.related_model
                if related in (Submission, Form, Packet, Guardian, Student, GuardianStudent, LedgerEntry,
                               Packet.students.through, District) or not rel.field.concrete:
                    continue
                base = subs if model is Submission else model.objects.filter(district=district)
                related._base_manager.filter(**{f"{rel.field.name}__in": base.values("pk")}).delete()
        with connection.cursor() as cursor:
            sub_q, sub_p = subs.values("pk").query.sql_with_params()
            cursor.execute(f"DELETE FROM {LedgerEntry._meta.db_table} WHERE submission_id IN ({sub_q})", sub_p)  # noqa: S608
            for model in (Submission,):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE district_id = %s", [district.pk])  # noqa: S608
            through = Packet.students.through._meta.db_table
            cursor.execute(
                f"DELETE FROM {through} WHERE packet_id IN "  # noqa: S608
                f"(SELECT id FROM {Packet._meta.db_table} WHERE district_id = %s)",
                [district.pk],
            )
            cursor.execute(
                f"DELETE FROM {GuardianStudent._meta.db_table} WHERE guardian_id IN "  # noqa: S608
                f"(SELECT id FROM {Guardian._meta.db_table} WHERE district_id = %s)",
                [district.pk],
            )
            for model in (Form, Packet, Guardian, Student):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE district_id = %s", [district.pk])  # noqa: S608
        get_user_model().objects.filter(pk__in=user_ids).delete()
        district.delete()


class _Generator:
    def __init__(self, *, slug, seed, n_students, n_guardians, n_forms, n_submissions, log):
        self.slug = slug
        self.rng = random.Random(seed)  # noqa: S311 (reproducible test data)
        self.n_students = n_students
        self.n_guardians = n_guardians
        self.n_forms = n_forms
        self.n_submissions = n_submissions
        self.log = log
        self.counts: dict[str, int] = {}

    def run(self):
        rng = self.rng
        self.district = District.objects.create(
            slug=self.slug, name=f"{self.slug.title()} Unified School District", environment="US1",
            has_enrollment=True, has_express=True, mypowerhub_enabled=True, available_forms_mode="automatic",
        )
        self._people(rng)
        self._catalog(rng)
        self._submissions(rng)

    # --- Students, guardians, their Django users and links --------------------------------

    def _people(self, rng: random.Random):
        S, G = self.n_students, self.n_guardians
        # Families: one guardian or two; most students share two guardians, some have a sibling.
        families = min(max(round(S * 0.95), -(-G // 2)), S, G - 1)
        two = G - families
        sizes = [2] * two + [1] * (families - two)
        rng.shuffle(sizes)
        if sizes[0] != 2:  # family 0 is the benchmark family: two guardians
            sizes[sizes.index(2)], sizes[0] = sizes[0], 2
        family_students: list[list[int]] = [[f] for f in range(families)]
        extra = list(range(families, S))
        if extra:
            family_students[0].append(extra.pop(0))
        for s in extra:
            family_students[rng.randrange(1, families) if families > 1 else 0].append(s)

        district_id = self.district.pk
        w_student = _Writer(Student)
        first_student = w_student.reserve_ids(S)
        self.student_ids = [first_student + i for i in range(S)]
        self.student_active = []
        with w_student.open() as write:
            for s in range(S):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                active = s < 2 or rng.random() >= 0.01
                self.student_active.append(active)
                write({
                    "id": self.student_ids[s],
                    "district_id": district_id,
                    "sis_id": BENCH_SIS_ID if s == 0 else f"{2000000 + s}",
                    "first_name": "Avery" if s == 0 else first,
                    "last_name": "Morgan" if s == 0 else last,
                    "grade": rng.choice(GRADES),
                    "sis_data": {
                        "birth_date": (
                            f"{rng.randrange(2008, 2022)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
                        ),
                        "address": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)}",
                        "home_language": rng.choice(("English", "English", "English", "Spanish", "Vietnamese")),
                    },
                    "active": active,
                })

        User = get_user_model()
        w_user, w_guardian, w_link = _Writer(User), _Writer(Guardian), _Writer(GuardianStudent)
        first_user = w_user.reserve_ids(G)
        first_guardian = w_guardian.reserve_ids(G)
        first_link = w_link.reserve_ids(sum(len(st) * sz for st, sz in zip(family_students, sizes, strict=True)))
        self.guardians_of: dict[int, list[int]] = {}
        self.bench_guardian_ids: list[int] = []
        guardian_rows = []
        g = 0
        link_id = first_link
        link_rows: list[dict] = []
        with w_user.open() as write_user:
            for f, (kids, size) in enumerate(zip(family_students, sizes, strict=True)):
                last = rng.choice(LAST_NAMES)
                for k in range(size):
                    first = rng.choice(FIRST_NAMES)
                    if f == 0:
                        global_id = (BENCH_GUARDIAN, BENCH_CO_GUARDIAN)[k]
                        first, last = ("Jordan", "Morgan") if k == 0 else ("Riley", "Morgan")
                    else:
                        global_id = f"parent{g:07d}@perf.example.org"
                    user_id, guardian_id = first_user + g, first_guardian + g
                    if f == 0:
                        self.bench_guardian_ids.append(guardian_id)
                    write_user({
                        "id": user_id,
                        "password": "!",
                        "last_login": None,
                        "is_superuser": False,
                        "username": guardian_username(self.district, global_id),
                        "first_name": first,
                        "last_name": last,
                        "email": global_id,
                        "is_staff": False,
                        "is_active": True,
                        "date_joined": ANCHOR,
                    })
                    guardian_rows.append({
                        "id": guardian_id,
                        "district_id": district_id,
                        "user_id": user_id,
                        "global_id": global_id,
                        "email": global_id,
                        "first_name": first,
                        "last_name": last,
                        "active": f == 0 or rng.random() >= 0.005,
                    })
                    for s in kids:
                        restricted = f != 0 and rng.random() < 0.01
                        active = f == 0 or rng.random() >= 0.005
                        link_rows.append({
                            "id": link_id, "guardian_id": guardian_id, "student_id": self.student_ids[s],
                            "restricted": restricted, "active": active,
                        })
                        link_id += 1
                        self.guardians_of.setdefault(s, []).append(guardian_id)
                    g += 1
        # Users first, then guardians pointing at them, then links (one COPY at a time).
        with w_guardian.open() as write_guardian:
            for row in guardian_rows:
                write_guardian(row)
        with w_link.open() as write_link:
            for row in link_rows:
                write_link(row)
        self.counts.update(users=w_user.count, students=w_student.count, guardians=w_guardian.count,
                           guardian_links=w_link.count)
        self.log(f"people: {self.counts}")

    # --- Packets and forms ------------------------------------------------------------------

    def _catalog(self, rng: random.Random):
        S, N = self.n_students, self.n_forms
        district_id = self.district.pk
        n_packets = max(2, N // 25)
        w_packet, w_audience = _Writer(Packet), _Writer(Packet.students.through)
        first_packet = w_packet.reserve_ids(n_packets)
        self.packets = []  # (id, key, name, all_students, audience set of student indexes)
        audience_size = max(1, S // 20)
        for p in range(n_packets):
            all_students = p % 2 == 0
            audience: set[int] = set()
            if not all_students:
                audience = set(rng.sample(range(1, S), min(audience_size, S - 1)))
                if p % 4 == 1:
                    audience.add(0)  # the benchmark student is in some list packets
            topic = TOPICS[p % len(TOPICS)]
            self.packets.append((first_packet + p, f"packet-{p:03d}", f"{topic} Packet {p + 1}", all_students,
                                 audience))
        with w_packet.open() as write:
            for pid, key, name, all_students, _ in self.packets:
                write({"id": pid, "district_id": district_id, "key": key, "name": name,
                       "all_students": all_students})
        n_audience = sum(len(p[4]) for p in self.packets)
        first_audience = w_audience.reserve_ids(n_audience)
        with w_audience.open() as write:
            i = 0
            for pid, _, _, _, audience in self.packets:
                for s in sorted(audience):
                    write({"id": first_audience + i, "packet_id": pid, "student_id": self.student_ids[s]})
                    i += 1

        n_express = round(N * 0.3) if N >= 4 else N // 2
        products = ["express"] * n_express + ["enrollment"] * (N - n_express)
        rng.shuffle(products)
        shares = {"open": 0.08, "scheduled_current": 0.02, "scheduled_past": 0.02, "scheduled_future": 0.02,
                  "closed": 0.86}
        windows = {kind: iter(_quota(products.count(kind), shares, rng)) for kind in ("enrollment", "express")}
        w_form = _Writer(Form)
        first_form = w_form.reserve_ids(N)
        self.forms: list[rules.FormFacts] = []
        self.form_packet: dict[int, tuple | None] = {}
        now = timezone.now()
        with w_form.open() as write:
            for i, product in enumerate(products):
                window = next(windows[product])
                status = window.split("_")[0]
                opens_at = closes_at = None
                if window == "scheduled_current":
                    opens_at, closes_at = CURRENT_WINDOW
                elif window == "scheduled_past":
                    opens_at, closes_at = PAST_WINDOW
                elif window == "scheduled_future":
                    opens_at, closes_at = FUTURE_WINDOW
                elif window == "closed" and rng.random() < 0.5:
                    opens_at, closes_at = PAST_WINDOW
                year = rng.choice(PAST_YEARS if window in ("closed", "scheduled_past") else CURRENT_YEARS)
                topic = rng.choice(TOPICS)
                packet = None
                if product == "enrollment":
                    form_type = ENROLLMENT_TYPES[i % 4]
                    student_type = (
                        "existing" if form_type in Form.FIXED_EXISTING_TYPES
                        else ("new", "existing", "new_and_existing")[(i // 4) % 3]
                    )
                else:
                    form_type, student_type = "", "existing"
                    packet = self.packets[rng.randrange(n_packets)]
                row = {
                    "id": first_form + i,
                    "district_id": district_id,
                    "key": f"f{i:04d}-{topic.lower().replace(' ', '-')}"[:64],
                    "name": f"{topic} {year}".strip(),
                    "product": product,
                    "type": form_type,
                    "student_type": student_type,
                    "status": status,
                    "opens_at": opens_at,
                    "closes_at": closes_at,
                    "academic_year": year,
                    "approval_status": rng.random() < 0.5,
                    "packet_id": packet[0] if packet else None,
                    "in_available_selection": product == "enrollment" and rng.random() < 0.5,
                }
                write(row)
                facts = rules.FormFacts(
                    id=row["id"], key=row["key"], name=row["name"], product=product, type=form_type,
                    student_type=student_type, status=status, opens_at=opens_at, closes_at=closes_at,
                    academic_year=year, approval_status=row["approval_status"],
                    in_available_selection=row["in_available_selection"],
                    packet_key=packet[1] if packet else None, packet_name=packet[2] if packet else None,
                    packet_targets_student=True,
                )
                self.forms.append(facts)
                self.form_packet[facts.id] = packet
        self.open_now = [rules.is_open_now(f, now) for f in self.forms]
        self.counts.update(packets=w_packet.count, packet_audience=w_audience.count, forms=w_form.count)
        self.log(f"catalog: {self.counts}")

    # --- Submissions and their ledger ---------------------------------------------------------

    def _bench_plan(self) -> list[tuple[int, str]]:
        """(form index, state) for the benchmark student, so its guardian sees exactly 60 forms."""
        facts = rules.DistrictFacts(products=frozenset({"enrollment", "express"}), mypowerhub_enabled=True,
                                    available_forms_mode="automatic")
        now = timezone.now()
        visible, hidden = [], []
        for i, form in enumerate(self.forms):
            packet = self.form_packet[form.id]
            targets = packet is None or packet[3] or 0 in packet[4]
            f = form if targets else _replace_targets(form)
            (visible if rules.decide(facts, f, None, now).shown else hidden).append(i)
        target = min(BENCH_VISIBLE, self.n_forms)
        if len(visible) > target:
            raise CommandError(f"{len(visible)} forms are open to every student; the benchmark needs <= {target}.")
        states = ("in_progress", "submitted:approved", "submitted:rejected", "submitted:pending_approval",
                  "submitted:balance", "submitted:update", "submitted:not_imported")
        plan = [(i, states[n % len(states)]) for n, i in enumerate(visible[: len(visible) // 2])]
        done = ("submitted:approved", "submitted:not_imported", "submitted:balance", "submitted:discarded")
        plan += [(i, done[n % len(done)]) for n, i in enumerate(hidden[: target - len(visible)])]
        return plan

    def _submissions(self, rng: random.Random):
        S, N, M = self.n_students, self.n_forms, self.n_submissions
        bench = self._bench_plan()
        rest = max(0, M - len(bench))
        per_student = [0] + [rest // (S - 1)] * (S - 1)
        for s in rng.sample(range(1, S), rest % (S - 1)):
            per_student[s] += 1
        if max(per_student) > N:
            raise CommandError("Too many submissions for the number of forms.")
        district_id = self.district.pk
        w_sub, w_ledger = _Writer(Submission), _Writer(LedgerEntry)
        first_sub = w_sub.reserve_ids(len(bench) + rest)
        sub_id = first_sub
        ledger_rows: list[dict] = []
        states = {"in_progress": 0}
        with w_sub.open() as write:
            for s in range(S):
                picks = bench if s == 0 else [(i, None) for i in sorted(rng.sample(range(N), per_student[s]))]
                guardians = self.guardians_of.get(s, [])
                for i, state in picks:
                    row = self._submission(rng, sub_id, district_id, s, i, state, guardians, ledger_rows)
                    state_name = "in_progress" if row["status"] == "in_progress" else row["workspace"]
                    states[state_name] = states.get(state_name, 0) + 1
                    write(row)
                    sub_id += 1
        first_ledger = w_ledger.reserve_ids(len(ledger_rows))
        with w_ledger.open() as write:
            for n, row in enumerate(ledger_rows):
                row["id"] = first_ledger + n
                write(row)
        self.counts.update(submissions=w_sub.count, ledger_entries=w_ledger.count)
        self.counts["submission_states"] = dict(sorted(states.items()))
        self.log(f"submissions: {self.counts}")

    def _submission(self, rng, sub_id, district_id, s, i, state, guardians, ledger_rows) -> dict:
        form = self.forms[i]
        started_at = ANCHOR - timedelta(days=rng.randrange(0, 900), minutes=rng.randrange(0, 1440))
        if state is None:
            submitted = rng.random() < (0.65 if self.open_now[i] else 0.85)
            workspace = rng.choices(WORKSPACES, WORKSPACE_WEIGHTS)[0] if submitted else "not_imported"
            roll = rng.random()
            charge = rng.choice(CHARGES) if submitted and roll < 0.2 else None
            paid = None
            if charge is not None and roll < 0.08:  # fully paid, or half paid
                paid = charge if roll < 0.05 else (charge / 2).quantize(Decimal("0.01"))
            update = submitted and rng.random() < 0.04
        else:
            submitted = state != "in_progress"
            workspace = state.split(":")[1] if submitted else "not_imported"
            charge = paid = None
            update = False
            if workspace == "balance":
                workspace, charge = "approved", Decimal("40.00")
            elif workspace == "update":
                workspace, update = "not_imported", True
        submitted_at = started_at + timedelta(hours=rng.randrange(1, 72)) if submitted else None
        last_updated_at = submitted_at + timedelta(days=rng.randrange(1, 30)) if update and submitted_at else None
        approved_at = (submitted_at + timedelta(days=rng.randrange(1, 20))) if workspace == "approved" else None
        balance = Decimal("0.00")
        if charge is not None:
            ledger_rows.append({"submission_id": sub_id, "kind": "charge", "amount": charge,
                                "reason": f"{form.name} fee", "reference": "", "created_at": submitted_at,
                                "created_by_id": None})
            balance = charge
            if paid:
                ledger_rows.append({"submission_id": sub_id, "kind": "payment", "amount": -paid,
                                    "reason": "Card payment", "reference": f"sandbox-{s:07d}-{i:04d}",
                                    "created_at": submitted_at + timedelta(hours=2), "created_by_id": None})
                balance = charge - paid
        last_page = rng.randrange(1, 6)
        return {
            "id": sub_id,
            "district_id": district_id,
            "student_id": self.student_ids[s],
            "form_id": form.id,
            "started_by_id": rng.choice(guardians) if guardians else None,
            "status": "submitted" if submitted else "in_progress",
            "workspace": workspace,
            "started_at": started_at,
            "submitted_at": submitted_at,
            "last_updated_at": last_updated_at,
            "approved_at": approved_at,
            "balance": balance,
            "update_requested": update,
            "last_page": last_page,
            "answers": {"page": last_page, "contact_phone": f"555-{rng.randrange(1000, 9999)}"},
            "version": 1 + int(update) + int(last_page > 3),
        }


def _replace_targets(form: rules.FormFacts) -> rules.FormFacts:
    from dataclasses import replace

    return replace(form, packet_targets_student=False)
