"""Reads for the roster page."""

from __future__ import annotations

from forms_catalog.models import District

from .models import RosterSync


def recent_syncs(*, district: District, limit: int = 10) -> list[RosterSync]:
    """The district's latest roster runs, newest first (one query)."""
    return list(RosterSync.objects.filter(district=district).select_related("started_by")[:limit])
