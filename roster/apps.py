from django.apps import AppConfig


class RosterConfig(AppConfig):
    name = "roster"
    verbose_name = "SIS roster sync"

    def ready(self):
        from sso import crypto

        # `manage.py rotate_secrets` re-encrypts the OneRoster client secret too.
        crypto.register_encrypted_field("roster.RosterSettings", "rest_client_secret_encrypted")
