from django.apps import AppConfig


class AdminConfigConfig(AppConfig):
    name = "admin_config"
    verbose_name = "District admin console"
