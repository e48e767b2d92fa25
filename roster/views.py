"""The roster page of the admin console (Configuration role): settings, CSV upload, REST sync, history."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from admin_config.access import CONFIGURATION, console_view
from admin_config.services import audit_record

from . import oneroster
from .forms import RosterSettingsForm, RosterSyncForm, RosterUploadForm
from .models import RosterSync
from .selectors import recent_syncs
from .services import COUNT_KEYS, roster_import, roster_settings_for, roster_settings_update, roster_sync

SETTINGS_FIELDS = ("global_id_field", "student_id_field", "max_deactivate_percent", "rest_base_url",
                   "rest_token_url", "rest_client_id", "rest_scope", "rest_page_size")


def _page(request, access, *, settings_form=None, upload_form=None, sync_form=None, status=200):
    conf = roster_settings_for(access.district)
    syncs = recent_syncs(district=access.district)
    last = syncs[0] if syncs else None
    rows = []
    if last is not None:
        counts, lists = last.counts.get("counts", {}), last.counts.get("lists", {})
        rows = [(key, counts.get(key, 0), lists.get(key, [])) for key in COUNT_KEYS]
    return render(request, "roster/console_roster.html", {
        "access": access,
        "district": access.district,
        "section": "roster",
        "conf": conf,
        "last": last,
        "last_rows": rows,
        "syncs": syncs,
        "settings_form": settings_form or RosterSettingsForm(
            initial={name: getattr(conf, name) for name in SETTINGS_FIELDS}
        ),
        "upload_form": upload_form or RosterUploadForm(),
        "sync_form": sync_form or RosterSyncForm(),
    }, status=status)


@require_GET
@console_view(CONFIGURATION)
def roster_page(request, access):
    return _page(request, access)


def _audit(request, access, sync: RosterSync):
    audit_record(action="roster.synced", district=access.district, obj=sync, request=request,
                 details={"source": sync.source, "outcome": sync.outcome, "message": sync.message,
                          "counts": sync.counts.get("counts", {})})


def _announce(request, sync: RosterSync) -> None:
    if sync.outcome == RosterSync.Outcome.APPLIED:
        messages.success(request, _("The roster was applied."))
    elif sync.outcome == RosterSync.Outcome.DRY_RUN:
        messages.info(request, _("Dry run: nothing was written. The counts below show what would change."))
    else:
        messages.error(request, sync.message)


@require_POST
@console_view(CONFIGURATION)
def roster_upload(request, access):
    form = RosterUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, access, upload_form=form, status=400)
    try:
        source = oneroster.ZipSource(form.cleaned_data["roster"])
    except oneroster.RosterError as exc:
        form.add_error("roster", str(exc))
        return _page(request, access, upload_form=form, status=400)
    try:
        _report, sync = roster_import(district=access.district, source=source,
                                      dry_run=form.cleaned_data["dry_run"], force=form.cleaned_data["force"],
                                      started_by=request.user)
    except oneroster.RosterError as exc:
        sync = exc.sync
    finally:
        source.close()
    _audit(request, access, sync)
    _announce(request, sync)
    return redirect("roster:console", district=access.district.slug)


@require_POST
@console_view(CONFIGURATION)
def roster_sync_now(request, access):
    form = RosterSyncForm(request.POST)
    form.is_valid()
    try:
        _report, sync = roster_sync(district=access.district, dry_run=form.cleaned_data.get("dry_run", False),
                                    force=form.cleaned_data.get("force", False), started_by=request.user)
    except oneroster.RosterError as exc:
        sync = exc.sync
    _audit(request, access, sync)
    _announce(request, sync)
    return redirect("roster:console", district=access.district.slug)


@require_POST
@console_view(CONFIGURATION)
def roster_settings_save(request, access):
    form = RosterSettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, access, settings_form=form, status=400)
    conf = roster_settings_for(access.district)
    before = {name: getattr(conf, name) for name in SETTINGS_FIELDS}
    values = {name: form.cleaned_data[name] for name in SETTINGS_FIELDS}
    secret = form.cleaned_data["client_secret"]
    roster_settings_update(district=access.district, client_secret=secret or None, **values)
    changes = {k: {"old": before[k], "new": v} for k, v in values.items() if before[k] != v}
    if secret:
        changes["client_secret"] = {"old": conf.has_client_secret, "new": True}
    if changes:
        audit_record(action="roster.settings_saved", district=access.district, request=request,
                     object_type="roster.rostersettings", object_label=str(access.district), changes=changes)
        messages.success(request, _("The roster settings were saved."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("roster:console", district=access.district.slug)
