"""Benchmark set-up, run with the benchmark's production environment: real parent sessions.

    python bench/prepare.py --district perf --sessions 500 --out /tmp/targets.json

Picks `--sessions` guardians of the district (seeded; the well-known 60-form guardian first), each
with an active, unrestricted student who has a submitted form, saves a real session for each
through Django's configured SessionStore, and writes the URLs each session will request.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enrollment_hub.settings")

import django  # noqa: E402

django.setup()

from importlib import import_module  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.urls import reverse  # noqa: E402

from forms_catalog import selectors  # noqa: E402
from forms_catalog.management.commands.generate_district import BENCH_GUARDIAN, BENCH_SIS_ID  # noqa: E402
from forms_catalog.models import GuardianStudent, Submission  # noqa: E402

SEARCH = "health"


def backend_path() -> str:
    backends = list(settings.AUTHENTICATION_BACKENDS)
    model = "django.contrib.auth.backends.ModelBackend"
    return model if model in backends else backends[0]


def sign_in(user) -> str:
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend_path()
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session.session_key


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--district", default="perf")
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only-bench-student", action="store_true",
                        help="Every session requests the well-known 60-form student (its two guardians).")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    eligible = GuardianStudent.objects.filter(
        guardian__district__slug=args.district, student__district__slug=args.district, active=True,
        restricted=False, guardian__active=True, student__active=True,
        student__submissions__status="submitted",
    ).distinct()
    bench = selectors.guardian_link(district_slug=args.district, global_id=BENCH_GUARDIAN, sis_id=BENCH_SIS_ID)
    if bench is None:
        sys.exit(f"District {args.district!r} has no benchmark guardian: run manage.py generate_district first.")
    if args.only_bench_student:
        chosen = list(eligible.filter(student_id=bench.student_id).values_list("id", flat=True))
    else:
        ids = sorted(eligible.values_list("id", flat=True))
        rng = random.Random(args.seed)  # noqa: S311 (reproducible sample)
        chosen = [bench.pk] + rng.sample([i for i in ids if i != bench.pk], min(args.sessions - 1, len(ids) - 1))
    links = GuardianStudent.objects.select_related("guardian__user", "student__district").in_bulk(chosen)

    sessions, seen = [], set()
    for link_id in chosen:
        link = links[link_id]
        if link.guardian_id in seen and not args.only_bench_student:
            continue
        seen.add(link.guardian_id)
        submitted = (Submission.objects.filter(student_id=link.student_id, status="submitted")
                     .order_by("id").values_list("id", flat=True).first())
        view = selectors.portal_view(link=link)
        kwargs = {"district": args.district, "student_id": link.student_id}
        sessions.append({
            "guardian": link.guardian.global_id,
            "student_id": link.student_id,
            "visible_forms": view.todo.count + view.complete.count,
            "cookie": f"{settings.SESSION_COOKIE_NAME}={sign_in(link.guardian.user)}",
            "overview": reverse("parent_portal:overview", kwargs=kwargs),
            "forms": reverse("parent_portal:forms", kwargs=kwargs),
            "form_tab": reverse("parent_portal:form_confirmation",
                                kwargs={"district": args.district, "submission_id": submitted}),
        })
    visible = [s["visible_forms"] for s in sessions]
    out = {
        "district": args.district,
        "search": SEARCH,
        "sessions": sessions,
        "visible_forms": {"min": min(visible), "mean": round(sum(visible) / len(visible), 1), "max": max(visible)},
    }
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"{len(sessions)} sessions; visible forms per student: {out['visible_forms']}")


if __name__ == "__main__":
    main()
