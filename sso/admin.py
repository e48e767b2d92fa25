"""Django admin for parent SSO: every save goes through `sso_configuration_save` (R11).

The client secret is a write-only field: it is never rendered back (not even masked), a blank
value keeps the stored secret, and the list and form only say whether one is stored.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import SSOConfiguration


class SSOConfigurationAdminForm(forms.ModelForm):
    client_secret = forms.CharField(
        label=_("Client Secret"), required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only. Leave blank to keep the stored secret."),
    )

    class Meta:
        model = SSOConfiguration
        fields = ["district", "enabled", "issuer", "client_id", "client_secret", "global_identifier_claim", "scopes"]

    request_user = None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        district = cleaned.get("district") or getattr(self.instance, "district", None)
        if district is None:
            return cleaned
        values = {name: cleaned.get(name) for name in services.FIELDS}
        values["client_secret"] = cleaned.get("client_secret") or ""
        result = services.sso_configuration_save(district=district, values=values, user=self.request_user)
        for field_name, message in result.errors.items():
            self.add_error(field_name if field_name in self.fields else None, message)
        if not result.errors:
            self.instance = result.config
        self.sso_result = result
        return cleaned


@admin.register(SSOConfiguration)
class SSOConfigurationAdmin(admin.ModelAdmin):
    form = SSOConfigurationAdminForm
    list_display = ("district", "enabled", "issuer", "client_id", "global_identifier_claim", "secret_stored",
                    "discovery_fetched_at")
    list_filter = ("enabled",)
    search_fields = ("district__name", "district__slug", "issuer", "client_id")
    readonly_fields = ("secret_stored", "discovery_fetched_at", "advertised_claims", "advertised_scopes")
    list_select_related = ("district",)

    def get_fields(self, request, obj=None):
        fields = ["district", "enabled", "issuer", "client_id", "client_secret", "secret_stored",
                  "global_identifier_claim", "scopes", "discovery_fetched_at", "advertised_claims",
                  "advertised_scopes"]
        if obj is not None:
            fields.remove("district")
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    @admin.display(boolean=True, description=_("Secret stored"))
    def secret_stored(self, obj):
        return bool(obj and obj.has_client_secret)

    @admin.display(description=_("Claims the provider advertises"))
    def advertised_claims(self, obj):
        return ", ".join(services.sso_configuration_hints(district=obj.district).claims_supported) if obj else ""

    @admin.display(description=_("Scopes the provider advertises"))
    def advertised_scopes(self, obj):
        return ", ".join(services.sso_configuration_hints(district=obj.district).scopes_supported) if obj else ""

    def save_model(self, request, obj, form, change):
        # Saved by sso_configuration_save in the form's clean(); nothing more to write.
        if obj.pk is None:  # pragma: no cover - clean() always saves or refuses
            raise RuntimeError("SSO configuration must be saved through sso_configuration_save")
