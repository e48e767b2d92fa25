import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date, parse_datetime

from forms_catalog import selectors
from forms_catalog.models import Guardian, Student


def parse_instant(value: str):
    parsed = None
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)):
            from datetime import datetime

            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--at: {value!r} is not an ISO 8601 date-time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Print, as JSON, exactly what the portal shows a guardian for a student."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--guardian", required=True, metavar="GLOBAL_ID")
        parser.add_argument("--student", required=True, metavar="SIS_ID")
        parser.add_argument("--at", metavar="ISO8601", help="Evaluate 'now' at this instant.")
        parser.add_argument("--q", default="", metavar="TEXT", help="The Forms page search.")
        parser.add_argument(
            "--explain", action="store_true", help="Also list every form that is not shown, and why."
        )

    def handle(self, *args, district, guardian, student, at, q, explain, **options):
        now = parse_instant(at) if at else None
        if selectors.district_by_slug(slug=district) is None:
            raise CommandError(f"Unknown district {district!r}.")
        if not Guardian.objects.filter(district__slug=district, global_id=guardian).exists():
            raise CommandError(f"Unknown guardian {guardian!r} in district {district!r}.")
        if not Student.objects.filter(district__slug=district, sis_id=student).exists():
            raise CommandError(f"Unknown student {student!r} in district {district!r}.")
        link = selectors.guardian_link(district_slug=district, global_id=guardian, sis_id=student)
        if link is None or not link.active or not link.guardian.active or not link.student.active:
            raise CommandError(f"Guardian {guardian!r} is not linked to student {student!r}.")
        view = selectors.portal_view(link=link, now=now, query=q, explain=explain)
        out = {"district": district, "guardian": guardian, "student": student, **view.as_json()}
        if explain:
            out["hidden"] = [h.as_json() for h in view.hidden]
        self.stdout.write(json.dumps(out, indent=1, ensure_ascii=False))
