"""What a form asks: its ordered pages of fields, as plain values.

Definitions are rows (`FormPage`, `FormField`) edited in Django admin or given in scenario files.
A form without pages is asked with `default_definition`, derived here and never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import Form, FormField, FormPage, Student

KINDS = tuple(FormField.Kind.values)
DEFAULT_MAX_FILE_SIZE = 5 * 1024 * 1024
DEFAULT_ALLOWED_TYPES = (".pdf", ".jpg", ".jpeg", ".png")
# Student attributes a field may be prefilled from; any other name is a key of `Student.sis_data`.
STUDENT_PREFILL = ("first_name", "last_name", "full_name", "grade", "sis_id")


@dataclass(frozen=True, slots=True)
class FieldDef:
    key: str
    label: str
    kind: str
    required: bool = False
    choices: tuple[str, ...] = ()
    help_text: str = ""
    prefill_from: str = ""
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    allowed_types: tuple[str, ...] = DEFAULT_ALLOWED_TYPES


@dataclass(frozen=True, slots=True)
class PageDef:
    number: int  # 1-based position among the form's pages
    title: str
    instructions: str = ""
    fields: tuple[FieldDef, ...] = ()


@dataclass(frozen=True, slots=True)
class Definition:
    pages: tuple[PageDef, ...]
    derived: bool = False  # True for the default of a form without pages

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def page(self, number: int) -> PageDef:
        return self.pages[number - 1]

    @property
    def fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for p in self.pages for f in p.fields)

    def has_files(self, number: int) -> bool:
        return any(f.kind == "file" for f in self.page(number).fields)


def _types(text: str) -> tuple[str, ...]:
    types = tuple(t.strip().lower() for t in text.split(",") if t.strip())
    return types or DEFAULT_ALLOWED_TYPES


def field_def(row: FormField) -> FieldDef:
    return FieldDef(
        key=row.key,
        label=row.label,
        kind=row.kind,
        required=row.required,
        choices=tuple(row.choices or ()),
        help_text=row.help_text,
        prefill_from=row.prefill_from,
        max_file_size=row.max_file_size or DEFAULT_MAX_FILE_SIZE,
        allowed_types=_types(row.allowed_types),
    )


def default_definition(form: Form) -> Definition:
    """The one page asked when a form has no pages of its own: the student's details and a signature."""
    fields = (
        FieldDef("student_name", str(_("Student's full name")), "short_text", required=True,
                 prefill_from="full_name"),
        FieldDef("birth_date", str(_("Date of birth")), "date", required=True, prefill_from="birth_date"),
        FieldDef("address", str(_("Home address")), "short_text", prefill_from="address"),
        FieldDef("comments", str(_("Anything the school should know")), "long_text"),
        FieldDef("signature", str(_("Parent or guardian signature")), "signature", required=True,
                 help_text=str(_("Type your full name to sign; today's date is recorded with it."))),
    )
    return Definition(pages=(PageDef(1, form.name, "", fields),), derived=True)


def definition_for(form: Form) -> Definition:
    """The form's pages and fields in one query (pages joined to their fields), or the derived default."""
    rows = (
        FormPage.objects.filter(form=form)
        .order_by("order", "fields__order")
        .values("id", "title", "instructions", *(f"fields__{name}" for name in FIELD_COLUMNS))
    )
    pages: dict[int, tuple[str, str, list[FieldDef]]] = {}
    for row in rows:
        _title, _instructions, fields = pages.setdefault(row["id"], (row["title"], row["instructions"], []))
        if row["fields__key"] is not None:
            fields.append(field_def(FormField(**{name: row[f"fields__{name}"] for name in FIELD_COLUMNS})))
    if not pages:
        return default_definition(form)
    return Definition(
        pages=tuple(
            PageDef(i, title, instructions, tuple(fields))
            for i, (title, instructions, fields) in enumerate(pages.values(), start=1)
        )
    )


FIELD_COLUMNS = ("key", "label", "kind", "required", "choices", "help_text", "prefill_from", "max_file_size",
                 "allowed_types")


def prefill_value(student: Student, source: str):
    if not source:
        return None
    if source in STUDENT_PREFILL:
        return getattr(student, source)
    return (student.sis_data or {}).get(source)


def prefilled_answers(definition: Definition, student: Student) -> dict:
    """Answers taken from the student's SIS record, for the fields that name a source."""
    answers = {}
    for f in definition.fields:
        value = prefill_value(student, f.prefill_from)
        if value is None or value == "":
            continue
        text_like = f.kind in ("short_text", "long_text", "date", "number")
        if text_like or (f.kind == "single_choice" and str(value) in f.choices):
            answers[f.key] = str(value)
        elif f.kind == "checkbox" and isinstance(value, bool):
            answers[f.key] = value
    return answers


# --- Writes: replacing a form's definition (scenario files) -----------------------------------


@transaction.atomic
def form_definition_set(*, form: Form, pages: Iterable[dict]) -> bool:
    """Make the form's pages and fields exactly `pages`; returns whether anything changed.

    `pages` items: {"title", "instructions", "fields": [{"key", "label", "kind", ...}]}. Rows are kept
    when they already match, so loading the same definition twice changes nothing.
    """
    wanted = list(pages)
    current = list(FormPage.objects.filter(form=form).prefetch_related("fields").order_by("order"))
    if _same(current, wanted):
        return False
    FormPage.objects.filter(form=form).delete()
    for i, page in enumerate(wanted, start=1):
        row = FormPage(form=form, order=i, title=page["title"], instructions=page.get("instructions", ""))
        row.full_clean()
        row.save()
        for j, spec in enumerate(page.get("fields", []), start=1):
            f = FormField(page=row, order=j, **_field_values(spec))
            f.full_clean()
            f.save()
    return True


FIELD_DEFAULTS = {"required": False, "choices": [], "help_text": "", "prefill_from": "", "max_file_size": None,
                  "allowed_types": ""}


def _field_values(spec: dict) -> dict:
    values = {"key": spec["key"], "label": spec["label"], "kind": spec.get("kind", "short_text")}
    for name, default in FIELD_DEFAULTS.items():
        values[name] = spec.get(name, default)
    return values


def _same(current: list[FormPage], wanted: list[dict]) -> bool:
    if len(current) != len(wanted):
        return False
    for row, page in zip(current, wanted, strict=True):
        if (row.title, row.instructions) != (page["title"], page.get("instructions", "")):
            return False
        fields = sorted(row.fields.all(), key=lambda f: f.order)
        specs = page.get("fields", [])
        if len(fields) != len(specs):
            return False
        for f, spec in zip(fields, specs, strict=True):
            if {name: getattr(f, name) for name in ("key", "label", "kind", *FIELD_DEFAULTS)} != _field_values(spec):
                return False
    return True
