from django.apps import AppConfig


class FormsCatalogConfig(AppConfig):
    name = "forms_catalog"
    verbose_name = "Forms catalog"

    def ready(self):
        from . import admin_definitions  # noqa: F401  (form definitions in Django admin)
        from .catalog_cache import connect_signals

        connect_signals()  # the cached form catalog follows every saved district, packet and form
