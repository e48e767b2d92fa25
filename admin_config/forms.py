"""Input parsing for console pages (validation of the values themselves lives in the services)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from forms_catalog.models import District, Submission
from forms_catalog.workspace import ACTIONS


class SSOConfigurationForm(forms.Form):
    enabled = forms.BooleanField(label=_("Parent SSO enabled"), required=False)
    issuer = forms.CharField(label=_("Issuer URL"), required=False, max_length=500,
                             widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    client_id = forms.CharField(label=_("Client ID"), required=False, max_length=255,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    # Never rendered with a value: a blank field keeps the stored secret (R11).
    client_secret = forms.CharField(label=_("Client Secret"), required=False, strip=False, max_length=1000,
                                    widget=forms.PasswordInput(render_value=False,
                                                               attrs={"autocomplete": "new-password"}))
    global_identifier_claim = forms.CharField(label=_("Global Identifier Claim"), required=False, max_length=100)
    scopes = forms.CharField(label=_("Scopes"), required=False, max_length=500)


class AvailableFormsForm(forms.Form):
    mode = forms.ChoiceField(label=_("Available Forms"), choices=District.AvailableForms.choices,
                             widget=forms.RadioSelect)
    forms = forms.TypedMultipleChoiceField(label=_("Forms in the selection"), required=False, coerce=int,
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, selectable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["forms"].choices = [(f.id, f.name) for f in selectable]


class WorkspaceActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    message = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)
    amount = forms.CharField(required=False, max_length=20)
    reason = forms.CharField(required=False, max_length=255)


class WorkspaceBulkForm(WorkspaceActionForm):
    selected = forms.TypedMultipleChoiceField(required=False, coerce=int, choices=())

    def clean_selected(self):
        return self.cleaned_data.get("selected") or []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any integer id is accepted here; the service checks each belongs to the district's workspace.
        raw = self.data.getlist("selected") if hasattr(self.data, "getlist") else []
        self.fields["selected"].choices = [(v, v) for v in raw]


WORKSPACE_STATES = Submission.Workspace.choices
