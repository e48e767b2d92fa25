from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from sso import safe_http

from .models import RosterSettings, validate_global_id_field


class RosterSettingsForm(forms.Form):
    global_id_field = forms.CharField(
        label=_("Guardian global identifier field"), max_length=100, validators=[validate_global_id_field]
    )
    student_id_field = forms.ChoiceField(label=_("Student SIS ID field"), choices=RosterSettings.StudentIdField.choices)
    max_deactivate_percent = forms.IntegerField(
        label=_("Refuse a roster that deactivates more than this share (%)"), min_value=0, max_value=100,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    rest_base_url = forms.CharField(label=_("OneRoster base URL"), max_length=500, required=False)
    rest_token_url = forms.CharField(label=_("Token URL"), max_length=500, required=False)
    rest_client_id = forms.CharField(label=_("Client ID"), max_length=255, required=False)
    client_secret = forms.CharField(
        label=_("Client secret"), required=False, widget=forms.PasswordInput(render_value=False),
        max_length=1000,
    )
    rest_scope = forms.CharField(label=_("Scope"), max_length=500, required=False)
    rest_page_size = forms.IntegerField(label=_("Page size"), min_value=1, max_value=10000,
                                        widget=forms.TextInput(attrs={"inputmode": "numeric"}))

    def _https(self, name):
        value = self.cleaned_data.get(name, "").strip()
        if value:
            try:
                safe_http.check_url(value)
            except safe_http.OutboundError as exc:
                raise ValidationError(exc.message) from None
        return value

    def clean_rest_base_url(self):
        return self._https("rest_base_url").rstrip("/")

    def clean_rest_token_url(self):
        return self._https("rest_token_url")


class RosterUploadForm(forms.Form):
    roster = forms.FileField(label=_("OneRoster 1.2 CSV export (.zip)"))
    dry_run = forms.BooleanField(label=_("Dry run: report what would change, write nothing"), required=False,
                                 initial=True)
    force = forms.BooleanField(label=_("Apply even if more than the allowed share would be deactivated"),
                               required=False)


class RosterSyncForm(forms.Form):
    dry_run = forms.BooleanField(label=_("Dry run: report what would change, write nothing"), required=False)
    force = forms.BooleanField(label=_("Apply even if more than the allowed share would be deactivated"),
                               required=False)
