from django.urls import path  # noqa: F401

app_name = "admin_config"

urlpatterns: list = []
