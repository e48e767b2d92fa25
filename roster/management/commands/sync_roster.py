from django.core.management.base import BaseCommand, CommandError

from forms_catalog.models import District
from roster import oneroster
from roster.services import roster_sync

from ._report import write_report


class Command(BaseCommand):
    help = (
        "Pull a district's roster from its OneRoster 1.2 REST endpoint (OAuth 2 client credentials, paged) and "
        "apply it in one transaction. Every page is fetched before anything is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
        parser.add_argument("--force", action="store_true",
                            help="apply even when more than the district's share would be deactivated")
        parser.add_argument("--list", type=int, default=20, metavar="N", help="list up to N keys per change kind")

    def handle(self, *args, district, dry_run, force, list, **options):
        target = District.objects.filter(slug=district).first()
        if target is None:
            raise CommandError(f"No district {district!r}.")
        try:
            report, _sync = roster_sync(district=target, dry_run=dry_run, force=force)
        except oneroster.RosterError as exc:
            raise CommandError(str(exc)) from None
        write_report(self.stdout, report, limit=list)
