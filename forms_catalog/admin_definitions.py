"""Django admin for form definitions (pages and their fields), submission history and open-form locks.

Registered from `FormsCatalogConfig.ready()`, next to the domain admin in `forms_catalog/admin.py`.
Support staff build a form's pages here: each page lists its fields inline, in order.
"""

from django.contrib import admin

from enrollment_hub.admin_base import ReadOnlyAdmin

from .models import FormField, FormLock, FormPage, SubmissionRevision


class FormFieldInline(admin.StackedInline):
    model = FormField
    extra = 0
    ordering = ["order"]
    fields = [("order", "key", "kind", "required"), "label", "help_text", "choices", "prefill_from",
              ("max_file_size", "allowed_types")]


@admin.register(FormPage)
class FormPageAdmin(admin.ModelAdmin):
    list_display = ["form", "order", "title", "district"]
    list_filter = ["form__district"]
    search_fields = ["title", "form__name", "form__key"]
    list_select_related = ["form", "form__district"]
    raw_id_fields = ["form"]
    ordering = ["form__district__name", "form__name", "order"]
    inlines = [FormFieldInline]

    @admin.display(description="District", ordering="form__district__name")
    def district(self, obj):
        return obj.form.district


@admin.register(SubmissionRevision)
class SubmissionRevisionAdmin(ReadOnlyAdmin):
    """Submitted versions are history: readable, never edited here."""

    list_display = ["submission", "number", "kind", "submitted_at", "submitted_by"]
    list_filter = ["kind", "submission__district"]
    list_select_related = ["submission__form", "submission__student", "submitted_by"]
    readonly_fields = ["submission", "number", "kind", "answers", "submitted_at", "submitted_by"]


@admin.register(FormLock)
class FormLockAdmin(admin.ModelAdmin):
    """Open form tabs (R9). Deleting a row frees a guardian who is told "Cannot Open Another Form"."""

    list_display = ["guardian", "form", "student", "expires_at"]
    list_select_related = ["guardian", "form", "student"]
    readonly_fields = ["guardian", "form", "student", "token", "expires_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
