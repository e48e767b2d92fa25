from django.apps import AppConfig


class SsoConfig(AppConfig):
    name = "sso"
    verbose_name = "Parent single sign-on"

    def ready(self):
        from . import checks, crypto  # noqa: F401 - checks registers the deployment check

        crypto.register_encrypted_field("sso.SSOConfiguration", "client_secret_encrypted")
