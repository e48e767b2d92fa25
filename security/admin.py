"""Django admin for support staff: see who is signed in where, and end a user's sign-ins."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model

from . import services
from .models import UserSession


@admin.action(description="End every sign-in of the selected users", permissions=["change"])
def end_user_sessions(modeladmin, request, queryset):
    total = sum(services.user_sessions_end(user=user, actor=request.user, request=request) for user in queryset)
    modeladmin.message_user(request, f"Ended {total} sign-in(s) of {queryset.count()} user(s).", messages.SUCCESS)


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ("user", "created_at", "ip_address", "user_agent")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "ip_address")
    readonly_fields = ("user", "session_key", "created_at", "ip_address", "user_agent")
    actions = ["end_selected_users_sessions"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="End every sign-in of these users", permissions=["delete"])
    def end_selected_users_sessions(self, request, queryset):
        users = get_user_model().objects.filter(id__in=queryset.values("user_id"))
        end_user_sessions(self, request, users)


def _add_to_user_admin() -> None:
    """Offer the action on the user list too (this app comes after the apps that register that admin)."""
    user_admin = admin.site._registry.get(get_user_model())
    if user_admin is not None and end_user_sessions not in (user_admin.actions or []):
        user_admin.actions = [*(user_admin.actions or []), end_user_sessions]


_add_to_user_admin()
