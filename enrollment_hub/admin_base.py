"""Pieces shared by the apps' Django admin modules."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For history and records written only by services (ledger, revisions, audit, roster runs):
    support staff can look, never add, change or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
