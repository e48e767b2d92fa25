"""The cached form catalog (forms_catalog.catalog_cache): the portal reads every form once per change,
and a parent never sees a stale form after any write (R3, R4, R7 decided on current data)."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from forms_catalog import catalog_cache, selectors, services
from forms_catalog.models import Form
from tests.factories import ExpressFormFactory, FormFactory, PacketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _catalog_cache_on(settings):
    # The test cache is per process (LocMemCache), where the catalog cache is off by default.
    settings.FORM_CATALOG_CACHE = True


def test_a_per_process_cache_never_holds_the_catalog(settings, cast):
    """With the default in-memory cache each worker has its own: one worker's change could not reach
    the others, so every page reads the forms from the database."""
    settings.FORM_CATALOG_CACHE = None
    FormFactory(district=cast.district, name="Health History", student_type="existing")
    assert form_queries(cast) == 1
    assert form_queries(cast) == 1


def names(cast, student=None) -> set[str]:
    link = selectors.guardian_link(district_slug=cast.district.slug, global_id=cast.guardian.global_id,
                                   sis_id=(student or cast.student).sis_id)
    view = selectors.portal_view(link=link)
    return {i.name for tab in (view.todo, view.complete) for i in tab.enrollment} | {
        i.name for tab in (view.todo, view.complete) for g in tab.express for i in g.forms}


def form_queries(cast) -> int:
    link = selectors.guardian_link(district_slug=cast.district.slug, global_id=cast.guardian.global_id,
                                   sis_id=cast.student.sis_id)
    with CaptureQueriesContext(connection) as ctx:
        selectors.portal_view(link=link)
    assert len(ctx.captured_queries) == 2  # the selector's query count does not change with the cache
    return sum('FROM "forms_catalog_form"' in q["sql"] for q in ctx.captured_queries)


def test_the_district_forms_are_read_once_then_served_from_the_cache(cast):
    for i in range(30):
        FormFactory(district=cast.district, name=f"Form {i}", student_type="existing")
    assert form_queries(cast) == 1
    assert form_queries(cast) == 0
    assert form_queries(cast) == 0


def test_every_write_to_forms_packets_or_the_district_shows_at_once(cast):
    form = FormFactory(district=cast.district, key="bus", name="Bus Rider Agreement", student_type="existing")
    assert names(cast) == {"Bus Rider Agreement"}
    services.form_update(form=form, name="Bus Pass")
    assert names(cast) == {"Bus Pass"}
    services.form_update(form=form, status="closed")  # R1
    assert names(cast) == set()
    services.form_update(form=form, status="open", student_type="new")  # R2/R3: new students only
    assert names(cast) == set()
    services.form_update(form=form, student_type="new_and_existing")
    FormFactory(district=cast.district, key="photo", name="Photo Release", student_type="existing")
    assert names(cast) == {"Bus Pass", "Photo Release"}
    # R4 through QuerySet.update(): the manual selection.
    services.available_forms_set(district=cast.district, mode="manual", form_ids=[form.id])
    assert names(cast) == {"Bus Pass"}
    services.available_forms_set(district=cast.district, mode="automatic")
    Form.objects.get(key="photo", district=cast.district).delete()
    assert names(cast) == {"Bus Pass"}


def test_packet_audiences_are_per_student_and_never_cached(cast):
    listed = PacketFactory(district=cast.district, key="band", name="Band", all_students=False)
    ExpressFormFactory(district=cast.district, packet=listed, name="Band Trip")
    assert names(cast) == set()
    listed.students.add(cast.student)  # an m2m change: no form or packet row changes
    assert names(cast) == {"Band Trip"}
    assert names(cast, cast.sibling) == set()
    services.packet_upsert(district=cast.district, key="band", name="Band", students=None)  # now all students
    assert names(cast, cast.sibling) == {"Band Trip"}


def test_another_app_server_sees_a_change_made_elsewhere(cast):
    """Each process keeps the catalog in memory per version; the version lives in the shared cache."""
    form = FormFactory(district=cast.district, name="Health History", student_type="existing")
    assert names(cast) == {"Health History"}
    # Another server renames the form: only the shared version changes under this process.
    Form.objects.filter(pk=form.pk).update(name="Health History 2026")
    assert names(cast) == {"Health History"}  # nothing told this process yet (no signal for .update())
    catalog_cache.bump(cast.district.pk)
    assert names(cast) == {"Health History 2026"}


def test_an_unreachable_cache_falls_back_to_the_database(cast):
    FormFactory(district=cast.district, name="Residency Verification", student_type="existing")
    with mock.patch.object(catalog_cache.cache, "get", side_effect=ConnectionError("cache down")):
        assert names(cast) == {"Residency Verification"}
        assert form_queries(cast) == 1
