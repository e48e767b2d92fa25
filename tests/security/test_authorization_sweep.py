"""The authorisation sweep: every URL pattern of the project, from the URL resolver, requested with real
object ids as every persona, against one declared matrix (MATRIX below). A URL without a row fails.

Personas: anonymous; the guardian of the student; the co-guardian of the same student; a guardian
whose link to the student is restricted (R8); a guardian of another district; district staff with the
Configuration role only, the Submission Workspace role only, both, and neither; staff of another
district (both roles); support staff (Django superuser).

Every non-admin URL is requested with GET and with POST (an empty form; CSRF is not the subject here).
Django admin's URLs are swept with GET under one declared rule (ADMIN_RULE): only support staff get
in; the add / change / delete forms' POSTs are Django admin internals, guarded by the same admin_view
as their GET and not swept (ADMIN_NOT_SWEPT).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "guardian", "co_guardian", "restricted", "stranger", "staff_config", "staff_workspace",
            "staff_all", "staff_none", "staff_other", "support")
PARENTS = ("guardian", "co_guardian", "restricted", "stranger")
STAFF = ("staff_config", "staff_workspace", "staff_all", "staff_none", "staff_other")


def row(default: int, **overrides: int) -> dict[str, int]:
    """Expected status per persona: `default` for everyone not named."""
    unknown = set(overrides) - set(PERSONAS)
    assert not unknown, unknown
    return {p: overrides.get(p, default) for p in PERSONAS}


def group(default: int, groups: dict[tuple[str, ...], int], **overrides: int) -> dict[str, int]:
    expected = row(default)
    for members, status in groups.items():
        for member in members:
            expected[member] = status
    expected.update(overrides)
    return expected


# --- The matrix ----------------------------------------------------------------------------------
# url name -> {"GET": {persona: status}, "POST": {persona: status}}
# 302 for anonymous means "sent to sign in"; 404 is the one answer for missing, foreign and restricted
# (R8 / tenant scoping); 403 is a console page naming the missing role; 405 a method the URL refuses.

# Parent portal pages: the guardian and co-guardian of the student; the restricted guardian sees the
# student's "no forms available" page (R8); everyone else the same 404.
PORTAL_PAGE = group(404, {("guardian", "co_guardian", "restricted"): 200}, anonymous=302)
# The form tab of the student's submission: only guardians whose link grants access (R8, R10).
FORM_TAB = group(404, {("guardian", "co_guardian"): 200}, anonymous=302)
FORM_TAB_REDIRECT = group(404, {("guardian", "co_guardian"): 302}, anonymous=302)
# Console pages: staff of the district; the page's role or 403; everyone else 404; anonymous to sign in.
CONSOLE_ANY = group(404, {("staff_config", "staff_workspace", "staff_all", "staff_none", "support"): 200},
                    anonymous=302)
CONSOLE_CONFIG = group(404, {("staff_config", "staff_all", "support"): 200, ("staff_workspace", "staff_none"): 403},
                       anonymous=302)
CONSOLE_WORKSPACE = group(404, {("staff_workspace", "staff_all", "support"): 200,
                                ("staff_config", "staff_none"): 403}, anonymous=302)
METHOD_REFUSED = row(405)
# Parent pages check the sign-in before the method: anonymous visitors are sent to sign in.
SIGN_IN_FIRST = row(405, anonymous=302)
# Console actions and pages that redirect (to the next page, with a message) once the role is granted.
CONSOLE_CONFIG_ACTION = {p: (302 if s == 200 else s) for p, s in CONSOLE_CONFIG.items()}
CONSOLE_CONFIG_BAD_INPUT = {p: (400 if s == 200 else s) for p, s in CONSOLE_CONFIG.items()}
CONSOLE_WORKSPACE_ACTION = {p: (302 if s == 200 else s) for p, s in CONSOLE_WORKSPACE.items()}

MATRIX: dict[str, dict[str, dict[str, int]]] = {
    # Public
    "parent_portal:landing": {"GET": row(200), "POST": row(405)},
    "parent_portal:health": {"GET": row(200), "POST": row(405)},
    "set_language": {"GET": row(302), "POST": row(302)},
    # Parent sign-in: the same answers whoever asks (it is where anyone starts)
    "sso:login": {"GET": row(302), "POST": METHOD_REFUSED},
    "sso:callback": {"GET": row(400), "POST": METHOD_REFUSED},
    "sso:logout": {"GET": row(200), "POST": row(302)},
    "sso:signed_out": {"GET": row(200), "POST": row(200)},
    # Parent portal
    "parent_portal:home": {"GET": group(404, {("guardian", "co_guardian", "restricted"): 302}, anonymous=302),
                           "POST": METHOD_REFUSED},
    "parent_portal:overview": {"GET": PORTAL_PAGE, "POST": METHOD_REFUSED},
    "parent_portal:forms": {"GET": PORTAL_PAGE, "POST": METHOD_REFUSED},
    "parent_portal:form_start": {"GET": FORM_TAB_REDIRECT, "POST": SIGN_IN_FIRST},
    "parent_portal:form_continue": {"GET": FORM_TAB_REDIRECT, "POST": SIGN_IN_FIRST},
    "parent_portal:form_confirmation": {"GET": FORM_TAB, "POST": SIGN_IN_FIRST},
    "parent_portal:form_pay": {"GET": FORM_TAB, "POST": FORM_TAB},
    "parent_portal:form_edit": {"GET": FORM_TAB_REDIRECT, "POST": SIGN_IN_FIRST},
    "parent_portal:form_instructions": {"GET": FORM_TAB, "POST": SIGN_IN_FIRST},
    "parent_portal:form_page": {"GET": FORM_TAB, "POST": FORM_TAB_REDIRECT},
    "parent_portal:form_lock_heartbeat": {"GET": SIGN_IN_FIRST, "POST": group(404, {("guardian", "co_guardian"): 204},
                                                                             anonymous=302)},
    # Releases the signed-in guardian's own open form (by its token): any guardian of the district.
    "parent_portal:form_lock_release": {"GET": SIGN_IN_FIRST, "POST": group(
        404, {("guardian", "co_guardian", "restricted"): 204}, anonymous=302)},
    # Admin console
    # Where a signed-in staff member starts: their district (302); parents get the console's 404.
    "admin_config:home": {"GET": group(302, {PARENTS: 404}, support=200), "POST": METHOD_REFUSED},
    "admin_config:login": {"GET": row(200), "POST": row(200)},
    "admin_config:logout": {"GET": METHOD_REFUSED, "POST": row(302)},
    "admin_config:password_change": {"GET": group(200, {PARENTS: 404}, anonymous=302),
                                      "POST": group(200, {PARENTS: 404}, anonymous=302)},
    "admin_config:dashboard": {"GET": CONSOLE_ANY, "POST": METHOD_REFUSED},
    "admin_config:configuration": {"GET": CONSOLE_CONFIG_ACTION, "POST": METHOD_REFUSED},
    "admin_config:config_sso": {"GET": CONSOLE_CONFIG, "POST": METHOD_REFUSED},
    "admin_config:config_sso_edit": {"GET": CONSOLE_CONFIG, "POST": CONSOLE_CONFIG_ACTION},
    "admin_config:config_available_forms": {"GET": CONSOLE_CONFIG, "POST": CONSOLE_CONFIG},
    "admin_config:audit_log": {"GET": CONSOLE_CONFIG, "POST": METHOD_REFUSED},
    "admin_config:preview": {"GET": CONSOLE_CONFIG, "POST": METHOD_REFUSED},
    "admin_config:workspace": {"GET": CONSOLE_WORKSPACE, "POST": METHOD_REFUSED},
    "admin_config:workspace_bulk": {"GET": METHOD_REFUSED, "POST": CONSOLE_WORKSPACE_ACTION},
    "admin_config:workspace_detail": {"GET": CONSOLE_WORKSPACE, "POST": METHOD_REFUSED},
    "admin_config:workspace_action": {"GET": METHOD_REFUSED, "POST": CONSOLE_WORKSPACE_ACTION},
    # Roster sync (Configuration role)
    "roster:console": {"GET": CONSOLE_CONFIG, "POST": METHOD_REFUSED},
    # An empty upload or settings form is refused (400) only after the role check.
    "roster:upload": {"GET": METHOD_REFUSED, "POST": CONSOLE_CONFIG_BAD_INPUT},
    "roster:sync": {"GET": METHOD_REFUSED, "POST": CONSOLE_CONFIG_ACTION},
    "roster:settings": {"GET": METHOD_REFUSED, "POST": CONSOLE_CONFIG_BAD_INPUT},
}

# Django admin: support staff only. Its login page answers everyone; its other pages send everyone
# else to that login page. Declared per URL name suffix for support staff (the model admins that
# refuse adding answer 403 on their add page).
ADMIN_RULE = group(302, {}, support=200)
# Support staff are refused (403) where a model admin allows no adding or deleting: history, money
# and audit records are changed through services only.
ADMIN_REFUSED_TO_SUPPORT = (
    "admin:forms_catalog_district_delete", "admin:forms_catalog_student_delete", "admin:forms_catalog_guardian_delete",
    "admin:forms_catalog_packet_delete", "admin:forms_catalog_form_delete", "admin:forms_catalog_submission_add",
    "admin:forms_catalog_submission_delete", "admin:forms_catalog_ledgerentry_add",
    "admin:forms_catalog_ledgerentry_delete", "admin:forms_catalog_submissionrevision_add",
    "admin:forms_catalog_submissionrevision_delete", "admin:forms_catalog_formlock_add",
    "admin:admin_config_auditevent_add", "admin:admin_config_auditevent_delete",
    "admin:roster_rostersettings_add", "admin:roster_rostersettings_delete", "admin:roster_rostersync_add",
    "admin:roster_rostersync_delete", "admin:security_usersession_add",
    "admin:autocomplete",  # without its query parameters
)
ADMIN_EXCEPTIONS: dict[str, dict[str, int]] = {
    "admin:login": row(200, support=302),
    "admin:logout": row(302, support=405),  # POST only; others are first sent to sign in
    "admin:view_on_site": group(302, {}, support=404),  # forms have no public page
    **{name: group(302, {}, support=403) for name in ADMIN_REFUSED_TO_SUPPORT},
}
ADMIN_NOT_SWEPT = ("POSTs of Django admin's add/change/delete forms (same admin_view guard as their GET); "
                   "admin's unnamed '<id>/' patterns (a redirect to '<id>/change/', which is swept)")


# --- Enumerating the URLs ----------------------------------------------------------------------


def url_patterns():
    """(qualified name, pattern) for every named URL pattern, recursively through includes."""

    def walk(patterns, namespace="", args=()):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry.url_patterns, ns, (*args, *entry.pattern.regex.groupindex))
            elif isinstance(entry, URLPattern):
                if not entry.name and namespace == "admin:":
                    continue  # ADMIN_NOT_SWEPT: admin's unnamed "<id>/" redirect to "<id>/change/"
                assert entry.name, f"an unnamed URL pattern cannot be swept: {entry.pattern}"
                yield f"{namespace}{entry.name}", [*args, *entry.pattern.regex.groupindex]

    return list(walk(get_resolver().url_patterns))


# --- The world the sweep runs in ---------------------------------------------------------------


@pytest.fixture
def world(cast, django_user_model):
    from admin_config.services import staff_membership_set
    from forms_catalog import services
    from forms_catalog.form_definitions import form_definition_set
    from sso.models import SSOConfiguration
    from tests.factories import FormFactory

    form = FormFactory(district=cast.district, key="sweep", name="Sweep Form")
    form_definition_set(form=form, pages=[{"title": "One", "instructions": "Read me first.",
                                           "fields": [{"key": "a", "label": "A", "kind": "short_text"}]}])
    fresh = FormFactory(district=cast.district, key="fresh", name="Fresh Form")
    submission, _ = services.submission_upsert(student=cast.student, form=form, started_by=cast.guardian,
                                               status="submitted", submitted_at=timezone.now(),
                                               balance=Decimal("25.00"))
    draft_form = FormFactory(district=cast.district, key="draft", name="Draft Form")
    form_definition_set(form=draft_form, pages=[{"title": "One", "instructions": "Read me first.",
                                                 "fields": [{"key": "a", "label": "A", "kind": "short_text"}]}])
    draft, _ = services.submission_upsert(student=cast.student, form=draft_form, started_by=cast.guardian,
                                          status="in_progress")
    # An open form tab of the other district's guardian (for the form-lock admin pages).
    from parent_portal.form_runtime.services import form_lock_acquire

    other_form = FormFactory(district=cast.other_district, key="other", name="Other Form")
    form_lock_acquire(guardian=cast.stranger, form=other_form, student=cast.stranger_student, token="t" * 32)
    config = SSOConfiguration(district=cast.district, enabled=True, issuer="https://idp.springfield.example",
                              client_id="hub", global_identifier_claim="email", scopes="openid email")
    config.set_client_secret("sweep-secret")
    config.discovery = {"issuer": config.issuer, "authorization_endpoint": "https://idp.springfield.example/auth",
                        "token_endpoint": "https://idp.springfield.example/token",
                        "jwks_uri": "https://idp.springfield.example/jwks"}
    config.discovery_fetched_at = timezone.now() - timedelta(seconds=5)
    config.save()

    users = {"anonymous": None, "guardian": cast.guardian.user, "co_guardian": cast.co_guardian.user,
             "restricted": cast.restricted_guardian.user, "stranger": cast.stranger.user}
    for name, district, roles in (
        ("staff_config", cast.district, {"configuration": True}),
        ("staff_workspace", cast.district, {"submission_workspace": True}),
        ("staff_all", cast.district, {"configuration": True, "submission_workspace": True}),
        ("staff_none", cast.district, {}),
        ("staff_other", cast.other_district, {"configuration": True, "submission_workspace": True}),
    ):
        user = django_user_model.objects.create_user(name, password="unused password 123")
        staff_membership_set(user=user, district=district, **roles)
        users[name] = user
    users["support"] = django_user_model.objects.create_superuser("support", password="unused password 123")
    world = {"cast": cast, "users": users, "form": form, "fresh": fresh, "submission": submission, "draft": draft}
    for model in admin.site._registry:  # one object of every model Django admin shows, made up front
        if not model._default_manager.exists():
            assert ensure_instance(model, world) is not None, f"no {model.__name__} for the admin pages"
    return world


# Which submission a form-tab URL opens: the in-progress one where the form is being filled in.
DRAFT_URLS = ("parent_portal:form_page", "parent_portal:form_instructions", "parent_portal:form_continue")


def kwargs_for(name: str, wanted: list[str], world) -> dict:
    cast = world["cast"]
    values = {
        "district": cast.district.slug,
        "student_id": cast.student.id,
        "form_id": world["fresh"].id,
        "submission_id": (world["draft"] if name in DRAFT_URLS else world["submission"]).id,
        "page": 1,
    }
    if name.startswith("admin:"):
        return admin_kwargs(name, wanted, world)
    missing = [k for k in wanted if k not in values]
    assert not missing, f"{name}: no real value declared for {missing} (add it to kwargs_for)"
    return {k: values[k] for k in wanted}


def admin_kwargs(name: str, wanted: list[str], world) -> dict:
    out = {}
    for key in wanted:
        if key == "app_label":
            out[key] = "forms_catalog"
        elif key in ("object_id", "id") and name != "admin:view_on_site":
            out[key] = str(admin_object(name, world).pk)
        elif key == "object_id":
            out[key] = str(world["form"].pk)
        elif key == "content_type_id":
            from django.contrib.contenttypes.models import ContentType

            out[key] = ContentType.objects.get_for_model(world["form"]).pk
        else:
            raise AssertionError(f"{name}: no value for admin URL argument {key}")
    if "content_type_id" in out:
        out["object_id"] = str(world["form"].pk)
    return out


def admin_object(name: str, world):
    """A real instance of the model behind an admin URL name such as admin:forms_catalog_form_change."""
    stem = name.split(":", 1)[1].rsplit("_", 1)[0]
    if stem.endswith("_password"):
        stem = stem[: -len("_password")]
    for model in admin.site._registry:
        if f"{model._meta.app_label}_{model._meta.model_name}" == stem:
            obj = model._default_manager.order_by("pk").first()
            if obj is None:
                obj = ensure_instance(model, world)
            assert obj is not None, f"{name}: no {model.__name__} to open"
            return obj
    raise AssertionError(f"{name}: no registered model for {stem}")


def ensure_instance(model, world):
    """Models the cast does not create: make one through the services, else skip with a reason."""
    label = model._meta.label_lower
    if label == "auth.group":
        return model.objects.create(name="Sweep group")
    if label == "security.usersession":
        from security.services import user_session_record

        return user_session_record(user=world["users"]["guardian"], session_key="s" * 32)
    if label == "admin_config.auditevent":
        from admin_config.services import audit_record

        return audit_record(action="sweep.checked", district=world["cast"].district)
    if label == "forms_catalog.packet":
        from tests.factories import PacketFactory

        return PacketFactory(district=world["cast"].district)
    if label == "forms_catalog.submissionrevision":
        return model.objects.create(submission=world["submission"], number=1, kind="submission",
                                    answers={}, submitted_at=timezone.now())
    if label == "roster.rostersettings":
        from roster.services import roster_settings_update

        return roster_settings_update(district=world["cast"].district)
    if label == "roster.rostersync":
        return model.objects.create(district=world["cast"].district, source="csv", outcome="applied",
                                    started_at=timezone.now(), finished_at=timezone.now())
    return None


def expected_for(name: str, method: str) -> dict[str, int] | None:
    if name.startswith("admin:"):
        return ADMIN_EXCEPTIONS.get(name, ADMIN_RULE) if method == "GET" else None
    entry = MATRIX.get(name)
    return None if entry is None else entry[method]


class _Undo(Exception):
    pass


def post_data(name: str, world) -> dict:
    """What a real form posts, where an empty POST would stop before the access check."""
    if name == "parent_portal:form_lock_heartbeat":
        return {"student": world["cast"].student.id, "form": world["fresh"].id, "token": "sweep-token"}
    if name == "parent_portal:form_lock_release":
        return {"token": "sweep-token"}
    if name == "parent_portal:form_page":
        return {"version": str(world["draft"].version), "f-a": "answer", "action": "save"}
    return {}


def answer(world, persona: str, method: str, name: str, url: str) -> int:
    """One request in a savepoint that is rolled back: every request sees the same world."""
    result = {}
    try:
        with transaction.atomic():
            cache.clear()  # throttle counters and cached lookups start empty too
            client = Client(raise_request_exception=False)
            user = world["users"][persona]
            if user is not None:
                client.force_login(user)
            response = client.get(url) if method == "GET" else client.post(url, post_data(name, world))
            result["status"] = response.status_code
            result["traceback"] = b"Traceback" in response.content
            raise _Undo
    except _Undo:
        pass
    assert not result["traceback"], f"{method} {url} as {persona}: a traceback in the page"
    return result["status"]


def test_every_url_has_a_row_in_the_matrix():
    names = {name for name, _ in url_patterns()}
    unswept = sorted(n for n in names if not n.startswith("admin:") and n not in MATRIX)
    assert unswept == [], f"URLs without a row in MATRIX: {unswept}"


def test_every_persona_gets_the_declared_answer_on_every_url(world):
    mismatches = []
    for name, wanted in url_patterns():
        url = reverse(name, kwargs=kwargs_for(name, wanted, world))
        for method in ("GET", "POST"):
            expected = expected_for(name, method)
            if expected is None:
                if not name.startswith("admin:"):
                    mismatches.append(f"{name}: no {method} row")
                continue
            for persona in PERSONAS:
                got = answer(world, persona, method, name, url)
                if got != expected[persona]:
                    mismatches.append(f"{method} {url} ({name}) as {persona}: {got}, declared {expected[persona]}")
    assert mismatches == [], "\n".join(mismatches)


def test_refusals_do_not_say_whether_the_object_exists(world):
    """R8: a foreign, a restricted and a missing object answer the same 404 body."""
    cast = world["cast"]
    client = Client()
    client.force_login(cast.guardian.user)
    missing = client.get(reverse("parent_portal:forms", kwargs={"district": "springfield", "student_id": 999999}))
    foreign = client.get(reverse("parent_portal:forms", kwargs={"district": "springfield",
                                                                "student_id": cast.stranger_student.id}))
    assert missing.status_code == foreign.status_code == 404
    assert missing.content == foreign.content
