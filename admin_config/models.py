"""District staff, their roles, and the audit log of the admin console.

A staff account belongs to one district (`StaffMembership`); support staff are Django staff or
superusers and work in Django admin across districts. `AuditEvent` records who changed what,
when, from where, with old and new values (secrets redacted); security events use it too.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from forms_catalog.models import District


class StaffMembership(models.Model):
    class Role(models.TextChoices):
        CONFIGURATION = "configuration", _("Configuration")
        SUBMISSION_WORKSPACE = "submission_workspace", _("Submission Workspace")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_membership")
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="staff_memberships")
    configuration = models.BooleanField(_("Configuration role"), default=False)
    submission_workspace = models.BooleanField(_("Submission Workspace role"), default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["district__name", "user__username"]
        verbose_name = _("district staff membership")

    def __str__(self):
        return f"{self.user} @ {self.district}"

    def clean(self):
        if self.user_id and hasattr(self.user, "guardian"):
            raise ValidationError({"user": _("A parent account cannot be district staff.")})

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(
            role
            for role, on in ((self.Role.CONFIGURATION, self.configuration),
                             (self.Role.SUBMISSION_WORKSPACE, self.submission_workspace))
            if on
        )

    def has_role(self, role: str) -> bool:
        return self.active and role in self.roles


class AuditEvent(models.Model):
    """One recorded action. `action` is a dotted code (`sso.configuration_saved`, `auth.sign_in_failed`...)."""

    district = models.ForeignKey(
        District, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The actor's username when the event was recorded (kept if the account goes), or the name tried.
    actor_label = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=255, blank=True)
    # {field: {"old": ..., "new": ...}} with secrets replaced by "[redacted]".
    changes = models.JSONField(default=dict, blank=True)
    # Anything else worth keeping (a message, a reason, a count); redacted like `changes`.
    details = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.CheckConstraint(name="audit_action_not_empty", condition=~Q(action=""))]
        indexes = [
            models.Index(fields=["district", "-at", "-id"], name="audit_district_at_idx"),
            models.Index(fields=["district", "action", "-at", "-id"], name="audit_district_action_idx"),
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label or '-'} {self.action}"
