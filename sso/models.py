"""Per-district parent single sign-on configuration (R11)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from forms_catalog.models import District

from . import crypto


class SSOConfiguration(models.Model):
    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="sso_configuration")
    enabled = models.BooleanField(_("Parent SSO enabled"), default=False)
    issuer = models.CharField(_("Issuer URL"), max_length=500, blank=True)
    client_id = models.CharField(_("Client ID"), max_length=255, blank=True)
    # Fernet token; never rendered or logged. Use `client_secret` / `set_client_secret`.
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    global_identifier_claim = models.CharField(_("Global Identifier Claim"), max_length=100, blank=True)
    scopes = models.CharField(_("Scopes"), max_length=500, blank=True, default="openid")
    discovery = models.JSONField(default=dict, blank=True, editable=False)
    discovery_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("SSO configuration")

    def __str__(self):
        return f"SSO for {self.district}"

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.client_secret_encrypted)

    def set_client_secret(self, plaintext: str) -> None:
        self.client_secret_encrypted = crypto.encrypt(plaintext)
