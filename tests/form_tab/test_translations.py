"""Every parent-facing string of the form tab ships in Spanish; the committed .mo matches the .po."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from tests.form_tab.conftest import start_url, sub_url

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates" / "parent_portal" / "form_tab").glob("*.html"))
SOURCES = [ROOT / "parent_portal" / "form_views.py", *sorted((ROOT / "parent_portal" / "form_runtime").glob("*.py")),
           ROOT / "forms_catalog" / "form_definitions.py"]
PO = ROOT / "parent_portal" / "form_runtime" / "locale" / "es" / "LC_MESSAGES" / "django.po"
SAME_IN_SPANISH = {"No"}


def msgids() -> set[str]:
    ids = set()
    for path in TEMPLATES:
        text = path.read_text()
        ids.update(re.findall(r'{% translate "([^"]+)"', text))
        for body in re.findall(r"{% blocktranslate[^%]*%}(.*?)(?:{% plural %}|{% endblocktranslate %})", text,
                               flags=re.S):
            ids.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", body))
    for path in SOURCES:
        ids.update(re.findall(r'\b(?:_|gettext)\(\s*"([^"]+)"', path.read_text()))
    return ids


def test_there_are_strings_to_check():
    ids = msgids()
    assert len(ids) > 60 and "Cannot Open Another Form" in ids and "Enter a number." in ids


@pytest.mark.parametrize("msgid", sorted(msgids()))
def test_every_form_tab_string_is_translated_to_spanish(msgid):
    with translation.override("es"):
        spanish = translation.gettext(msgid)
    assert spanish != msgid or msgid in SAME_IN_SPANISH, f"no Spanish for {msgid!r}"


def test_the_compiled_catalog_is_up_to_date():
    assert PO.with_suffix(".mo").stat().st_mtime >= PO.stat().st_mtime - 1
    assert PO.parent.parent.parent in [Path(p) for p in settings.LOCALE_PATHS]


@pytest.mark.django_db
def test_the_form_tab_speaks_spanish(client, form_cast):
    c = form_cast
    client.force_login(c.guardian.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    response = client.get(start_url(c, c.private_form))
    submission_page = client.get(response.url)
    text = submission_page.content.decode()
    assert "Página 1 de 2" in text and "Guardar y continuar" in text and "Volver al portal" in text
    refused = client.post(response.url, {"version": 1, "action": "save", "f-nickname": ""})
    assert "Este campo es obligatorio." in refused.content.decode()
    assert sub_url("form_page", c, refused.context["submission"], page=1) == response.url
