"""Parents also meet the sign-in pages, the sign-in messages and the error page: all ship in Spanish."""

import re
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [*(ROOT / "templates" / "sso").glob("*.html"), *(ROOT / "templates" / "security").glob("*.html"),
             ROOT / "templates" / "500.html"]
MODULES = [ROOT / "sso" / "oidc.py", ROOT / "sso" / "views.py"]


def parent_facing_msgids() -> list[str]:
    ids = set()
    for path in TEMPLATES:
        text = path.read_text()
        ids.update(re.findall(r'{% translate "([^"]+)"', text))
        for body in re.findall(r"{% blocktranslate with[^%]*%}(.*?){% endblocktranslate %}", text, flags=re.S):
            ids.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", body))
    for path in MODULES:
        for call in re.findall(r'_\(\s*((?:"[^"]*"\s*)+)', path.read_text()):
            ids.add("".join(re.findall(r'"([^"]*)"', call)))
    return sorted(ids)


@pytest.mark.parametrize("msgid", parent_facing_msgids())
def test_sign_in_and_error_strings_are_translated_to_spanish(msgid):
    with translation.override("es"):
        assert translation.gettext(msgid) != msgid
