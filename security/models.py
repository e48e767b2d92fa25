"""An index of each user's live HTTP sessions, written at sign-in, so that ending every sign-in of
one user deletes a handful of rows by key instead of decoding the whole session table."""

from django.conf import settings
from django.db import models


class UserSession(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"], name="usersession_user_idx")]
        verbose_name = "signed-in browser"

    def __str__(self):
        return f"{self.user} since {self.created_at:%Y-%m-%d %H:%M}"
