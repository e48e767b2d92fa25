"""Per-district roster sync settings (OneRoster CSV and REST) and the record of every sync run."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from forms_catalog.models import District
from sso import crypto

GLOBAL_ID_FIELD_RE = re.compile(r"^(email|username|sourcedId|metadata\.[A-Za-z0-9_.-]+)$")


def validate_global_id_field(value: str) -> None:
    if not GLOBAL_ID_FIELD_RE.match(value or ""):
        raise ValidationError(
            _("Use email, username, sourcedId or a metadata.<name> column."), code="invalid_global_id_field"
        )


class RosterSettings(models.Model):
    class StudentIdField(models.TextChoices):
        SOURCED_ID = "sourcedId", "sourcedId"
        IDENTIFIER = "identifier", "identifier"
        USERNAME = "username", "username"

    district = models.OneToOneField(District, on_delete=models.CASCADE, related_name="roster_settings")
    # Which OneRoster field of a parent/guardian becomes Guardian.global_id; it must hold what the
    # district's Global Identifier Claim carries at sign-in.
    global_id_field = models.CharField(
        _("Guardian global identifier field"), max_length=100, default="email", validators=[validate_global_id_field]
    )
    student_id_field = models.CharField(
        _("Student SIS ID field"), max_length=20, choices=StudentIdField.choices, default=StudentIdField.SOURCED_ID
    )
    max_deactivate_percent = models.PositiveSmallIntegerField(
        _("Refuse a roster that deactivates more than this share (%)"),
        default=20,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    # OneRoster 1.2 REST endpoint (OAuth 2 client credentials).
    rest_base_url = models.CharField(_("OneRoster base URL"), max_length=500, blank=True)  # https, checked by safe_http
    rest_token_url = models.CharField(_("Token URL"), max_length=500, blank=True)
    rest_client_id = models.CharField(_("Client ID"), max_length=255, blank=True)
    # Fernet token; never rendered or logged. Use `client_secret` / `set_client_secret`.
    rest_client_secret_encrypted = models.TextField(blank=True, editable=False)
    rest_scope = models.CharField(
        _("Scope"), max_length=500, blank=True,
        default="https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly",
    )
    rest_page_size = models.PositiveIntegerField(
        _("Page size"), default=1000, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )

    class Meta:
        verbose_name = _("roster settings")
        verbose_name_plural = _("roster settings")
        constraints = [
            models.CheckConstraint(
                name="roster_max_deactivate_percent_range", condition=Q(max_deactivate_percent__lte=100)
            ),
            models.CheckConstraint(
                name="roster_student_id_field_valid",
                condition=Q(student_id_field__in=["sourcedId", "identifier", "username"]),
            ),
        ]

    def __str__(self):
        return f"Roster settings for {self.district}"

    def clean(self):
        from sso import safe_http

        errors = {}
        for name in ("rest_base_url", "rest_token_url"):
            value = getattr(self, name)
            if value:
                try:
                    safe_http.check_url(value)
                except safe_http.OutboundError as exc:
                    errors[name] = exc.message
        if errors:
            raise ValidationError(errors)

    @property
    def has_client_secret(self) -> bool:
        return bool(self.rest_client_secret_encrypted)

    @property
    def client_secret(self) -> str:
        return crypto.decrypt(self.rest_client_secret_encrypted)

    def set_client_secret(self, plaintext: str) -> None:
        self.rest_client_secret_encrypted = crypto.encrypt(plaintext)

    @property
    def rest_configured(self) -> bool:
        return bool(self.rest_base_url and self.rest_token_url and self.rest_client_id and self.has_client_secret)


class RosterSync(models.Model):
    """One import or sync run: what it found and what it did (or would have done)."""

    class Source(models.TextChoices):
        CSV = "csv", _("CSV upload or folder")
        REST = "rest", _("OneRoster REST")

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        DRY_RUN = "dry_run", _("Dry run (nothing written)")
        REFUSED = "refused", _("Refused (too many deactivations)")
        FAILED = "failed", _("Failed (nothing written)")

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="roster_syncs")
    source = models.CharField(max_length=4, choices=Source.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    forced = models.BooleanField(default=False)
    # {"students_added": n, ...}; see roster.services.Report.
    counts = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["district", "-started_at"], name="rostersync_district_idx")]
        constraints = [
            models.CheckConstraint(name="rostersync_source_valid", condition=Q(source__in=["csv", "rest"])),
            models.CheckConstraint(
                name="rostersync_outcome_valid", condition=Q(outcome__in=["applied", "dry_run", "refused", "failed"])
            ),
        ]

    def __str__(self):
        return f"{self.get_source_display()} sync of {self.district} at {self.started_at:%Y-%m-%d %H:%M}"
