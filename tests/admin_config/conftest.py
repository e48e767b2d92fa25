"""The console cast: on top of the shared district cast, staff with each role, staff of the other
district, support staff, and a parent account; plus submissions in the workspace."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from admin_config import services as console
from forms_catalog import services as catalog
from forms_catalog.models import Form, Submission
from tests.conftest import Cast, make_cast

PASSWORD = "Correct-Horse-Battery-42"


@dataclass
class Console:
    cast: Cast
    config_admin: object  # Configuration role in Springfield
    workspace_admin: object  # Submission Workspace role in Springfield
    no_role: object  # Springfield staff without any role
    other_admin: object  # both roles, but in Shelbyville
    support: object  # a superuser (support staff)
    parent: object  # the user of a Springfield guardian

    @property
    def district(self):
        return self.cast.district


def make_staff(username: str, district, *, configuration=False, submission_workspace=False):
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.org")
    console.staff_membership_set(user=user, district=district, configuration=configuration,
                                 submission_workspace=submission_workspace)
    return user


@pytest.fixture(autouse=True)
def _fast_console_settings(settings):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def staff(db) -> Console:
    cast = make_cast()
    return Console(
        cast=cast,
        config_admin=make_staff("cfg", cast.district, configuration=True),
        workspace_admin=make_staff("ws", cast.district, submission_workspace=True),
        no_role=make_staff("norole", cast.district),
        other_admin=make_staff("other", cast.other_district, configuration=True, submission_workspace=True),
        support=get_user_model().objects.create_superuser("support", "support@example.org", PASSWORD),
        parent=cast.guardian.user,
    )


def submitted(student, form, *, workspace="not_imported", minutes_ago=60, **values) -> Submission:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    submission, _ = catalog.submission_upsert(
        student=student, form=form, status="submitted", submitted_at=at, workspace=workspace, **values
    )
    return submission


def enrollment_form(district, key, *, approval_status=True, **values) -> Form:
    values.setdefault("name", key.replace("-", " ").title())
    values.setdefault("type", "public")
    values.setdefault("student_type", "new_and_existing")
    form, _ = catalog.form_upsert(district=district, key=key, product="enrollment",
                                  approval_status=approval_status, **values)
    return form
