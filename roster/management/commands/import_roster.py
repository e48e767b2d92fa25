from django.core.management.base import BaseCommand, CommandError

from forms_catalog.models import District
from roster import oneroster
from roster.models import RosterSync
from roster.services import roster_import

from ._report import write_report


class Command(BaseCommand):
    help = (
        "Import a OneRoster 1.2 bulk CSV roster (a zip file or a folder) into one district, in one transaction. "
        "Students and guardians absent from the roster are deactivated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("path", metavar="PATH", help="a .zip export or a folder holding manifest.csv, users.csv...")
        parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
        parser.add_argument("--force", action="store_true",
                            help="apply even when more than the district's share would be deactivated")
        parser.add_argument("--list", type=int, default=20, metavar="N", help="list up to N keys per change kind")

    def handle(self, *args, district, path, dry_run, force, list, **options):
        target = District.objects.filter(slug=district).first()
        if target is None:
            raise CommandError(f"No district {district!r}.")
        try:
            source = oneroster.open_source(path)
        except oneroster.RosterError as exc:
            raise CommandError(str(exc)) from None
        try:
            report, sync = roster_import(district=target, source=source, dry_run=dry_run, force=force,
                                         sync_source=RosterSync.Source.CSV)
        except oneroster.RosterError as exc:
            report = getattr(exc, "report", None)
            if report is not None and report.changes:
                write_report(self.stderr, report, limit=list)
            raise CommandError(str(exc)) from None
        finally:
            source.close()
        write_report(self.stdout, report, limit=list)
