"""Checking a page's posted answers, field by field (R9 form tab, issue item 4).

Pure functions over the page definition and the posted values: they return the cleaned answers,
one message per refused field, and what was typed so a refused page shows it again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from forms_catalog.form_definitions import FieldDef, PageDef

SHORT_TEXT_MAX = 200
LONG_TEXT_MAX = 5000
NUMBER_MAX = Decimal("1000000000")


def input_name(f: FieldDef) -> str:
    return f"f-{f.key}"


@dataclass
class PageResult:
    answers: dict = field(default_factory=dict)  # cleaned answers of the valid fields
    errors: dict[str, str] = field(default_factory=dict)  # field key -> message
    typed: dict = field(default_factory=dict)  # field key -> what was posted, to show again
    uploads: dict = field(default_factory=dict)  # field key -> an accepted UploadedFile, not yet stored

    @property
    def valid(self) -> bool:
        return not self.errors


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(1, size // 1024)} KB"


def clean_page(page: PageDef, data, files, current: dict, today: date, *, require: bool = True) -> PageResult:
    """Check every field of `page` in `data` (a QueryDict) and `files`; `current` are the saved answers.

    `require=False` (the Back button) lets required fields stay empty; Submit checks them on every page.
    """
    result = PageResult()
    for f in page.fields:
        if not require:
            f = replace(f, required=False)
        name = input_name(f)
        if f.kind == "multiple_choice":
            raw = data.getlist(name)
        elif f.kind == "checkbox":
            raw = data.get(name) == "on"
        elif f.kind == "file":
            raw = None
        else:
            raw = data.get(name, "")
            raw = raw.strip() if f.kind != "long_text" else raw.strip("\r\n ")
        if f.kind != "file":
            result.typed[f.key] = raw
        try:
            value = _clean(f, raw, files.get(name) if f.kind == "file" else None, current.get(f.key), today, result)
        except ValueError as exc:
            result.errors[f.key] = str(exc)
            continue
        result.answers[f.key] = value
    return result


def _clean(f: FieldDef, raw, upload, saved, today: date, result: PageResult):
    kind = f.kind
    if kind == "checkbox":
        if f.required and not raw:
            raise ValueError(_("Check this box to continue."))
        return bool(raw)
    if kind == "multiple_choice":
        unknown = [c for c in raw if c not in f.choices]
        if unknown:
            raise ValueError(_("Choose from the options listed."))
        if f.required and not raw:
            raise ValueError(_("Choose at least one option."))
        return [c for c in f.choices if c in raw]
    if kind == "file":
        if upload is None:
            if f.required and not saved:
                raise ValueError(_("Choose a file to upload."))
            return saved
        ext = os.path.splitext(upload.name)[1].lower()
        if ext not in f.allowed_types:
            types = ", ".join(f.allowed_types)
            raise ValueError(_("Upload a file of one of these types: %(types)s.") % {"types": types})
        if upload.size > f.max_file_size:
            raise ValueError(_("The file is too large; the limit is %(size)s.") % {"size": _size_text(f.max_file_size)})
        if upload.size == 0:
            raise ValueError(_("The file is empty."))
        result.uploads[f.key] = upload
        return saved  # replaced by the stored file's description when the page is saved
    if not raw:
        if f.required:
            if kind == "single_choice":
                raise ValueError(_("Choose one option."))
            if kind == "signature":
                raise ValueError(_("Type your full name to sign."))
            raise ValueError(_("This field is required."))
        return None if kind == "signature" else ""
    if kind == "short_text" and len(raw) > SHORT_TEXT_MAX:
        raise ValueError(_("Use at most %(n)d characters.") % {"n": SHORT_TEXT_MAX})
    if kind == "long_text" and len(raw) > LONG_TEXT_MAX:
        raise ValueError(_("Use at most %(n)d characters.") % {"n": LONG_TEXT_MAX})
    if kind == "date":
        try:
            parsed = parse_date(raw)
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(_("Enter a date such as 2026-09-01."))
        return parsed.isoformat()
    if kind == "number":
        try:
            number = Decimal(raw.replace(",", ""))
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= NUMBER_MAX:
            raise ValueError(_("Enter a number."))
        return str(number)
    if kind == "single_choice":
        if raw not in f.choices:
            raise ValueError(_("Choose from the options listed."))
        return raw
    if kind == "signature":
        if len(raw) > SHORT_TEXT_MAX:
            raise ValueError(_("Use at most %(n)d characters.") % {"n": SHORT_TEXT_MAX})
        if isinstance(saved, dict) and saved.get("name") == raw and saved.get("date"):
            return saved  # the same signature keeps the date it was made
        return {"name": raw, "date": today.isoformat()}
    return raw


def missing_answers(page: PageDef, answers: dict) -> dict[str, str]:
    """Submit: the required fields of `page` that have no saved answer (every page is checked)."""
    errors = {}
    for f in page.fields:
        if not f.required:
            continue
        value = answers.get(f.key)
        if value in (None, "", [], False) or (f.kind == "signature" and not (value or {}).get("name")):
            errors[f.key] = _("This field is required.")
    return errors


def display_value(f: FieldDef, value) -> str:
    """The read-only text of a saved answer (confirmation summary)."""
    if value in (None, "", []):
        return ""
    if f.kind == "checkbox":
        return _("Yes") if value else _("No")
    if f.kind == "multiple_choice":
        return ", ".join(value)
    if f.kind == "signature" and isinstance(value, dict):
        return _("Signed by %(name)s on %(date)s") % {"name": value.get("name", ""), "date": value.get("date", "")}
    if f.kind == "file" and isinstance(value, dict):
        return value.get("name", "")
    return str(value)
