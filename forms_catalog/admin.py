"""Django admin for support staff (Enrollment Specialists): districts, people, packets, forms, submissions.

Every save goes through `forms_catalog.services`: `save_model`, `save_related` and `save_formset`
call the service with the form's cleaned values instead of saving the instance. Validation happens
before that, in the admin form: Django's ModelForm runs the model's `full_clean()` (the same
validation every service runs), so an error such as R2's "Student Type must be Existing" appears
on its field and nothing is saved. Submissions are read-mostly: their workspace moves only through
the audited Submission Workspace services; ledger entries are read-only.

Keys that services look rows up by (a district's slug, a student's SIS ID, a guardian's global id,
a packet's or form's key and district) are fixed once the row exists.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from enrollment_hub.admin_base import ReadOnlyAdmin

from . import services, workspace
from .models import District, Form, Guardian, GuardianStudent, LedgerEntry, Packet, Student, Submission


def _values(form, names) -> dict:
    """The cleaned values of the model fields the admin form edits (read-only ones are absent)."""
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


def _original(obj):
    """The row as stored, so the service sees what changes (the admin form already set new values on `obj`)."""
    return type(obj).objects.get(pk=obj.pk)


class ServiceModelAdmin(admin.ModelAdmin):
    """Base: the admin never saves an instance itself; subclasses implement `save_model` with a service."""

    key_fields: tuple[str, ...] = ()  # read-only once the row exists

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += [f for f in self.key_fields if f not in readonly]
        return readonly

    def save_related(self, request, form, formsets, change):
        # Many-to-many values are saved by the services in `save_model`; inline rows by `save_formset`.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        raise NotImplementedError(f"{type(self).__name__} has no service for {formset.model.__name__} rows")

    def has_delete_permission(self, request, obj=None):
        return False


# --- Districts -----------------------------------------------------------------------------------

DISTRICT_FIELDS = ("name", "environment", "has_enrollment", "has_express", "mypowerhub_enabled")


class DistrictAdminForm(forms.ModelForm):
    available_selection = forms.ModelMultipleChoiceField(
        label=_("Available Forms selection"),
        queryset=Form.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Used when Available Forms is Manual (R4): the enrollment forms offered to parents who have "
                    "not started them. In-progress and submitted forms are always shown."),
    )

    class Meta:
        model = District
        fields = ["slug", *DISTRICT_FIELDS, "available_forms_mode"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            choices = Form.objects.filter(district=self.instance, product=Form.Product.ENROLLMENT).order_by("name")
            self.fields["available_selection"].queryset = choices
            self.fields["available_selection"].initial = [f.pk for f in choices if f.in_available_selection]
        else:
            self.fields["available_selection"].help_text = _("Add forms first; then choose them here.")


@admin.register(District)
class DistrictAdmin(ServiceModelAdmin):
    form = DistrictAdminForm
    key_fields = ("slug",)
    list_display = ["name", "slug", "environment", "has_enrollment", "has_express", "mypowerhub_enabled",
                    "available_forms_mode"]
    list_filter = ["environment", "mypowerhub_enabled", "available_forms_mode"]
    search_fields = ["name", "slug"]
    fieldsets = [
        (None, {"fields": ["slug", "name", "environment"]}),
        (_("Products"), {"fields": ["has_enrollment", "has_express"]}),
        (_("Parent portal"), {"fields": ["mypowerhub_enabled", "available_forms_mode", "available_selection"]}),
    ]

    def save_model(self, request, obj, form, change):
        from admin_config import services as audit  # the audit log of configuration changes

        values = _values(form, DISTRICT_FIELDS)
        before = audit.district_state(_original(obj)) if change else {}
        if change:
            district = services.district_update(district=_original(obj), **values)
        else:
            district, _created = services.district_upsert(slug=form.cleaned_data["slug"], **values)
        selection = form.cleaned_data.get("available_selection") or []
        services.available_forms_set(
            district=district, mode=form.cleaned_data["available_forms_mode"], form_ids=[f.pk for f in selection]
        )
        obj.pk = district.pk
        audit.audit_state_change(action="configuration.district_saved", before=before,
                                 after=audit.district_state(district), district=district, obj=district,
                                 request=request)


# --- Students and guardians ----------------------------------------------------------------------

STUDENT_FIELDS = ("first_name", "last_name", "grade", "sis_data", "active")


class LinkInline(admin.TabularInline):
    """A guardian's students; `restricted` is the SIS guardian restriction (R8)."""

    model = GuardianStudent
    fk_name = "guardian"
    fields = ["student", "restricted", "active"]
    autocomplete_fields = ["student"]
    extra = 1
    can_delete = False
    verbose_name = _("linked student")
    verbose_name_plural = _("linked students (a restricted guardian sees none of that student's forms)")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type("LinkFormSet", (LinkFormSetMixin, formset), {})


class LinkFormSetMixin:
    def clean(self):
        super().clean()
        district_id = self.instance.district_id
        for form in self.forms:
            student = form.cleaned_data.get("student") if hasattr(form, "cleaned_data") else None
            if student is None:
                continue
            if form.instance.pk and "student" in form.changed_data:
                form.add_error("student", _("A link keeps its student; add a new row to link another student."))
            elif district_id and student.district_id != district_id:
                form.add_error("student", _("A guardian can only be linked to a student of the same district."))


@admin.register(Student)
class StudentAdmin(ServiceModelAdmin):
    key_fields = ("district", "sis_id")
    fields = ["district", "sis_id", *STUDENT_FIELDS]
    list_display = ["sis_id", "last_name", "first_name", "grade", "district", "active"]
    list_filter = ["district", "active"]
    list_select_related = ["district"]
    search_fields = ["sis_id", "first_name", "last_name"]

    def save_model(self, request, obj, form, change):
        values = _values(form, STUDENT_FIELDS)
        district = obj.district if change else form.cleaned_data["district"]
        sis_id = obj.sis_id if change else form.cleaned_data["sis_id"]
        student, _changed = services.student_upsert(district=district, sis_id=sis_id, **values)
        obj.pk = student.pk


GUARDIAN_FIELDS = ("email", "first_name", "last_name", "active")


@admin.register(Guardian)
class GuardianAdmin(ServiceModelAdmin):
    key_fields = ("district", "global_id")
    fields = ["district", "global_id", *GUARDIAN_FIELDS, "user"]
    readonly_fields = ["user"]
    list_display = ["global_id", "last_name", "first_name", "email", "district", "student_count", "active"]
    list_filter = ["district", "active"]
    list_select_related = ["district"]
    search_fields = ["global_id", "email", "first_name", "last_name"]
    inlines = [LinkInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(student_count=Count("links"))

    @admin.display(description=_("Students"), ordering="student_count")
    def student_count(self, obj):
        return obj.student_count

    def save_model(self, request, obj, form, change):
        """Creating a guardian creates the Django user that signs in as them (services.guardian_upsert)."""
        values = _values(form, GUARDIAN_FIELDS)
        district = obj.district if change else form.cleaned_data["district"]
        global_id = obj.global_id if change else form.cleaned_data["global_id"]
        guardian, _changed = services.guardian_upsert(district=district, global_id=global_id, **values)
        obj.pk, obj.user_id = guardian.pk, guardian.user_id

    def save_formset(self, request, form, formset, change):
        from admin_config import services as audit  # the audit log: link and restriction changes (R8)

        guardian = Guardian.objects.select_related("district").get(pk=form.instance.pk)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not row.has_changed() or not row.cleaned_data.get("student"):
                continue
            stored = GuardianStudent.objects.filter(guardian=guardian, student=row.cleaned_data["student"]).first()
            before = {"restricted": stored.restricted, "active": stored.active} if stored else {}
            link, _changed = services.guardian_link_set(
                guardian=guardian,
                student=row.cleaned_data["student"],
                restricted=row.cleaned_data.get("restricted", False),
                active=row.cleaned_data.get("active", True),
            )
            audit.audit_state_change(action="people.guardian_link_saved", before=before,
                                     after={"restricted": link.restricted, "active": link.active},
                                     district=guardian.district, obj=link, request=request)
            if row.instance.pk:
                formset.changed_objects.append((link, row.changed_data))
            else:
                formset.new_objects.append(link)


# --- Packets and forms ---------------------------------------------------------------------------


class PacketAdminForm(forms.ModelForm):
    class Meta:
        model = Packet
        fields = ["district", "key", "name", "all_students", "students"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("all_students") and cleaned.get("students"):
            self.add_error("students", _("Leave the list empty for a packet for all students, or untick "
                                         "“For all students” to target only these students."))
        district = self.instance.district if self.instance.pk else cleaned.get("district")
        foreign = [s for s in cleaned.get("students") or () if district and s.district_id != district.pk]
        if foreign:
            self.add_error("students", _("These students belong to another district: %(names)s.")
                           % {"names": ", ".join(str(s) for s in foreign)})
        return cleaned


@admin.register(Packet)
class PacketAdmin(ServiceModelAdmin):
    form = PacketAdminForm
    key_fields = ("district", "key")
    list_display = ["name", "key", "district", "all_students"]
    list_filter = ["district"]
    list_select_related = ["district"]
    search_fields = ["name", "key"]
    autocomplete_fields = ["students"]

    def save_model(self, request, obj, form, change):
        district = obj.district if change else form.cleaned_data["district"]
        key = obj.key if change else form.cleaned_data["key"]
        students = None if form.cleaned_data["all_students"] else list(form.cleaned_data.get("students") or ())
        packet, _changed = services.packet_upsert(
            district=district, key=key, name=form.cleaned_data["name"], students=students
        )
        obj.pk = packet.pk


FORM_FIELDS = ("name", "type", "student_type", "status", "opens_at", "closes_at", "academic_year",
               "approval_status", "packet")


@admin.register(Form)
class FormAdmin(ServiceModelAdmin):
    """Forms; Student Type (R2) and Approval Status (R5) are support staff's settings."""

    key_fields = ("district", "key", "product")
    fieldsets = [
        (None, {"fields": ["district", "key", "name", "product", "type", "packet", "academic_year"]}),
        (_("Availability (R1, R2)"), {"fields": ["student_type", "status", "opens_at", "closes_at",
                                                 "in_available_selection"]}),
        (_("Review (R5)"), {"fields": ["approval_status"]}),
    ]
    readonly_fields = ["in_available_selection"]
    list_display = ["name", "key", "district", "product", "type", "student_type", "status", "approval_status"]
    list_editable = ["student_type", "approval_status"]
    list_filter = ["district", "product", "type", "status", "approval_status"]
    list_select_related = ["district"]
    search_fields = ["name", "key"]
    autocomplete_fields = ["packet"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if "student_type" in form.base_fields:
            form.base_fields["student_type"].help_text = _(
                "Public and Restricted forms: New, Existing or New and Existing. Private and Year-Round Update "
                "forms, and Enrollment Express forms, are always for Existing students (R2)."
            )
        return form

    def save_model(self, request, obj, form, change):
        from admin_config import services as audit  # the audit log of configuration changes

        values = _values(form, FORM_FIELDS)
        before = audit.form_state(obj) if change else {}
        if change:
            saved = services.form_update(form=_original(obj), **values)
        else:
            saved, _changed = services.form_upsert(
                district=form.cleaned_data["district"], key=form.cleaned_data["key"],
                product=form.cleaned_data["product"], **values,
            )
            obj.pk = saved.pk
        audit.audit_state_change(action="configuration.form_saved", before=before, after=audit.form_state(saved),
                                 district=saved.district, obj=saved, request=request)


# --- Submissions and money -----------------------------------------------------------------------


class LedgerInline(admin.TabularInline):
    model = LedgerEntry
    fields = readonly_fields = ["created_at", "kind", "amount", "reason", "reference", "created_by"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    """Read-mostly: support staff look submissions up; workspace actions go through the audited services."""

    list_display = ["form", "student", "district", "status", "workspace", "submitted_at", "balance",
                    "update_requested"]
    list_filter = ["district", "status", "workspace", "update_requested"]
    list_select_related = ["form", "student", "district"]
    search_fields = ["student__sis_id", "student__last_name", "form__key", "form__name"]
    date_hierarchy = "submitted_at"
    readonly_fields = fields = [
        "district", "form", "student", "started_by", "status", "workspace", "started_at", "submitted_at",
        "last_updated_at", "approved_at", "balance", "update_requested", "review_message", "last_page",
        "version", "answers",
    ]
    inlines = [LedgerInline]
    actions = ["import_into_workspace", "approve", "discard", "request_update"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the change page is a read-only view; nothing is saved from it

    def has_delete_permission(self, request, obj=None):
        return False

    def has_workspace_permission(self, request):
        return request.user.has_perm("forms_catalog.change_submission")

    def _bulk(self, request, queryset, action: str):
        done = 0
        by_district: dict[int, list[int]] = {}
        for district_id, pk in queryset.values_list("district_id", "pk"):
            by_district.setdefault(district_id, []).append(pk)
        for district in District.objects.filter(pk__in=by_district):
            try:
                done += len(workspace.submissions_bulk_apply(
                    district=district, submission_ids=by_district[district.pk], action=action,
                    user=request.user, request=request,
                ))
            except workspace.BulkRefused as exc:
                self.message_user(request, f"{district}: {exc.message}", messages.ERROR)
                for error in exc.errors:
                    self.message_user(request, error.message, messages.ERROR)
            except workspace.WorkspaceError as exc:
                self.message_user(request, f"{district}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(
                request, ngettext("%(count)d submission updated.", "%(count)d submissions updated.", done)
                % {"count": done}, messages.SUCCESS,
            )

    @admin.action(description=_("Import into the Submission Workspace"), permissions=["workspace"])
    def import_into_workspace(self, request, queryset):
        self._bulk(request, queryset, "import")

    @admin.action(description=_("Approve"), permissions=["workspace"])
    def approve(self, request, queryset):
        self._bulk(request, queryset, "approve")

    @admin.action(description=_("Discard"), permissions=["workspace"])
    def discard(self, request, queryset):
        self._bulk(request, queryset, "discard")

    @admin.action(description=_("Ask the parents for an update"), permissions=["workspace"])
    def request_update(self, request, queryset):
        self._bulk(request, queryset, "request_update")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Money movements are history: written by the payment and balance services, never edited here."""

    list_display = ["submission", "kind", "amount", "reason", "reference", "created_at", "created_by"]
    list_filter = ["kind", "submission__district"]
    list_select_related = ["submission__form", "submission__student", "created_by"]
    search_fields = ["reference", "submission__student__sis_id", "submission__form__key"]
    readonly_fields = fields = ["submission", "kind", "amount", "reason", "reference", "created_at", "created_by"]
