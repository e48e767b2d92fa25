"""Time the Submission Workspace list on a district (docs: README, "District admin console").

    manage.py bench_workspace --district SLUG [--repeat 5] [--pages 20]

Prints, for the first page, a page deep into the list (following cursors) and each filter, the
median time of the page query and its row count; on PostgreSQL also the plan of the first page.
Nothing is written. Build a large district first, e.g.
`manage.py generate_district --slug perf --students 20000 --submissions 100000 --forms 100`.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from admin_config import selectors
from forms_catalog.models import District, Form, Student, Submission


class Command(BaseCommand):
    help = "Time the Submission Workspace list (keyset pages and filters) on an existing district."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--pages", type=int, default=20, help="How deep to follow cursors.")

    def _time(self, district, filters, cursor=None):
        runs, page = [], None
        for _ in range(self.repeat):
            start = time.perf_counter()
            page = selectors.workspace_page(district=district, filters=filters, cursor=cursor)
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs), page

    def _row(self, label, ms, page):
        self.stdout.write(f"{label:<48} {ms:8.2f} ms  {len(page.rows):>3} rows")

    def handle(self, *args, district, repeat, pages, **options):
        self.repeat = max(1, repeat)
        d = District.objects.filter(slug=district).first()
        if d is None:
            raise CommandError(f"Unknown district {district!r}.")
        total = Submission.objects.filter(district=d, status="submitted").count()
        self.stdout.write(f"district {d.slug}: {total} submitted submissions, page size {selectors.page_size()}, "
                          f"{connection.vendor}, median of {self.repeat}")
        none = selectors.WorkspaceFilters()
        ms, page = self._time(d, none)
        self._row("first page", ms, page)
        cursor = page.next_cursor
        for _ in range(pages - 1):
            if not cursor:
                break
            cursor = selectors.workspace_page(district=d, filters=none, cursor=cursor).next_cursor
        if cursor:
            ms, page = self._time(d, none, cursor)
            self._row(f"page {pages + 1} (keyset cursor)", ms, page)
        form = (Form.objects.filter(district=d, submissions__status="submitted").order_by("id").first())
        student = Student.objects.filter(district=d, submissions__status="submitted").order_by("id").first()
        cases = [
            ("form", selectors.WorkspaceFilters(form=form.pk if form else None)),
            ("state = pending_approval", selectors.WorkspaceFilters(state="pending_approval")),
            ("state = rejected", selectors.WorkspaceFilters(state="rejected")),
            ("parent status = approved", selectors.WorkspaceFilters(display_status="approved")),
            ("parent status = pending_review", selectors.WorkspaceFilters(display_status="pending_review")),
            ("student SIS id", selectors.WorkspaceFilters(student=student.sis_id if student else "x")),
            ("student last name", selectors.WorkspaceFilters(student=student.last_name if student else "x")),
            ("student name with no match", selectors.WorkspaceFilters(student="Zzyzx")),
        ]
        for label, filters in cases:
            ms, page = self._time(d, filters)
            self._row(f"filter: {label}", ms, page)
        if connection.vendor == "postgresql":
            qs = (Submission.objects.filter(district=d, status="submitted").select_related("form", "student")
                  .order_by("-submitted_at", "-id")[: selectors.page_size() + 1])
            self.stdout.write("plan of the first page:")
            self.stdout.write(qs.explain(analyze=True))
