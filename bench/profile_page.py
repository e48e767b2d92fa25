"""Profile portal pages in one process, with production settings, against the generated district.

    .venv/bin/python bench/profile_page.py                       # ms of CPU per request, per page
    .venv/bin/python bench/profile_page.py --profile forms_todo  # cProfile of one page (top 30)
    PROFILE_FILTER=template .venv/bin/python bench/profile_page.py --profile overview  # and these functions
    .venv/bin/python bench/profile_page.py --dump /tmp/pages     # each page's HTML (CSRF tokens blanked)

Requests go through Django's test client (the whole middleware stack, a real signed-in cookie of
the well-known 60-form guardian) to `eh_perf` (built by `bench/run`), with DEBUG=False, the cached
template loader and Redis as the shared cache, as `bench/run` starts gunicorn. The dumped HTML lets
a rendering change be checked byte for byte against the pages before it.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from servers import production_env  # noqa: E402

GUARDIAN_EMAIL = "bench.parent@perf.example.org"
STUDENT_SIS_ID = "BENCH-60"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/eh_perf")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--district", default="perf")
    parser.add_argument("--requests", type=int, default=200, help="requests per page for the timing")
    parser.add_argument("--profile", metavar="PAGE", help="cProfile one page instead of timing all")
    parser.add_argument("--dump", metavar="DIR", help="write each page's HTML into DIR and stop")
    parser.add_argument("--language", default="", help="a language code for the django_language cookie")
    args = parser.parse_args()

    os.environ.update(production_env(database_url=args.database_url, cache_url=args.cache_url,
                                     CACHE_KEY_PREFIX="profile"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "enrollment_hub.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from forms_catalog.models import Guardian, GuardianStudent, Submission

    guardian = Guardian.objects.select_related("user").get(district__slug=args.district, email=GUARDIAN_EMAIL)
    link = GuardianStudent.objects.select_related("student").get(guardian=guardian, student__sis_id=STUDENT_SIS_ID)
    student = link.student
    submission = Submission.objects.filter(student=student, status__in=["submitted", "approved"]).first()
    base = f"/d/{args.district}/students/{student.id}"
    pages = {
        "health": "/healthz",
        "overview": f"{base}/",
        "forms_todo": f"{base}/forms/?tab=todo",
        "forms_complete": f"{base}/forms/?tab=complete",
        "forms_todo_search": f"{base}/forms/?tab=todo&q=health",
        "form_tab": f"/d/{args.district}/submissions/{submission.id}/confirmation/",
    }
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(guardian.user)
    if args.language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = args.language

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    if args.dump:
        out = Path(args.dump)
        out.mkdir(parents=True, exist_ok=True)
        for name, url in pages.items():
            html = get(url).content.decode()
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value=""', html)
            (out / f"{name}{'.' + args.language if args.language else ''}.html").write_text(html)
        print(f"wrote {len(pages)} pages to {out}")
        return 0

    if args.profile:
        url = pages[args.profile]
        for _ in range(20):
            get(url)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            get(url)
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats("cumulative")
        stats.print_stats(30)
        if os.environ.get("PROFILE_FILTER"):
            stats.print_stats(os.environ["PROFILE_FILTER"], 40)
        stats.sort_stats("tottime").print_stats(25)
        return 0

    print(f"{'page':<20} {'CPU ms/request':>15} {'vs /healthz':>12}")
    costs = {}
    for name, url in pages.items():
        for _ in range(20):
            get(url)
        start = time.process_time()
        for _ in range(args.requests):
            get(url)
        costs[name] = (time.process_time() - start) * 1000 / args.requests
        print(f"{name:<20} {costs[name]:>15.2f} {costs['health'] / costs[name]:>12.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
