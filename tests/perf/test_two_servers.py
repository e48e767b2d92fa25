"""Two app servers behind a local nginx, sharing PostgreSQL and Redis, as bench/ runs them.

One guardian's consecutive requests land on different servers (nginx round robin, or each server
addressed directly) and nothing changes: the sign-in session, CSRF, the one-open-form lock (R9), the
cached form catalog and the sign-in throttle counters are the same on both.

The servers are real gunicorn processes with production settings (DEBUG=False) on their own
PostgreSQL database and Redis database, whatever database the rest of the suite uses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from servers import NGINX, VENV_BIN, app_stack, production_env  # noqa: E402

from enrollment_hub import throttle  # noqa: E402

# Per run: several test runs (or CI) may share this machine's PostgreSQL and Redis at once.
RUN = f"{os.getpid()}"
DATABASE = f"eh_two_servers_{RUN}"
CACHE_URL = "redis://127.0.0.1:6379/9"
PY = str(VENV_BIN / "python")

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (scripts/install-perf-deps)")

SEED = """
import json
from forms_catalog import selectors
from forms_catalog.management.commands.generate_district import BENCH_GUARDIAN, BENCH_SIS_ID
from forms_catalog.models import Submission
from django.core.management import call_command
import io
call_command("generate_district", slug="two", students=12, guardians=20, forms=70, submissions=60, replace=True,
             stdout=io.StringIO())
link = selectors.guardian_link(district_slug="two", global_id=BENCH_GUARDIAN, sis_id=BENCH_SIS_ID)
subs = list(Submission.objects.filter(student=link.student, status="submitted").select_related("form")
            .order_by("id")[:2])
print("SEED " + json.dumps({"student_id": link.student_id, "user_id": link.guardian.user_id,
                            "submissions": [s.id for s in subs], "form": {"id": subs[0].form_id,
                            "key": subs[0].form.key, "name": subs[0].form.name}}))
"""

SIGN_IN = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
user = get_user_model().objects.get(pk={user_id})
s = import_module(settings.SESSION_ENGINE).SessionStore()
s[SESSION_KEY] = str(user.pk)
s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
s[HASH_SESSION_KEY] = user.get_session_auth_hash()
s.save()
print("SESSION " + s.session_key)
"""

RENAME = """
from forms_catalog import services
from forms_catalog.models import Form
services.form_update(form=Form.objects.get(district__slug="two", key="{key}"), name="{name}")
"""


def manage(env, *args) -> str:
    return subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True,  # noqa: S603
                          text=True, timeout=300).stdout


def shell(env, code: str, marker: str) -> str:
    out = manage(env, "shell", "-c", code)
    return next(line for line in out.splitlines() if line.startswith(marker + " "))[len(marker) + 1:]


@pytest.fixture(scope="module")
def stack():
    psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)", f"CREATE DATABASE {DATABASE}")
    static = tempfile.mkdtemp(prefix="eh-two-servers-static-")
    env = production_env(database_url=f"postgres://postgres@127.0.0.1:5432/{DATABASE}", cache_url=CACHE_URL,
                         CACHE_KEY_PREFIX=f"eh-two-servers-{RUN}", STATIC_ROOT=static, GUNICORN_WORKERS=1,
                         GUNICORN_THREADS=2, GUNICORN_WORKER_CLASS="gthread")
    try:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "collectstatic", "--noinput", "-v0")
        seed = json.loads(shell(env, SEED, "SEED"))
        with app_stack(env, servers=2) as running:
            yield running, env, seed
    finally:
        psql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        shutil.rmtree(static, ignore_errors=True)


def psql(*statements: str) -> None:
    for sql in statements:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True,  # noqa: S603, S607
                       capture_output=True)


def signed_in(env, seed) -> requests.Session:
    client = requests.Session()
    client.cookies.set("sessionid", shell(env, SIGN_IN.format(user_id=seed["user_id"]), "SESSION"))
    return client


def overview(seed) -> str:
    return f"/d/two/students/{seed['student_id']}/"


def test_nginx_spreads_consecutive_requests_over_both_servers(stack):
    running, _env, _seed = stack
    upstreams = {requests.get(running.url + "/healthz", timeout=10).headers["X-Upstream"] for _ in range(4)}
    assert upstreams == {url.removeprefix("http://") for url in running.app_urls}


def test_a_sign_in_made_on_one_server_holds_on_the_other_and_sign_out_ends_it_on_both(stack):
    running, env, seed = stack
    a, b = running.app_urls
    client = signed_in(env, seed)
    page_a = client.get(a + overview(seed), allow_redirects=False, timeout=10)
    assert page_a.status_code == 200 and "Avery Morgan" in page_a.text
    page_b = client.get(b + overview(seed), allow_redirects=False, timeout=10)
    assert page_b.status_code == 200 and "Avery Morgan" in page_b.text
    # Sign out on B with the CSRF token that server A put in its page: one secret, one session store.
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page_a.text).group(1)
    out = client.post(b + "/sso/two/logout/", data={"csrfmiddlewaretoken": token},
                      headers={"Referer": b + overview(seed)}, allow_redirects=False, timeout=10)
    assert out.status_code in (302, 303), out.status_code
    for server in (a, b):
        after = client.get(server + overview(seed), allow_redirects=False, timeout=10)
        assert after.status_code == 302 and "/sso/two/login/" in after.headers["Location"]


def test_the_one_open_form_lock_holds_across_servers(stack):
    running, env, seed = stack
    a, b = running.app_urls
    client = signed_in(env, seed)
    first, second = (f"/d/two/submissions/{s}/confirmation/" for s in seed["submissions"])
    opened = client.get(a + first, allow_redirects=False, timeout=10)
    assert opened.status_code == 200
    # R9: a second form opened on the other server is refused while the first tab holds the lock...
    refused = client.get(b + second, allow_redirects=False, timeout=10)
    assert refused.status_code == 409
    # ...reopening the same form is fine on either server...
    assert client.get(b + first, allow_redirects=False, timeout=10).status_code == 200
    again = client.get(a + first, allow_redirects=False, timeout=10)
    # ...and closing that tab (its page-hide beacon, here sent to server B) frees the guardian.
    token = re.search(r'data-token="([^"]+)"', again.text).group(1)
    csrf = re.search(r'data-csrf="([^"]+)"', again.text).group(1)
    released = client.post(b + "/d/two/form-lock/release/", data={"token": token, "csrfmiddlewaretoken": csrf},
                           headers={"Referer": b + first}, allow_redirects=False, timeout=10)
    assert released.status_code == 204
    assert client.get(a + second, allow_redirects=False, timeout=10).status_code == 200


def test_a_form_changed_once_is_changed_on_both_servers_at_once(stack):
    running, env, seed = stack
    a, b = running.app_urls
    client = signed_in(env, seed)
    forms = f"/d/two/students/{seed['student_id']}/forms/?tab=complete"
    for server in (a, b, a, b):  # both servers now hold the district's form catalog
        assert seed["form"]["name"] in client.get(server + forms, timeout=10).text
    manage(env, "shell", "-c", RENAME.format(key=seed["form"]["key"], name="Renamed Transportation Form"))
    for server in (b, a):
        page = client.get(server + forms, timeout=10).text
        assert "Renamed Transportation Form" in page


def test_sign_in_throttle_counts_attempts_on_both_servers_together(stack):
    running, _env, _seed = stack
    a, b = running.app_urls
    rule = next(r for r in throttle.rules("sso_start") if r.scope.endswith("-ip"))  # attempts per address
    # Half of the limit on each server uses it all up. Start at the beginning of a fixed window so that
    # every request falls into the same one.
    into_window = time.time() % rule.window
    if into_window > rule.window * 0.6:
        time.sleep(rule.window - into_window + 0.5)
    statuses = [requests.get((a, b)[i % 2] + "/sso/two/login/", allow_redirects=False, timeout=10).status_code
                for i in range(rule.limit)]
    assert 429 not in statuses
    assert requests.get(a + "/sso/two/login/", allow_redirects=False, timeout=10).status_code == 429
    assert requests.get(b + "/sso/two/login/", allow_redirects=False, timeout=10).status_code == 429
