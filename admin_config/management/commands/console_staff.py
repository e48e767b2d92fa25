"""Create or update a district staff account and its console roles.

    manage.py console_staff --district SLUG --username NAME [--email EMAIL]
                            [--configuration] [--workspace] [--inactive] [--set-password]

A new account needs a password: read from the CONSOLE_STAFF_PASSWORD environment variable, else
asked for twice. It must pass AUTH_PASSWORD_VALIDATORS. Roles are exactly the flags given; the
change is recorded in the audit log like one made in Django admin.
"""

from __future__ import annotations

import getpass
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from admin_config import services
from forms_catalog.models import District


class Command(BaseCommand):
    help = "Create or update a district staff account with the Configuration and/or Submission Workspace role."

    def add_arguments(self, parser):
        parser.add_argument("--district", required=True, metavar="SLUG")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--configuration", action="store_true", help="Give the Configuration role.")
        parser.add_argument("--workspace", action="store_true", help="Give the Submission Workspace role.")
        parser.add_argument("--inactive", action="store_true", help="Keep the membership but switch it off.")
        parser.add_argument("--set-password", action="store_true", help="Set a new password on an existing account.")

    def _password(self, user) -> str:
        password = os.environ.get("CONSOLE_STAFF_PASSWORD")
        if password is None:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        return password

    @transaction.atomic
    def handle(self, *args, district, username, email, configuration, workspace, inactive, set_password, **options):
        d = District.objects.filter(slug=district).first()
        if d is None:
            raise CommandError(f"Unknown district {district!r}.")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        creating = user is None
        if creating:
            user = User(username=username, email=email)
        elif email and user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        if creating or set_password:
            user.set_password(self._password(user))
            user.save()
        try:
            _membership, changed = services.staff_membership_set(
                user=user, district=d, configuration=configuration, submission_workspace=workspace,
                active=not inactive,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        roles = [r for r, on in (("Configuration", configuration), ("Submission Workspace", workspace)) if on]
        self.stdout.write(
            f"{'Created' if creating else 'Updated'} {username} in {d.slug}: "
            f"{', '.join(roles) or 'no role'}{' (inactive)' if inactive else ''}"
            f"{'' if changed or creating else ' (roles unchanged)'}."
        )
