"""Roster import benchmark: generate a seeded OneRoster 1.2 roster and time its import.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/eh_roster_bench \\
        .venv/bin/python bench/roster_import.py --students 200000 --guardians 350000 --fresh

Prints, for each run (the first import, then the same roster again, which must change nothing),
the wall-clock time, the peak resident memory of the process (getrusage maxrss) and the counts.
`--fresh` drops and recreates the PostgreSQL database first; `--tracemalloc` adds the peak of
Python allocations during the import (slower). The roster goes to a temporary folder unless
`--keep DIR` is given.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enrollment_hub.settings")

USERS_HEADER = [
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds", "givenName", "familyName",
    "middleName", "identifier", "email", "sms", "phone", "agentSourcedIds", "grades", "password",
    "userMasterIdentifier", "resourceSourcedIds", "preferredGivenName", "preferredMiddleName",
    "preferredFamilyName", "primaryOrgSourcedId", "pronouns", "metadata.guardianRestricted",
]
ROLES_HEADER = ["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role", "beginDate",
                "endDate", "orgSourcedId", "userProfileSourcedId"]
FIRST = ["Ana", "Ben", "Cara", "Dan", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jia", "Kofi", "Lena", "Mateo", "Nora"]
LAST = ["Lopez", "Kim", "Nguyen", "Smith", "Okafor", "Garcia", "Cohen", "Singh", "Rossi", "Haddad", "Novak"]


def generate(folder: Path, *, students: int, guardians: int, seed: int, schools: int = 60) -> int:
    """Write manifest/orgs/users/roles; returns the number of guardian-student links."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible roster, not a secret
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.csv").write_text(
        "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\nfile.orgs,bulk\nfile.roles,bulk\n"
        "file.users,bulk\nsource.systemName,Benchmark SIS\n"
    )
    with open(folder / "orgs.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"])
        w.writerow(["org-d", "", "", "Benchmark Unified", "district", "BU", ""])
        for i in range(schools):
            w.writerow([f"org-{i}", "", "", f"School {i}", "school", f"S{i}", "org-d"])
    # Each guardian has one child; 30% have a second one; 5% of links are restricted.
    children: list[list[int]] = [[g % students] for g in range(guardians)]
    for g in range(guardians):
        if rng.random() < 0.3:
            other = rng.randrange(students)
            if other != children[g][0]:
                children[g].append(other)
    parents: list[list[int]] = [[] for _ in range(students)]
    for g, kids in enumerate(children):
        for s in kids:
            parents[s].append(g)
    links = 0
    with open(folder / "users.csv", "w", newline="") as uf, open(folder / "roles.csv", "w", newline="") as rf:
        users, roles = csv.writer(uf), csv.writer(rf)
        users.writerow(USERS_HEADER)
        roles.writerow(ROLES_HEADER)
        for s in range(students):
            org = f"org-{s % schools}"
            users.writerow([f"s{s}", "", "", "true", f"stu{s}", "", rng.choice(FIRST), rng.choice(LAST), "",
                            f"{100000 + s}", "", "", "", ",".join(f"g{g}" for g in parents[s]),
                            f"{rng.randrange(1, 13):02d}", "", "", "", "", "", "", org, "", ""])
            roles.writerow([f"rs{s}", "", "", f"s{s}", "primary", "student", "", "", org, ""])
        for g in range(guardians):
            kids = children[g]
            links += len(kids)
            restricted = [f"s{kids[0]}"] if rng.random() < 0.05 else []
            users.writerow([f"g{g}", "", "", "true", f"par{g}", "", rng.choice(FIRST), rng.choice(LAST), "", "",
                            f"parent{g}@example.org", "", "", ",".join(f"s{s}" for s in kids), "", "", "", "",
                            "", "", "", "", "", ",".join(restricted)])
            roles.writerow([f"rg{g}", "", "", f"g{g}", "primary", "parent" if g % 2 else "guardian", "", "",
                            "org-d", ""])
    return links


def fresh_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?")[0]
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200_000)
    parser.add_argument("--guardians", type=int, default=350_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the PostgreSQL database")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure Python allocations (slower)")
    parser.add_argument("--keep", metavar="DIR", help="write the roster here and keep it")
    parser.add_argument("--generate-only", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate_only:
        links = generate(Path(args.generate_only), students=args.students, guardians=args.guardians, seed=args.seed)
        print(links)
        return

    url = os.environ.get("DATABASE_URL", "")
    if args.fresh:
        if not url.startswith("postgres"):
            parser.error("--fresh needs DATABASE_URL=postgres://.../eh_roster_bench")
        fresh_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from forms_catalog import services as catalog
    from roster.oneroster import FolderSource
    from roster.services import roster_import, roster_settings_update

    call_command("migrate", verbosity=0)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="roster-bench-"))
    t0 = time.perf_counter()
    # Generated in a child process, so that this process's peak memory is the import's alone.
    out = subprocess.run(  # noqa: S603 - this script with its own arguments
        [sys.executable, __file__, "--generate-only", str(folder), "--students", str(args.students),
         "--guardians", str(args.guardians), "--seed", str(args.seed)],
        check=True, capture_output=True, text=True,
    )
    links = int(out.stdout.strip())
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"roster: {args.students} students, {args.guardians} guardians, {links} links, "
          f"{size / 1024**2:.1f} MiB of CSV, generated in {time.perf_counter() - t0:.1f}s (seed {args.seed})")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")

    district, _ = catalog.district_upsert(slug="bench", name="Benchmark Unified")
    roster_settings_update(district=district, global_id_field="email", student_id_field="identifier")
    print(f"process maxrss before the import (Django, migrations): {maxrss_mib():.0f} MiB")
    for label in ("first import", "same roster again"):
        if args.tracemalloc:
            tracemalloc.start()
        t0 = time.perf_counter()
        report, _ = roster_import(district=district, source=FolderSource(folder), force=True)
        elapsed = time.perf_counter() - t0
        traced = ""
        if args.tracemalloc:
            traced = f", traced Python peak {tracemalloc.get_traced_memory()[1] / 1024**2:.0f} MiB"
            tracemalloc.stop()
        counts = {k: v for k, v in report.counts.items() if v}
        print(f"{label}: {elapsed:.1f}s, process maxrss {maxrss_mib():.0f} MiB{traced}")
        print(f"  phases (s): {report.timings}")
        print(f"  {counts}")
    if not args.keep:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
