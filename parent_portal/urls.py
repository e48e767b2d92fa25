from django.urls import path

from . import form_views, views

app_name = "parent_portal"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.health, name="health"),
    # Portal pages (R3-R9): the signed-in guardian's view of one student.
    path("d/<slug:district>/", views.home, name="home"),
    path("d/<slug:district>/students/<int:student_id>/", views.overview, name="overview"),
    path("d/<slug:district>/students/<int:student_id>/forms/", views.forms, name="forms"),
    # Form tab (R9): each opens in its own browser tab.
    path("d/<slug:district>/students/<int:student_id>/forms/<int:form_id>/start/", form_views.start,
         name="form_start"),
    path("d/<slug:district>/submissions/<int:submission_id>/continue/", form_views.continue_form,
         name="form_continue"),
    path("d/<slug:district>/submissions/<int:submission_id>/confirmation/", form_views.confirmation,
         name="form_confirmation"),
    path("d/<slug:district>/submissions/<int:submission_id>/pay/", form_views.pay, name="form_pay"),
    path("d/<slug:district>/submissions/<int:submission_id>/edit/", form_views.edit, name="form_edit"),
    path("d/<slug:district>/submissions/<int:submission_id>/instructions/", form_views.instructions,
         name="form_instructions"),
    path("d/<slug:district>/submissions/<int:submission_id>/pages/<int:page>/", form_views.page, name="form_page"),
    path("d/<slug:district>/form-lock/heartbeat/", form_views.lock_heartbeat, name="form_lock_heartbeat"),
    path("d/<slug:district>/form-lock/release/", form_views.lock_release, name="form_lock_release"),
]
