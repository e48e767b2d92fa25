"""Scenario files (SCENARIOS.md): a district's data as JSON, loaded idempotently in one transaction.

Bad input stops the load with a `ScenarioError` naming the JSON path at fault; nothing is written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from sso import validation as sso_validation
from sso.models import SSOConfiguration

from . import form_definitions, services
from .models import District, Form, FormField, Guardian, Packet, Student


class ScenarioError(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass
class LoadResult:
    districts: int = 0
    created_or_changed: int = 0


ENVIRONMENTS = ("US1", "US2", "CAN")
PRODUCTS = ("enrollment", "express")
FORM_TYPES = ("public", "restricted", "private", "year_round_update")
STUDENT_TYPES = ("new", "existing", "new_and_existing")
FORM_STATUSES = ("open", "closed", "scheduled")
SUBMISSION_STATUSES = ("in_progress", "submitted")
WORKSPACE_STATES = ("not_imported", "pending_approval", "approved", "discarded", "rejected")
AVAILABLE_MODES = ("automatic", "none", "manual")


# --- Typed readers that name the path at fault -------------------------------------------------


def _fields(obj: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> dict:
    if not isinstance(obj, dict):
        raise ScenarioError(path, f"expected an object, got {_kind(obj)}")
    for key in obj:
        if key not in required and key not in optional:
            raise ScenarioError(f"{path}.{key}", "unknown field")
    for key in required:
        if key not in obj:
            raise ScenarioError(f"{path}.{key}", "missing required field")
    return obj


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else type(value).__name__
    )


def _str(obj: dict, key: str, path: str, *, default: str | None = None, allow_empty: bool = True) -> str:
    if key not in obj:
        if default is None:
            raise ScenarioError(f"{path}.{key}", "missing required field")
        return default
    value = obj[key]
    if not isinstance(value, str):
        raise ScenarioError(f"{path}.{key}", f"expected a string, got {_kind(value)}")
    if not allow_empty and not value.strip():
        raise ScenarioError(f"{path}.{key}", "must not be empty")
    return value


def _opt_str(obj: dict, key: str, path: str, default: str = "") -> str:
    if obj.get(key) is None:
        return default
    return _str(obj, key, path)


def _bool(obj: dict, key: str, path: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{path}.{key}", f"expected true or false, got {_kind(value)}")
    return value


def _int(obj: dict, key: str, path: str, default: int, minimum: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"{path}.{key}", f"expected an integer, got {_kind(value)}")
    if value < minimum:
        raise ScenarioError(f"{path}.{key}", f"must be at least {minimum}")
    return value


def _enum(obj: dict, key: str, path: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = _str(obj, key, path, default=default)
    if value not in choices:
        raise ScenarioError(f"{path}.{key}", f"{json.dumps(value)} is not one of {'|'.join(choices)}")
    return value


def _list(obj: dict, key: str, path: str, default: list | None = None) -> list:
    value = obj.get(key, default if default is not None else [])
    if not isinstance(value, list):
        raise ScenarioError(f"{path}.{key}", f"expected a list, got {_kind(value)}")
    return value


def _datetime(obj: dict, key: str, path: str) -> datetime | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ScenarioError(f"{path}.{key}", f"expected an ISO 8601 date-time string, got {_kind(value)}")
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - made UTC below
    except ValueError:
        parsed = None
    if parsed is None:
        raise ScenarioError(f"{path}.{key}", f"{json.dumps(value)} is not a valid ISO 8601 date-time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _money(obj: dict, key: str, path: str) -> Decimal:
    value = obj.get(key, "0")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ScenarioError(f"{path}.{key}", f"expected an amount such as \"25.00\", got {_kind(value)}")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ScenarioError(f"{path}.{key}", f"{json.dumps(value)} is not an amount") from None
    if not amount.is_finite() or amount < 0:
        raise ScenarioError(f"{path}.{key}", "must be a non-negative amount")
    if amount >= Decimal("100000000"):
        raise ScenarioError(f"{path}.{key}", "is too large")
    if amount != amount.quantize(Decimal("0.01")):
        raise ScenarioError(f"{path}.{key}", "must have at most two decimal places")
    return amount.quantize(Decimal("0.01"))


def _validated(path: str, fn, *args, **kwargs):
    """Run a service; turn its validation errors into a message at `path`."""
    try:
        return fn(*args, **kwargs)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            where = path if field == "__all__" else f"{path}.{field}"
            raise ScenarioError(where, " ".join(messages)) from None
        raise ScenarioError(path, " ".join(exc.messages)) from None


# --- Loading ---------------------------------------------------------------------------------


def _refuse_constant(name: str):
    # Python's json module accepts NaN and Infinity; JSON (and the database's JSON columns) do not.
    raise ScenarioError("$", f"not valid JSON ({name} is not a JSON value)")


def load_file(file_path: str) -> LoadResult:
    try:
        with open(file_path, encoding="utf-8") as fh:
            data = json.load(fh, parse_constant=_refuse_constant)
    except FileNotFoundError:
        raise ScenarioError("$", f"file not found: {file_path}") from None
    except UnicodeDecodeError:
        raise ScenarioError("$", "the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError("$", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    return load_data(data)


@transaction.atomic
def load_data(data: Any) -> LoadResult:
    """Create or update everything in `data`; any error rolls the whole file back."""
    _fields(data, "$", ("districts",), ())
    result = LoadResult()
    seen: set[str] = set()
    for i, district in enumerate(_list(data, "districts", "$")):
        path = f"districts[{i}]"
        slug = district.get("slug") if isinstance(district, dict) else None
        if isinstance(slug, str):  # anything else is refused, with its path, by _load_district
            _unique_key(seen, slug, f"{path}.slug", "district")
        result.created_or_changed += _load_district(district, path)
        result.districts += 1
    return result


def _unique_key(seen: set, value: str, path: str, what: str) -> None:
    if value in seen:
        raise ScenarioError(path, f"duplicate {what} {json.dumps(value)}")
    seen.add(value)


def _load_district(obj: Any, path: str) -> int:
    _fields(
        obj,
        path,
        ("slug", "name"),
        ("environment", "products", "mypowerhub_enabled", "available_forms", "sso", "students", "guardians",
         "packets", "forms", "submissions"),
    )
    changes = 0
    slug = _str(obj, "slug", path, allow_empty=False)
    products = _list(obj, "products", path, default=["enrollment"])
    for j, product in enumerate(products):
        if product not in PRODUCTS:
            raise ScenarioError(f"{path}.products[{j}]", f"{json.dumps(product)} is not one of {'|'.join(PRODUCTS)}")
    if not products:
        raise ScenarioError(f"{path}.products", "a district needs at least one product")
    available = obj.get("available_forms", {})
    _fields(available, f"{path}.available_forms", (), ("mode", "forms"))
    mode = _enum(available, "mode", f"{path}.available_forms", AVAILABLE_MODES, default="automatic")

    district, changed = _validated(
        path,
        services.district_upsert,
        slug=slug,
        name=_str(obj, "name", path, allow_empty=False),
        environment=_enum(obj, "environment", path, ENVIRONMENTS, default="US1"),
        has_enrollment="enrollment" in products,
        has_express="express" in products,
        mypowerhub_enabled=_bool(obj, "mypowerhub_enabled", path, True),
    )
    changes += changed

    if "sso" in obj:
        changes += _load_sso(district, obj["sso"], f"{path}.sso")

    students: dict[str, Student] = {s.sis_id: s for s in Student.objects.filter(district=district)}
    seen: set[str] = set()
    for j, row in enumerate(_list(obj, "students", path)):
        p = f"{path}.students[{j}]"
        _fields(row, p, ("sis_id", "first_name", "last_name"), ("grade", "sis_data"))
        sis_id = _str(row, "sis_id", p, allow_empty=False)
        _unique_key(seen, sis_id, f"{p}.sis_id", "student")
        sis_data = row.get("sis_data", {})
        if not isinstance(sis_data, dict):
            raise ScenarioError(f"{p}.sis_data", f"expected an object, got {_kind(sis_data)}")
        student, changed = _validated(
            p,
            services.student_upsert,
            district=district,
            sis_id=sis_id,
            first_name=_str(row, "first_name", p),
            last_name=_str(row, "last_name", p),
            grade=_opt_str(row, "grade", p),
            sis_data=sis_data,
        )
        students[sis_id] = student
        changes += changed

    def student_ref(value: Any, p: str) -> Student:
        if not isinstance(value, str):
            raise ScenarioError(p, f"expected a student sis_id string, got {_kind(value)}")
        if value not in students:
            raise ScenarioError(p, f"no student with sis_id {json.dumps(value)} in district {json.dumps(slug)}")
        return students[value]

    guardians: dict[str, Guardian] = {g.global_id: g for g in Guardian.objects.filter(district=district)}
    seen = set()
    for j, row in enumerate(_list(obj, "guardians", path)):
        p = f"{path}.guardians[{j}]"
        _fields(row, p, ("global_id",), ("email", "first_name", "last_name", "students"))
        global_id = _str(row, "global_id", p, allow_empty=False)
        _unique_key(seen, global_id, f"{p}.global_id", "guardian")
        guardian, changed = _validated(
            p,
            services.guardian_upsert,
            district=district,
            global_id=global_id,
            email=_opt_str(row, "email", p),
            first_name=_opt_str(row, "first_name", p),
            last_name=_opt_str(row, "last_name", p),
        )
        guardians[global_id] = guardian
        changes += changed
        linked: set[str] = set()
        for k, link in enumerate(_list(row, "students", p)):
            lp = f"{p}.students[{k}]"
            _fields(link, lp, ("sis_id",), ("restricted",))
            student = student_ref(link["sis_id"], f"{lp}.sis_id")
            _unique_key(linked, student.sis_id, f"{lp}.sis_id", "link to student")
            changes += _validated(
                lp,
                services.guardian_link_set,
                guardian=guardian,
                student=student,
                restricted=_bool(link, "restricted", lp, False),
            )[1]

    packets: dict[str, Packet] = {p.key: p for p in Packet.objects.filter(district=district)}
    seen = set()
    for j, row in enumerate(_list(obj, "packets", path)):
        p = f"{path}.packets[{j}]"
        _fields(row, p, ("key", "name"), ("students",))
        key = _str(row, "key", p, allow_empty=False)
        _unique_key(seen, key, f"{p}.key", "packet")
        audience = row.get("students", "all")
        if audience == "all":
            targets = None
        elif isinstance(audience, list):
            targets = [student_ref(s, f"{p}.students[{k}]") for k, s in enumerate(audience)]
        else:
            raise ScenarioError(f"{p}.students", 'expected "all" or a list of student sis_ids')
        packet, changed = _validated(
            p, services.packet_upsert, district=district, key=key, name=_str(row, "name", p), students=targets
        )
        packets[key] = packet
        changes += changed

    forms: dict[str, Form] = {f.key: f for f in Form.objects.filter(district=district)}
    seen = set()
    for j, row in enumerate(_list(obj, "forms", path)):
        p = f"{path}.forms[{j}]"
        form, changed = _load_form(district, row, p, packets, seen)
        forms[form.key] = form
        changes += changed

    selection = []
    for j, key in enumerate(_list(available, "forms", f"{path}.available_forms")):
        p = f"{path}.available_forms.forms[{j}]"
        if not isinstance(key, str) or key not in forms:
            raise ScenarioError(p, f"no form with key {json.dumps(key)} in district {json.dumps(slug)}")
        if forms[key].product != Form.Product.ENROLLMENT:
            raise ScenarioError(p, f"form {json.dumps(key)} is not an enrollment form")
        selection.append(forms[key].id)
    changes += services.available_forms_set(district=district, mode=mode, form_ids=selection)

    seen_pairs: set[tuple[str, str]] = set()
    for j, row in enumerate(_list(obj, "submissions", path)):
        p = f"{path}.submissions[{j}]"
        changes += _load_submission(row, p, forms, student_ref, guardians, seen_pairs, slug)
    return changes


def _load_sso(district: District, obj: Any, path: str) -> int:
    _fields(obj, path, (), ("issuer", "client_id", "client_secret", "global_identifier_claim", "scopes", "enabled"))
    values = {
        "issuer": _opt_str(obj, "issuer", path).strip(),
        "client_id": _opt_str(obj, "client_id", path).strip(),
        "global_identifier_claim": _opt_str(obj, "global_identifier_claim", path).strip(),
        "scopes": _opt_str(obj, "scopes", path, default="openid").strip(),
        "enabled": _bool(obj, "enabled", path, False),
    }
    secret = _opt_str(obj, "client_secret", path)
    config = SSOConfiguration.objects.filter(district=district).first()
    effective_secret = secret or (config.client_secret if config else "")
    errors = sso_validation.static_errors(client_secret=effective_secret, **values)
    if errors:
        field, message = next(iter(errors.items()))
        raise ScenarioError(f"{path}.{field}", message)
    if config is None:
        config = SSOConfiguration(district=district)
    changed = services._apply(config, values)
    if secret and (not config.client_secret_encrypted or config.client_secret != secret):
        config.set_client_secret(secret)
        changed.append("client_secret_encrypted")
    if config.pk is None:
        config.save()
        return 1
    if changed:
        config.save(update_fields=changed)
    return bool(changed)


def _load_form(district: District, row: Any, p: str, packets: dict[str, Packet], seen: set) -> tuple[Form, bool]:
    _fields(
        row,
        p,
        ("key", "name"),
        ("product", "type", "student_type", "status", "opens_at", "closes_at", "academic_year",
         "approval_status", "packet", "pages"),
    )
    key = _str(row, "key", p, allow_empty=False)
    _unique_key(seen, key, f"{p}.key", "form")
    pages = _pages(row["pages"], f"{p}.pages") if "pages" in row else None
    product = _enum(row, "product", p, PRODUCTS, default="enrollment")
    packet = None
    if product == "enrollment":
        form_type = _enum(row, "type", p, FORM_TYPES)
        if "packet" in row:
            raise ScenarioError(f"{p}.packet", "only express forms belong to a packet")
        fixed = form_type in Form.FIXED_EXISTING_TYPES
        default_type = "existing" if fixed else "new_and_existing"
        student_type = _enum(row, "student_type", p, STUDENT_TYPES, default=default_type)
        if fixed and student_type != "existing":
            raise ScenarioError(
                f"{p}.student_type",
                f"{form_type} forms are always for existing students; student_type must be \"existing\" (R2)",
            )
    else:
        for field in ("type", "student_type"):
            if field in row:
                raise ScenarioError(f"{p}.{field}", "express forms have no form type or student type")
        form_type, student_type = "", "existing"
        packet_key = _str(row, "packet", p)
        if packet_key not in packets:
            raise ScenarioError(f"{p}.packet", f"no packet with key {json.dumps(packet_key)}")
        packet = packets[packet_key]
    form, changed = _validated(
        p,
        services.form_upsert,
        district=district,
        key=key,
        name=_str(row, "name", p, allow_empty=False),
        product=product,
        type=form_type,
        student_type=student_type,
        status=_enum(row, "status", p, FORM_STATUSES, default="open"),
        opens_at=_datetime(row, "opens_at", p),
        closes_at=_datetime(row, "closes_at", p),
        academic_year=_opt_str(row, "academic_year", p).strip(),
        approval_status=_bool(row, "approval_status", p, False),
        packet=packet,
    )
    if pages is not None:
        changed |= _validated(f"{p}.pages", form_definitions.form_definition_set, form=form, pages=pages)
    return form, changed


FIELD_KINDS = tuple(FormField.Kind.values)


def _pages(value: Any, path: str) -> list[dict]:
    """A form's optional `pages` (README "Form pages"): checked here so errors name the JSON path."""
    if not isinstance(value, list):
        raise ScenarioError(path, f"expected a list, got {_kind(value)}")
    pages, keys = [], set()
    for i, page in enumerate(value):
        pp = f"{path}[{i}]"
        _fields(page, pp, ("title",), ("instructions", "fields"))
        fields = []
        for j, spec in enumerate(_list(page, "fields", pp)):
            fp = f"{pp}.fields[{j}]"
            _fields(spec, fp, ("key", "label"), ("kind", "required", "choices", "help_text", "prefill_from",
                                                 "max_file_size", "allowed_types"))
            key = _str(spec, "key", fp, allow_empty=False)
            _unique_key(keys, key, f"{fp}.key", "field key")
            choices = _list(spec, "choices", fp)
            for k, choice in enumerate(choices):
                if not isinstance(choice, str):
                    raise ScenarioError(f"{fp}.choices[{k}]", f"expected a string, got {_kind(choice)}")
            values = {
                "key": key,
                "label": _str(spec, "label", fp, allow_empty=False),
                "kind": _enum(spec, "kind", fp, FIELD_KINDS, default="short_text"),
                "required": _bool(spec, "required", fp, False),
                "choices": choices,
                "help_text": _opt_str(spec, "help_text", fp),
                "prefill_from": _opt_str(spec, "prefill_from", fp).strip(),
                "max_file_size": _int(spec, "max_file_size", fp, 1, 1) if "max_file_size" in spec else None,
                "allowed_types": _opt_str(spec, "allowed_types", fp).strip(),
            }
            _validated(fp, FormField(order=j + 1, **values).full_clean, exclude=["page"], validate_unique=False,
                       validate_constraints=False)
            fields.append(values)
        pages.append({"title": _str(page, "title", pp, allow_empty=False),
                      "instructions": _opt_str(page, "instructions", pp), "fields": fields})
    return pages


def _load_submission(row, p, forms, student_ref, guardians, seen_pairs, slug) -> int:
    _fields(
        row,
        p,
        ("form", "student"),
        ("started_by", "status", "last_page", "submitted_at", "last_updated_at", "workspace", "approved_at",
         "balance", "update_requested", "answers"),
    )
    form_key = row["form"]
    if not isinstance(form_key, str) or form_key not in forms:
        raise ScenarioError(f"{p}.form", f"no form with key {json.dumps(form_key)} in district {json.dumps(slug)}")
    student = student_ref(row["student"], f"{p}.student")
    pair = (form_key, student.sis_id)
    if pair in seen_pairs:
        raise ScenarioError(p, f"a second submission of form {json.dumps(form_key)} for student "
                               f"{json.dumps(student.sis_id)}; a student has one submission per form")
    seen_pairs.add(pair)
    started_by = None
    if row.get("started_by") is not None:
        ref = row["started_by"]
        if not isinstance(ref, str) or ref not in guardians:
            raise ScenarioError(f"{p}.started_by", f"no guardian with global_id {json.dumps(ref)}")
        started_by = guardians[ref]
    status = _enum(row, "status", p, SUBMISSION_STATUSES, default="in_progress")
    submitted_at = _datetime(row, "submitted_at", p)
    if status == "submitted" and submitted_at is None:
        raise ScenarioError(f"{p}.submitted_at", "a submitted submission needs submitted_at")
    answers = row.get("answers", {})
    if not isinstance(answers, dict):
        raise ScenarioError(f"{p}.answers", f"expected an object, got {_kind(answers)}")
    values = {
        "started_by": started_by,
        "status": status,
        "last_page": _int(row, "last_page", p, 1, 1),
        "submitted_at": submitted_at,
        "last_updated_at": _datetime(row, "last_updated_at", p),
        "workspace": _enum(row, "workspace", p, WORKSPACE_STATES, default="not_imported"),
        "approved_at": _datetime(row, "approved_at", p),
        "update_requested": _bool(row, "update_requested", p, False),
        "balance": _money(row, "balance", p),
    }
    if "answers" in row:
        values["answers"] = answers
    return _validated(p, services.submission_upsert, student=student, form=forms[form_key], **values)[1]

