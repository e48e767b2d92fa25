from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("console/", include("admin_config.urls")),
    path("sso/", include("sso.urls")),
    path("", include("parent_portal.urls")),
]
