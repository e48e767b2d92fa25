"""The district's form catalog, cached: every form's facts, read once per change instead of per page.

The portal evaluates every form of the district on each page (R3); reading and converting those rows
is the largest share of the selector's cost at district scale (500 forms). The catalog does not
depend on the student or on the time, so it is cached per district and checked on each use against
a version token held in the shared cache (Redis in production): one cache read per page.

- Any save or delete of a district, packet or form changes the token (signals connected in
  `FormsCatalogConfig.ready`), immediately and again once the transaction commits, so a page read
  between the write and its commit cannot keep the old catalog under the new token.
- Writes that bypass signals (`QuerySet.update`) call `bump()` themselves.
- Each process keeps the catalog of the current token in memory; other app servers see the new
  token on their next page. Both copies also expire after `CATALOG_TTL` seconds at the latest.

The per-student part of the facts (does a list-audience packet target this student) is never cached.

The cache is used only when the configured cache is shared by every process (Redis, as production
and bench/ run): with the default per-process memory cache, one worker's change could not reach the
others, so every page reads the forms from the database. `FORM_CATALOG_CACHE = True / False` in the
settings forces it on or off (the tests force it on).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection, transaction

from . import rules

logger = logging.getLogger(__name__)

# Safety net only (every write changes the version): a catalog is read again at least this often,
# e.g. after a writer died between its commit and its after-commit version change.
CATALOG_TTL = 10 * 60
_LOCAL_LIMIT = 256


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A form's facts as every student sees them, and its packet's audience when it is a list."""

    facts: rules.FormFacts  # packet_targets_student holds "the packet is for all students"
    list_packet_id: int | None  # the packet whose student list decides, or None


# (district id, version token) -> (catalog, when it expires on time.monotonic())
_local: dict[tuple[int, str], tuple[tuple[CatalogEntry, ...], float]] = {}
_local_lock = threading.Lock()


def _scope() -> str:
    # District ids are per database: two databases sharing one Redis must not share catalogs.
    return str(connection.settings_dict.get("NAME", ""))


def _version_key(district_id: int) -> str:
    return f"catalog:v1:version:{_scope()}:{district_id}"


def _entry_key(district_id: int, token: str) -> str:
    return f"catalog:v1:forms:{_scope()}:{district_id}:{token}"


def _set_token(district_id: int) -> None:
    try:
        cache.set(_version_key(district_id), secrets.token_hex(8), None)
    except Exception:  # the cache being down must not fail a write; entries expire with CATALOG_TTL
        logger.exception("could not change the form catalog version of district %s", district_id)


def bump(district_id: int | None) -> None:
    """The district's forms or packets changed: drop its cached catalog, now and at commit."""
    if not district_id or not enabled():
        return
    _set_token(district_id)
    transaction.on_commit(lambda: _set_token(district_id))


def enabled() -> bool:
    forced = getattr(settings, "FORM_CATALOG_CACHE", None)
    if forced is not None:
        return bool(forced)
    return not isinstance(caches["default"], LocMemCache | DummyCache)


def token(district_id: int) -> str | None:
    """The current version token (created when missing); None when the catalog is not cached (the
    cache is per process, or cannot be reached): then the forms are read from the database."""
    if not enabled():
        return None
    key = _version_key(district_id)
    try:
        value = cache.get(key)
        if value is None:
            cache.add(key, secrets.token_hex(8), None)
            value = cache.get(key)
        return value
    except Exception:
        logger.exception("form catalog cache unreachable; reading forms from the database")
        return None


def get(district_id: int, version: str | None) -> tuple[CatalogEntry, ...] | None:
    if version is None:
        return None
    held = _local.get((district_id, version))
    if held is not None and held[1] > time.monotonic():
        return held[0]
    try:
        entries = cache.get(_entry_key(district_id, version))
    except Exception:
        return None
    if entries is not None:
        _remember(district_id, version, entries, ttl=CATALOG_TTL / 2)
    return entries


def put(district_id: int, version: str | None, entries: tuple[CatalogEntry, ...]) -> None:
    if version is None:
        return
    _remember(district_id, version, entries)
    try:
        cache.set(_entry_key(district_id, version), entries, CATALOG_TTL)
    except Exception:
        logger.exception("could not store the form catalog of district %s", district_id)


def _remember(district_id: int, version: str, entries: tuple[CatalogEntry, ...], ttl: float = CATALOG_TTL) -> None:
    with _local_lock:  # gthread workers: several threads share this process's catalogs
        if len(_local) >= _LOCAL_LIMIT:
            _local.clear()
        for key in [k for k in _local if k[0] == district_id]:
            del _local[key]
        _local[(district_id, version)] = (entries, time.monotonic() + ttl)


# --- Signals (connected in FormsCatalogConfig.ready) -------------------------------------------


def on_district_change(sender, instance, **kwargs):
    bump(instance.pk)


def on_form_or_packet_change(sender, instance, **kwargs):
    bump(instance.district_id)


def connect_signals() -> None:
    from django.db.models.signals import post_delete, post_save

    from .models import District, Form, Packet

    for signal in (post_save, post_delete):
        signal.connect(on_district_change, sender=District, dispatch_uid=f"catalog-district-{id(signal)}")
        for model in (Form, Packet):
            uid = f"catalog-{model.__name__}-{id(signal)}"
            signal.connect(on_form_or_packet_change, sender=model, dispatch_uid=uid)
