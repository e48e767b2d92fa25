"""Django admin for support staff: district staff memberships (roles, audited) and the audit log (read-only)."""

from django.contrib import admin

from enrollment_hub.admin_base import ReadOnlyAdmin

from . import services
from .models import AuditEvent, StaffMembership


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "district", "configuration", "submission_workspace", "active")
    list_filter = ("district", "configuration", "submission_workspace", "active")
    list_select_related = ("user", "district")
    search_fields = ("user__username", "user__email", "district__name", "district__slug")
    autocomplete_fields = ("user",)
    fields = ("user", "district", "configuration", "submission_workspace", "active")

    def get_readonly_fields(self, request, obj=None):
        # A membership belongs to one account; to move someone, remove the membership and add another.
        return ("user",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        membership, _ = services.staff_membership_set(
            user=obj.user, district=obj.district, configuration=obj.configuration,
            submission_workspace=obj.submission_workspace, active=obj.active, by=request.user, request=request,
        )
        obj.pk = membership.pk

    def delete_model(self, request, obj):
        services.staff_membership_remove(membership=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("district", "user"):
            services.staff_membership_remove(membership=membership, by=request.user, request=request)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "district", "actor_label", "action", "object_type", "object_label", "ip")
    list_filter = ("district", "action", "object_type")
    list_select_related = ("district",)
    search_fields = ("actor_label", "object_label", "object_id", "action")
    date_hierarchy = "at"
    ordering = ("-at", "-id")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
