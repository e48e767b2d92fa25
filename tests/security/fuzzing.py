"""Shared Hypothesis pieces: arbitrary JSON, hostile strings, and a database snapshot to prove that a
refused input wrote nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

HOSTILE_STRINGS = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"), "%00",
    "<script>alert(1)</script>", "'; DROP TABLE forms_catalog_form; --", "../../etc/passwd", "\u202e\u0000",
    "x" * 5000, "🙂" * 300, "NaN", "-1", "0", "9" * 40, "1e309", "true", "null", "[]", "{}", "\r\n\r\n",
    "https://", "https://127.0.0.1/", "javascript:alert(1)", "${jndi:ldap://x}", "{{ 7*7 }}",
])
TEXT = st.one_of(st.text(max_size=40), HOSTILE_STRINGS)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False), TEXT)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                      st.dictionaries(TEXT, inner, max_size=3)), max_leaves=6)


def container_paths(doc, prefix=()):
    """Every path to a value inside `doc` (dict keys and list indexes)."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from container_paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from container_paths(value, (*prefix, i))


def mutate(data, doc):
    """Apply 1-3 random edits to a deep copy of `doc`: replace a value, drop a key, add a key."""
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        paths = [p for p in container_paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        op = data.draw(st.sampled_from(["replace", "drop", "add"]), label="op")
        if op == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif op == "add" and isinstance(parent, dict):
            parent[data.draw(TEXT, label="new key")] = data.draw(JSON, label="new value")
        else:
            parent[path[-1]] = data.draw(JSON, label="value")
    return doc


def snapshot(*models) -> dict:
    """Every row of `models`, to compare before and after."""
    return {m._meta.label: sorted(map(repr, m.objects.order_by("pk").values_list())) for m in models}
