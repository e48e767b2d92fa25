"""A small, valid scenario document, and helpers to load it and to snapshot the database."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from django.apps import apps
from django.contrib.auth import get_user_model

BASE = {
    "districts": [{
        "slug": "maple",
        "name": "Maple Grove Schools",
        "environment": "US2",
        "products": ["enrollment", "express"],
        "mypowerhub_enabled": True,
        "available_forms": {"mode": "automatic", "forms": []},
        "sso": {"issuer": "https://idp.maple.example", "client_id": "portal", "client_secret": "s3cret",
                "global_identifier_claim": "sub", "scopes": "openid email", "enabled": True},
        "students": [
            {"sis_id": "1001", "first_name": "Ana", "last_name": "Diaz", "grade": "3",
             "sis_data": {"birth_date": "2017-04-12"}},
            {"sis_id": "1002", "first_name": "Luis", "last_name": "Diaz", "grade": "7"},
        ],
        "guardians": [
            {"global_id": "g-maria", "email": "maria@example.org", "first_name": "Maria", "last_name": "Diaz",
             "students": [{"sis_id": "1001"}, {"sis_id": "1002"}]},
            {"global_id": "g-carlos", "email": "carlos@example.org", "first_name": "Carlos", "last_name": "Diaz",
             "students": [{"sis_id": "1001", "restricted": True}]},
            {"global_id": "g-lonely", "first_name": "Pat", "last_name": "Lee", "students": []},
        ],
        "packets": [
            {"key": "bts", "name": "Back to School", "students": "all"},
            {"key": "sports", "name": "Athletics", "students": ["1002"]},
        ],
        "forms": [
            {"key": "reg", "name": "Returning Registration", "type": "public", "student_type": "existing",
             "academic_year": "2025-2026", "approval_status": True},
            {"key": "kinder", "name": "Kindergarten Registration", "type": "public", "student_type": "new",
             "academic_year": "2025-2026"},
            {"key": "lunch", "name": "Lunch Application", "type": "private", "academic_year": "2025-26",
             "approval_status": True},
            {"key": "fall", "name": "Fall Survey", "type": "restricted", "status": "scheduled",
             "opens_at": "2025-09-01T00:00:00Z", "closes_at": "2025-10-01T00:00:00Z", "academic_year": "2025"},
            {"key": "old", "name": "Old Registration", "type": "public", "status": "closed",
             "academic_year": "2024-2025"},
            {"key": "media", "name": "Media Release", "product": "express", "packet": "bts"},
            {"key": "physical", "name": "Sports Physical", "product": "express", "packet": "sports"},
        ],
        "submissions": [
            {"form": "lunch", "student": "1001", "started_by": "g-maria", "status": "submitted", "last_page": 2,
             "submitted_at": "2025-04-02T15:00:00Z", "workspace": "approved",
             "approved_at": "2025-04-10T23:30:00-05:00", "balance": "25.00"},
            {"form": "old", "student": "1001", "status": "submitted", "submitted_at": "2025-03-01T10:00:00Z",
             "last_updated_at": "2025-05-01T10:00:00Z", "update_requested": True},
            {"form": "reg", "student": "1001", "started_by": "g-maria", "status": "in_progress", "last_page": 3,
             "answers": {"phone": "555-0100"}},
        ],
    }]
}


def document(**changes) -> dict:
    """A deep copy of BASE; keyword arguments replace keys of the first district."""
    data = copy.deepcopy(BASE)
    data["districts"][0].update(changes)
    return data


def write(tmp_path: Path, data, name: str = "scenario.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def domain_models():
    """Every model whose rows a scenario load could touch: the domain, SSO and user accounts."""
    models = list(apps.get_app_config("forms_catalog").get_models())
    models += list(apps.get_app_config("sso").get_models())
    models.append(get_user_model())
    for model in list(models):
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            if through._meta.auto_created:
                models.append(through)
    return models


def snapshot() -> dict:
    """Every row of every domain table, as plain values, ordered by primary key."""
    return {m._meta.label: list(m.objects.order_by("pk").values()) for m in domain_models()}


def counts() -> dict:
    return {m._meta.label: m.objects.count() for m in domain_models()}
