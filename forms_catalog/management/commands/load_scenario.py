from django.core.management.base import BaseCommand, CommandError

from forms_catalog.scenario import ScenarioError, load_file


class Command(BaseCommand):
    help = "Create or update districts and their data from scenario JSON files (one transaction per file)."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")

    def handle(self, *args, files, **options):
        for path in files:
            try:
                result = load_file(path)
            except ScenarioError as exc:
                raise CommandError(f"{path}: {exc}") from None
            self.stdout.write(
                f"{path}: {result.districts} district(s) loaded, {result.created_or_changed} change(s)."
            )
