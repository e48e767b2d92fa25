"""Every parent-facing string of the portal pages ships in Spanish, and the committed .mo matches the .po."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

from parent_portal.templatetags.portal import ACTION_LABELS, STATUS_LABELS

ROOT = Path(__file__).resolve().parents[2]
PORTAL_TEMPLATES = [p for p in (ROOT / "templates" / "parent_portal").rglob("*.html") if "form_tab" not in p.parts]
PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
SAME_IN_SPANISH = {"No"}


def template_msgids() -> set[str]:
    ids = set()
    for path in PORTAL_TEMPLATES:
        text = path.read_text()
        ids.update(re.findall(r'{% translate "([^"]+)"', text))
        ids.update(re.findall(r"{% translate '([^']+)'", text))
        for body in re.findall(r"{% blocktranslate[^%]*%}(.*?){% endblocktranslate %}", text, flags=re.S):
            ids.add(re.sub(r"{{ (\w+) }}", r"%(\1)s", body))
    return ids


def _decode(chunks: list[str]) -> str:
    return "".join(ast.literal_eval(chunk) for chunk in chunks)


def po_entries() -> dict[str, str]:
    """msgid -> msgstr of the .po file (non-fuzzy, non-obsolete, singular entries)."""
    entries = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in block.splitlines())
        parts, current = {"msgid": [], "msgstr": []}, None
        for line in block.splitlines():
            if line.startswith(("msgid ", "msgstr ")):
                current, _, rest = line.partition(" ")
                parts[current].append(rest)
            elif line.startswith('"') and current:
                parts[current].append(line)
            elif line.startswith(("msgid_plural", "msgctxt", "#~")):
                current = None
                parts = {"msgid": [], "msgstr": []}
                break
        if parts["msgid"] and not fuzzy:
            entries[_decode(parts["msgid"])] = _decode(parts["msgstr"])
    return entries


def test_portal_templates_have_strings_to_check():
    assert len(PORTAL_TEMPLATES) >= 8
    assert "More Forms" in template_msgids() and "Overview for %(name)s" in template_msgids()


@pytest.mark.parametrize("msgid", sorted(template_msgids() | {str(s) for s in STATUS_LABELS.values()}
                                          | {str(s) for s in ACTION_LABELS.values()}))
def test_every_portal_string_is_translated_to_spanish(msgid):
    with translation.override("es"):
        spanish = translation.gettext(msgid)
    assert spanish != msgid or msgid in SAME_IN_SPANISH, f"no Spanish for {msgid!r}"
    assert po_entries().get(msgid) == spanish, "the compiled .mo is out of date: run compilemessages"


def test_compiled_catalog_matches_the_po_file():
    entries = {k: v for k, v in po_entries().items() if k and v}
    assert len(entries) > 40
    with translation.override("es"):
        stale = {k: v for k, v in entries.items() if translation.gettext(k) != v}
    assert stale == {}
