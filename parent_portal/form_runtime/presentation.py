"""Turning definitions and answers into what the form-tab templates render (no decisions here)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from forms_catalog.form_definitions import Definition, FieldDef, PageDef

from .fields import display_value, input_name


@dataclass(frozen=True)
class FieldView:
    field: FieldDef
    name: str
    value: object  # str for text-like kinds, list for multiple choice, bool for a checkbox
    error: str = ""
    saved_by_other: str = ""  # R10: what the other guardian saved, when it differs from what was typed
    file: dict | None = None

    @property
    def id(self) -> str:
        return f"field-{self.field.key}"

    @property
    def choice_options(self) -> list[dict]:
        chosen = self.value if isinstance(self.value, list) else [self.value]
        return [
            {"value": c, "id": f"{self.id}-{i}", "checked": c in chosen} for i, c in enumerate(self.field.choices, 1)
        ]

    @property
    def accept(self) -> str:
        return ",".join(self.field.allowed_types)

    @property
    def max_size_mb(self) -> str:
        return f"{self.field.max_file_size / (1024 * 1024):g}"


def _input_value(f: FieldDef, answer):
    """A saved answer as the input shows it."""
    if f.kind == "checkbox":
        return bool(answer)
    if f.kind == "multiple_choice":
        return list(answer or [])
    if f.kind == "signature":
        return (answer or {}).get("name", "") if isinstance(answer, dict) else ""
    if f.kind == "file":
        return ""
    return "" if answer is None else str(answer)


def field_views(
    page: PageDef, answers: dict, *, typed: dict | None = None, errors: dict | None = None, stale: bool = False
) -> list[FieldView]:
    """The fields of `page`: what was typed when a save was refused, else the saved answers."""
    views = []
    for f in page.fields:
        saved = answers.get(f.key)
        value = typed[f.key] if typed is not None and f.key in typed else _input_value(f, saved)
        other = ""
        if stale and f.kind != "file" and _input_value(f, saved) != value:
            other = display_value(f, saved) or "—"
        views.append(
            FieldView(
                field=f,
                name=input_name(f),
                value=value,
                error=(errors or {}).get(f.key, ""),
                saved_by_other=other,
                file=saved if f.kind == "file" and isinstance(saved, dict) else None,
            )
        )
    return views


@dataclass(frozen=True)
class SummaryRow:
    label: str
    value: str


def answer_summary(definition: Definition, answers: dict) -> list[tuple[str, list[SummaryRow]]]:
    """Read-only answers by page, for the confirmation page."""
    return [
        (page.title, [SummaryRow(f.label, display_value(f, answers.get(f.key))) for f in page.fields])
        for page in definition.pages
    ]


def portal_url(district_slug: str, student_id: int) -> str:
    """Where the back button goes when the browser will not close the tab: the portal overview."""
    try:
        return reverse("parent_portal:overview", kwargs={"district": district_slug, "student_id": student_id})
    except NoReverseMatch:
        return "/"
