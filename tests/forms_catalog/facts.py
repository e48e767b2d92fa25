"""Plain-value builders for the pure rules tests (no database)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from forms_catalog import rules

NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)

_ids = itertools.count(1)

BOTH = rules.DistrictFacts(products=frozenset({"enrollment", "express"}), mypowerhub_enabled=True,
                           available_forms_mode="automatic")


def district(products=("enrollment", "express"), enabled=True, mode="automatic") -> rules.DistrictFacts:
    return rules.DistrictFacts(products=frozenset(products), mypowerhub_enabled=enabled, available_forms_mode=mode)


def form(key: str | None = None, **values) -> rules.FormFacts:
    fid = next(_ids)
    key = key or f"form-{fid}"
    base = {
        "id": fid,
        "key": key,
        "name": values.pop("name", key.replace("-", " ").title()),
        "product": "enrollment",
        "type": "public",
        "student_type": "new_and_existing",
        "status": "open",
        "opens_at": None,
        "closes_at": None,
        "academic_year": "",
        "approval_status": False,
    }
    base.update(values)
    return rules.FormFacts(**base)


def express(key: str | None = None, packet: str = "bts", **values) -> rules.FormFacts:
    values.setdefault("packet_name", packet.upper())
    return form(key, product="express", type="", student_type="existing", packet_key=packet, **values)


def sub(status: str = "submitted", workspace: str = "not_imported", **values) -> rules.SubmissionFacts:
    base = {
        "id": next(_ids),
        "status": status,
        "workspace": workspace,
        "submitted_at": NOW if status == "submitted" else None,
        "last_updated_at": None,
        "approved_at": None,
        "balance": Decimal("0.00"),
        "update_requested": False,
    }
    base.update(values)
    return rules.SubmissionFacts(**base)


def view(forms, submissions=None, *, dist=BOTH, now=NOW, **kwargs) -> rules.PortalView:
    """Build the portal view; `submissions` maps a form (or its key) to its submission."""
    by_key = {f.key: f for f in forms}
    subs = {}
    for ref, submission in (submissions or {}).items():
        f = by_key[ref] if isinstance(ref, str) else ref
        subs[f.id] = submission
    return rules.build_portal_view(district=dist, forms=forms, submissions=subs, now=now, **kwargs)


def keys(items) -> list[str]:
    return [i.form for i in items]


def tab_keys(tab: rules.TabView) -> dict:
    return {"enrollment": keys(tab.enrollment), "express": [(g.packet, keys(g.forms)) for g in tab.express]}
