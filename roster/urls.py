from django.urls import path

from . import views

app_name = "roster"

urlpatterns = [
    path("", views.roster_page, name="console"),
    path("upload/", views.roster_upload, name="upload"),
    path("sync/", views.roster_sync_now, name="sync"),
    path("settings/", views.roster_settings_save, name="settings"),
]
