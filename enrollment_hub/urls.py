from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("console/d/<slug:district>/roster/", include("roster.urls")),
    path("console/", include("admin_config.urls")),
    path("sso/", include("sso.urls")),
    # Language switch (Django's set_language; the choice is kept in the language cookie).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("parent_portal.urls")),
]
