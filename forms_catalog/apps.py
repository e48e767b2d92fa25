from django.apps import AppConfig


class FormsCatalogConfig(AppConfig):
    name = "forms_catalog"
    verbose_name = "Forms catalog"
