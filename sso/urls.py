from django.urls import path

from . import views

app_name = "sso"

urlpatterns = [
    # One callback for every district: the district is bound to the stored state.
    path("callback/", views.callback, name="callback"),
    path("<slug:district>/login/", views.login_start, name="login"),
    path("<slug:district>/logout/", views.logout, name="logout"),
    path("<slug:district>/signed-out/", views.signed_out, name="signed_out"),
]
