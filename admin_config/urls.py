from django.urls import path

from . import views

app_name = "admin_config"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("password/", views.console_staff_required(views.ConsolePasswordChangeView.as_view()), name="password_change"),
    path("d/<slug:district>/", views.dashboard, name="dashboard"),
    path("d/<slug:district>/configuration/", views.configuration, name="configuration"),
    path("d/<slug:district>/configuration/sso/", views.config_sso, name="config_sso"),
    path("d/<slug:district>/configuration/sso/edit/", views.config_sso_edit, name="config_sso_edit"),
    path("d/<slug:district>/configuration/available-forms/", views.config_available_forms,
         name="config_available_forms"),
    path("d/<slug:district>/audit/", views.audit_log, name="audit_log"),
    path("d/<slug:district>/preview/", views.preview, name="preview"),
    path("d/<slug:district>/workspace/", views.workspace_list, name="workspace"),
    path("d/<slug:district>/workspace/bulk/", views.workspace_bulk, name="workspace_bulk"),
    path("d/<slug:district>/workspace/<int:submission_id>/", views.workspace_detail, name="workspace_detail"),
    path("d/<slug:district>/workspace/<int:submission_id>/action/", views.workspace_action,
         name="workspace_action"),
]
