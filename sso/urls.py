from django.urls import path

from . import views

app_name = "sso"

urlpatterns = [
    path("<slug:district>/login/", views.login_start, name="login"),
]
