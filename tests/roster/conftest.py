import pytest

from forms_catalog import services
from roster.services import roster_settings_update
from tests.factories import FormFactory


@pytest.fixture
def district(db):
    district, _ = services.district_upsert(slug="riverside", name="Riverside Unified")
    FormFactory(district=district, key="registration", name="Registration", type="public",
                student_type="new_and_existing", status="open")
    roster_settings_update(district=district, global_id_field="email", student_id_field="identifier")
    return district


