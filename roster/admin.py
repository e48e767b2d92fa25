"""Django admin for support staff: roster settings and runs, read-only (the console edits settings)."""

from django.contrib import admin

from enrollment_hub.admin_base import ReadOnlyAdmin

from .models import RosterSettings, RosterSync


@admin.register(RosterSettings)
class RosterSettingsAdmin(ReadOnlyAdmin):
    list_display = ["district", "global_id_field", "student_id_field", "max_deactivate_percent", "rest_base_url",
                    "has_client_secret"]
    # The encrypted secret is never shown, not even as a token.
    exclude = ["rest_client_secret_encrypted"]

    @admin.display(boolean=True, description="Client secret stored")
    def has_client_secret(self, obj):
        return obj.has_client_secret


@admin.register(RosterSync)
class RosterSyncAdmin(ReadOnlyAdmin):
    list_display = ["district", "source", "outcome", "started_at", "finished_at", "forced", "started_by"]
    list_filter = ["source", "outcome", "district"]
    list_select_related = ["district", "started_by"]
    date_hierarchy = "started_at"
