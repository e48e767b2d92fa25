"""Re-encrypt every stored secret under the newest FIELD_ENCRYPTION_KEYS key.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after it), deploy,
run `manage.py rotate_secrets`, then drop the old keys. Every encrypted column registered with
`sso.crypto.register_encrypted_field` is covered.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sso import crypto


class Command(BaseCommand):
    help = "Re-encrypt stored secrets (SSO client secrets and every registered encrypted field) under the newest key."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")

    def handle(self, *args, dry_run=False, **options):
        if not crypto.keys():
            raise CommandError("FIELD_ENCRYPTION_KEYS is empty.")
        total = 0
        failures: list[str] = []
        with transaction.atomic():
            for model_label, field_name in crypto.encrypted_fields():
                model = apps.get_model(model_label)
                rotated = 0
                rows = model._default_manager.exclude(**{field_name: ""}).values_list("pk", field_name)
                for pk, token in rows.iterator():
                    if crypto.is_current(token):
                        continue
                    try:
                        new_token = crypto.rotate(token)
                    except InvalidToken:  # no configured key decrypts it
                        failures.append(f"{model_label}.{field_name} pk={pk}")
                        continue
                    if not dry_run:
                        model._default_manager.filter(pk=pk).update(**{field_name: new_token})
                    rotated += 1
                total += rotated
                verb = "would be re-encrypted" if dry_run else "re-encrypted"
                self.stdout.write(f"{model_label}.{field_name}: {rotated} {verb}")
            if failures:
                raise CommandError("No configured key decrypts: " + ", ".join(failures)
                                   + ". Nothing was changed; add the missing key to FIELD_ENCRYPTION_KEYS.")
        self.stdout.write(self.style.SUCCESS(f"{total} secret(s) {'to rotate' if dry_run else 'rotated'}."))
