from django.apps import AppConfig


class ParentPortalConfig(AppConfig):
    name = "parent_portal"
    verbose_name = "Parent portal"
