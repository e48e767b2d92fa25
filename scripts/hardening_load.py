# ruff: noqa: S603, S607, S311
# (an operator script: fixed PostgreSQL tool names with our own arguments; random only picks the traffic mix)
"""Mixed parent traffic against a real gunicorn server, for the soak and the PostgreSQL-restart fault.

    .venv/bin/python scripts/hardening_load.py soak  [--duration 600] [--fraction 0.7] [--peak-seconds 30]
    .venv/bin/python scripts/hardening_load.py pg-restart [--duration 40] [--restart-at 12]

Both prepare a PostgreSQL database of their own (a load district: parents with one student each,
forms with pages, a fee to pay), start a local OpenID provider (tools/oidc/fakeprovider, TLS on
loopback) and gunicorn with the repository's gunicorn.conf.py, then run virtual parents. Each
virtual parent is one thread doing operations one after another, like one person:

* sign-in  (10%)  the real SSO flow: portal -> provider -> callback -> the portal's first page
* portal   (45%)  Overview, the Forms tab, a search
* save     (20%)  open an in-progress form's page, save it (R10 version), see the next page
* submit   (15%)  start a form not started yet, answer its page, submit, see the confirmation
* pay      (10%)  open the Payment page of a submitted form with a fee, pay 0.01 (sandbox card)

Every operation releases the form-tab lock like a closing browser tab. An answer counts as an error
when it is a 5xx, a connection error, or not what the step expects. All traffic goes to 127.0.0.1.

`soak`: measures the peak (closed loop, as many parents as it takes to saturate), then runs at
`fraction` of that rate for `duration` seconds, sampling the server's memory (RSS of the gunicorn
master and workers, worker recycling off) every 10 s. Asserts zero errors and flat memory.

`pg-restart`: runs steady traffic, restarts a PostgreSQL cluster of its own (`pg_ctlcluster 15
ehfault restart`, port 5434, created on first use) mid-run, then checks: errors only inside the
outage window, every operation succeeds after it, no submission confirmed to a parent is lost, none is
duplicated, and no payment is recorded twice (retries reuse their idempotency key).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = ROOT / ".venv" / "bin" / "python"
DISTRICT = "loadtown"
N_FORMS = 40
FEE = "500.00"
CARD = {"name": "Load Parent", "number": "4242424242424242", "expiry": "12/39", "cvc": "123"}
MIX = (("signin", 10), ("portal", 45), ("save", 20), ("submit", 15), ("pay", 10))

VERSION_RE = re.compile(r'name="version" value="(\d+)"')
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_RE = re.compile(r'data-token="([^"]+)"')
KEY_RE = re.compile(r'name="key" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Preparation (in this process, through the product's own services) -------------------------


def django_env(db_url: str, tls_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update({
        "DATABASE_URL": db_url, "DEBUG": "False", "SECRET_KEY": "load-" + "k" * 50,
        "FIELD_ENCRYPTION_KEYS": "yrYnN8C0ddB0S3F1bJ8Vb7nq7p1mWgIYdO5o1cC8Tfs=",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "SECURE_SSL_REDIRECT": "False", "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False", "SECURE_HSTS_SECONDS": "0", "OUTBOUND_ALLOW_PRIVATE_ADDRESSES": "True",
        "REQUESTS_CA_BUNDLE": str(tls_dir / "ca.pem"), "STATIC_ROOT": str(tls_dir / "static"),
        "CACHE_URL": os.environ.get("LOAD_CACHE_URL", "redis://127.0.0.1:6379/9"),
        "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "enrollment_hub.settings",
        # The sign-in throttles count per client address: each virtual parent says which one it is
        # (an X-Forwarded-For value from the documentation range; the traffic itself stays on loopback).
        "THROTTLE_TRUSTED_PROXIES": "1",
    })
    return env


def prepare(db_url: str, admin_url: str, db_name: str, tls_dir: Path, parents: int) -> dict:
    """Fresh database, migrations, static files, the load district; returns what the parents need."""
    subprocess.run(["psql", admin_url, "-q", "-c", f"DROP DATABASE IF EXISTS {db_name}", "-c",
                    f"CREATE DATABASE {db_name}"], check=True)
    env = django_env(db_url, tls_dir)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.core.cache import cache

    cache.clear()  # nothing cached from an earlier run's database (the ids repeat)
    call_command("collectstatic", interactive=False, verbosity=0)

    from forms_catalog import services
    from forms_catalog.form_definitions import form_definition_set

    district, _ = services.district_upsert(slug=DISTRICT, name="Loadtown Unified")
    page = [{"title": "About", "fields": [{"key": "nickname", "label": "Nickname", "kind": "short_text",
                                            "required": True},
                                           {"key": "notes", "label": "Notes", "kind": "long_text"}]}]
    two_pages = [*page, {"title": "More", "fields": [{"key": "phone", "label": "Phone", "kind": "short_text"}]}]
    forms = []
    for i in range(N_FORMS):
        form, _ = services.form_upsert(district=district, key=f"f{i:02d}", name=f"Load Form {i:02d}", type="public",
                                       student_type="new_and_existing", status="open")
        form_definition_set(form=form, pages=page)
        forms.append(form.id)
    draft, _ = services.form_upsert(district=district, key="draft", name="Draft Form", type="public",
                                    student_type="new_and_existing", status="open")
    form_definition_set(form=draft, pages=two_pages)
    fee, _ = services.form_upsert(district=district, key="fee", name="Fee Form", type="public",
                                  student_type="new_and_existing", status="open")
    people = []
    from django.utils import timezone

    for n in range(parents + 1):
        student, _ = services.student_upsert(district=district, sis_id=f"L{n:05d}", first_name="Kid",
                                             last_name=f"Load{n}", grade="4")
        guardian, _ = services.guardian_upsert(district=district, global_id=f"parent{n}@load.example",
                                               email=f"parent{n}@load.example", first_name="Parent",
                                               last_name=f"Load{n}")
        services.guardian_link_set(guardian=guardian, student=student)
        draft_sub, _ = services.submission_upsert(student=student, form=draft, started_by=guardian,
                                                  status="in_progress", answers={})
        fee_sub, _ = services.submission_upsert(student=student, form=fee, started_by=guardian, status="submitted",
                                                submitted_at=timezone.now(), balance=__import__("decimal").Decimal(FEE))
        people.append({"guardian": guardian.id, "user": guardian.user_id, "global_id": guardian.global_id,
                       "student": student.id, "draft": draft_sub.id, "fee": fee_sub.id})
    return {"district": district.id, "forms": forms, "people": people, "env": env}


def configure_sso(issuer: str, client_id: str, client_secret: str) -> None:
    from forms_catalog.models import District
    from sso.services import sso_configuration_save

    result = sso_configuration_save(district=District.objects.get(slug=DISTRICT), values={
        "enabled": True, "issuer": issuer, "client_id": client_id, "client_secret": client_secret,
        "global_identifier_claim": "email", "scopes": "openid email"})
    if result.errors:
        raise SystemExit(f"SSO configuration refused: {result.errors}")


def session_cookie(user_id: int) -> str:
    """A signed-in browser session for a parent (as a previous sign-in would have left it)."""
    from importlib import import_module

    from django.conf import settings as dj
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    user = get_user_model().objects.get(pk=user_id)
    store = import_module(dj.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    return store.session_key


# --- The server -----------------------------------------------------------------------------


class Server:
    def __init__(self, env: dict, port: int, workers: int = 3, threads: int = 4):
        self.url = f"http://127.0.0.1:{port}"
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers),
               "GUNICORN_THREADS": str(threads), "GUNICORN_MAX_REQUESTS": "0", "GUNICORN_ACCESSLOG": ""}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.proc = subprocess.Popen(  # noqa: S603
            [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "enrollment_hub.wsgi"],
            cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "enrollment_hub.settings"}, start_new_session=True,
        )
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn exited during start-up")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer /healthz")

    def pids(self) -> list[int]:
        pids = [self.proc.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.proc.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def rss_mib(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


# --- Virtual parents ------------------------------------------------------------------------


class StepError(Exception):
    pass


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    ops: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    requests: int = 0
    latencies: list = field(default_factory=list)
    error_times: list = field(default_factory=list)
    success_times: list = field(default_factory=list)
    first_errors: list = field(default_factory=list)
    confirmed: set = field(default_factory=set)  # (student, form) the parent saw confirmed
    paid_keys: set = field(default_factory=set)  # payment keys the parent saw succeed
    tried_keys: set = field(default_factory=set)
    skipped_started: list = field(default_factory=list)  # forms whose Start answered 404


class Parent:
    def __init__(self, person: dict, base: str, stats: Stats, ca: str, forms: list[int], provider, provider_lock):
        import requests

        self.p = person
        self.base = base
        self.stats = stats
        self.forms = list(forms)
        random.Random(person["student"]).shuffle(self.forms)
        self.http = requests.Session()
        self.http.verify = ca
        n = person["student"] % 60000
        self.address = f"198.51.{100 + n // 250 % 2}.{n % 250 + 1}"
        self.http.headers["X-Forwarded-For"] = self.address
        self.http.cookies.set("sessionid", person["cookie"], domain="127.0.0.1", path="/")
        self.provider = provider
        self.provider_lock = provider_lock
        self.pending_payment: str | None = None  # a key whose answer was lost: retried as is
        self.open_tab: str | None = None  # the last page shown with a form-tab lock

    # HTTP with accounting
    def _req(self, method, path, **kw):
        url = path if path.startswith("http") else self.base + path
        start = time.perf_counter()
        try:
            response = self.http.request(method, url, timeout=30, **kw)
        except Exception as exc:
            raise StepError(f"{method} {path}: {type(exc).__name__}") from exc
        finally:
            with self.stats.lock:
                self.stats.requests += 1
                self.stats.latencies.append(time.perf_counter() - start)
        if response.status_code >= 500:
            raise StepError(f"{method} {path}: HTTP {response.status_code}")
        return response

    def get(self, path, expect=(200,), **kw):
        r = self._req("GET", path, **kw)
        if TOKEN_RE.search(r.text or ""):
            self.open_tab = r.text  # this page holds the form-tab lock until released
        if r.status_code not in expect:
            raise StepError(f"GET {path}: HTTP {r.status_code}")
        return r

    def post(self, path, data, expect=(200, 302), **kw):
        csrf = self.http.cookies.get("csrftoken", domain="127.0.0.1") or ""
        r = self._req("POST", path, data=data, headers={"Referer": self.base + path, "X-CSRFToken": csrf}, **kw)
        if TOKEN_RE.search(r.text or ""):
            self.open_tab = r.text
        if r.status_code not in expect:
            raise StepError(f"POST {path}: HTTP {r.status_code}")
        return r

    def release(self, html: str | None = None):
        """Close the form tab (the browser's release on tab close), if one is open."""
        html = html or self.open_tab
        self.open_tab = None
        if not html:
            return
        token = TOKEN_RE.search(html)
        csrf = CSRF_RE.search(html) or re.search(r'data-csrf="([^"]+)"', html)
        if token and csrf:
            self.post(f"/d/{DISTRICT}/form-lock/release/", {"token": token.group(1),
                                                             "csrfmiddlewaretoken": csrf.group(1)},
                      expect=(200, 204, 302))

    # operations
    def op_portal(self):
        s = self.p["student"]
        self.get(f"/d/{DISTRICT}/students/{s}/")
        self.get(f"/d/{DISTRICT}/students/{s}/forms/", params={"tab": "todo"})
        self.get(f"/d/{DISTRICT}/students/{s}/forms/", params={"q": "Load Form 1"})

    def op_signin(self):
        import requests

        fresh = requests.Session()
        fresh.verify = self.http.verify
        fresh.headers["X-Forwarded-For"] = self.address
        with self.provider_lock:  # the provider signs in one identity at a time
            self.provider.account["email"] = self.p["global_id"]
            self.provider.account["sub"] = f"sub-{self.p['guardian']}"
            start = time.perf_counter()
            try:
                r = fresh.get(f"{self.base}/sso/{DISTRICT}/login/", timeout=30)
            except Exception as exc:
                raise StepError(f"sign-in: {type(exc).__name__}") from exc
            finally:
                with self.stats.lock:
                    self.stats.requests += 4
                    self.stats.latencies.append(time.perf_counter() - start)
        if r.status_code != 200 or f"/d/{DISTRICT}/students/{self.p['student']}/" not in r.url:
            raise StepError(f"sign-in ended at {r.url} HTTP {r.status_code}")

    def op_save(self):
        path = f"/d/{DISTRICT}/submissions/{self.p['draft']}/pages/1/"
        html = self.get(path).text
        version = VERSION_RE.search(html)
        csrf = CSRF_RE.search(html)
        if not version or not csrf:
            raise StepError("save: the page has no version or CSRF field")
        r = self.post(path, {"csrfmiddlewaretoken": csrf.group(1), "version": version.group(1),
                             "f-nickname": f"nick {time.time():.0f}", "f-notes": "x" * 200, "action": "save"},
                      expect=(200, 302, 409), allow_redirects=True)
        if r.status_code != 409 and "/pages/2/" not in r.url:  # 409: R10, saved first elsewhere; not an error
            raise StepError(f"save ended at {r.url}")

    def op_submit(self):
        while self.forms:
            form = self.forms[-1]
            r = self.get(f"/d/{DISTRICT}/students/{self.p['student']}/forms/{form}/start/", expect=(200, 404),
                         allow_redirects=True)
            if r.status_code == 404:  # started before (an answer lost in an outage): R3 offers Continue instead
                self.forms.pop()
                with self.stats.lock:
                    self.stats.skipped_started.append((self.p["student"], form))
                continue
            if "/confirmation/" in r.url:  # submitted before (its answer was lost): the portal shows it done
                self.forms.pop()
                with self.stats.lock:
                    self.stats.confirmed.add((self.p["student"], form))
                continue
            break
        else:
            return self.op_portal()
        if "/instructions/" in r.url:  # the form's instructions, then its first page
            r = self.get(r.url.split("/instructions/")[0] + "/pages/1/", allow_redirects=True)
        csrf, version = CSRF_RE.search(r.text), VERSION_RE.search(r.text)
        if not csrf or not version:
            raise StepError(f"submit: no page form at {r.url}")
        r2 = self.post(r.url, {"csrfmiddlewaretoken": csrf.group(1), "version": version.group(1),
                               "f-nickname": "done", "action": "submit"}, allow_redirects=True)
        if "/confirmation/" not in r2.url:
            raise StepError(f"submit ended at {r2.url}")
        self.forms.pop()
        with self.stats.lock:
            self.stats.confirmed.add((self.p["student"], form))
        return None

    def op_pay(self):
        path = f"/d/{DISTRICT}/submissions/{self.p['fee']}/pay/"
        html = self.get(path).text
        csrf = CSRF_RE.search(html)
        key = self.pending_payment or (KEY_RE.search(html).group(1) if KEY_RE.search(html) else None)
        if not csrf or not key:
            raise StepError("pay: no payment form")
        self.pending_payment = key
        with self.stats.lock:
            self.stats.tried_keys.add(key)
        r = self.post(path, {"csrfmiddlewaretoken": csrf.group(1), "amount": "0.01", "key": key, **CARD},
                      allow_redirects=True)
        if "/confirmation/" not in r.url:
            raise StepError(f"pay ended at {r.url}")
        self.pending_payment = None
        with self.stats.lock:
            self.stats.paid_keys.add(key)

    def run_one(self, name: str) -> bool:
        try:
            try:
                getattr(self, f"op_{name}")()
            finally:
                self.release()
        except StepError as exc:
            now = time.time()
            with self.stats.lock:
                self.stats.errors[name] += 1
                self.stats.error_times.append(now)
                if len(self.stats.first_errors) < 10:
                    self.stats.first_errors.append(str(exc))
            return False
        with self.stats.lock:
            self.stats.ops[name] += 1
            self.stats.success_times.append(time.time())
        return True


def pick(rng: random.Random) -> str:
    roll = rng.uniform(0, 100)
    for name, weight in MIX:
        roll -= weight
        if roll <= 0:
            return name
    return MIX[-1][0]


def drive(parents: list[Parent], duration: float, rate: float | None) -> float:
    """Run every parent for `duration` s; closed loop when `rate` is None, else `rate` ops/s in total
    (each parent paced at rate/len(parents), scheduled times kept even when the server is slow)."""
    stop_at = time.monotonic() + duration
    started = time.monotonic()

    def loop(parent: Parent, seed: int):
        rng = random.Random(seed)
        interval = len(parents) / rate if rate else 0.0
        next_at = time.monotonic() + rng.uniform(0, interval)
        while time.monotonic() < stop_at:
            if interval:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(min(delay, max(0.0, stop_at - time.monotonic())))
                    if time.monotonic() >= stop_at:
                        break
                next_at += interval
            parent.run_one(pick(rng))

    threads = [threading.Thread(target=loop, args=(p, i), daemon=True) for i, p in enumerate(parents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    return time.monotonic() - started


# --- Runs -----------------------------------------------------------------------------------


def setup(db_name: str, admin_url: str, db_url: str, parents: int, workdir: Path):
    from tools.oidc.fakeprovider import FakeProvider
    from tools.oidc.tls import make_ca_and_cert

    tls = make_ca_and_cert(workdir)
    data = prepare(db_url, admin_url, db_name, workdir, parents)
    provider = FakeProvider(tls, client_id="load-client", client_secret="load-secret-value").start()  # noqa: S106
    configure_sso(provider.issuer, "load-client", "load-secret-value")
    for person in data["people"]:
        person["cookie"] = session_cookie(person["user"])
    from django.db import connections

    connections.close_all()
    server = Server(data["env"], free_port())
    return data, provider, server, str(tls.ca)


def make_parents(data, server, stats, ca, provider, count):
    lock = threading.Lock()
    return [Parent(person, server.url, stats, ca, data["forms"], provider, lock) for person in data["people"][:count]]


def summary(stats: Stats, elapsed: float) -> dict:
    lat = sorted(stats.latencies)
    pct = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1)) if lat else (lambda q: 0)
    return {"seconds": round(elapsed, 1), "operations": sum(stats.ops.values()), "by_operation": dict(stats.ops),
            "ops_per_s": round(sum(stats.ops.values()) / elapsed, 2), "requests": stats.requests,
            "requests_per_s": round(stats.requests / elapsed, 1), "errors": sum(stats.errors.values()),
            "errors_by_operation": dict(stats.errors), "first_errors": stats.first_errors,
            "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "start_answered_404": stats.skipped_started[:20]}


def cmd_soak(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="eh-soak-"))
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    data, provider, server, ca = setup("eh_soak", admin, "postgres://postgres@127.0.0.1:5432/eh_soak",
                                       args.parents, workdir)
    try:
        peak_stats = Stats()
        peak_parents = make_parents(data, server, peak_stats, ca, provider, args.parents)
        elapsed = drive(peak_parents, args.peak_seconds, None)
        peak = summary(peak_stats, elapsed)
        target = round(peak["ops_per_s"] * args.fraction, 2)
        print(json.dumps({"peak": peak}), flush=True)
        stats = Stats()
        parents = peak_parents
        for p in parents:
            p.stats = stats
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample():
            t0 = time.monotonic()
            while not done.is_set():
                samples.append((round(time.monotonic() - t0), round(server.rss_mib(), 1)))
                done.wait(10)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        elapsed = drive(parents, args.duration, target)
        done.set()
        sampler.join(5)
        run = summary(stats, elapsed)
        warm = [m for t, m in samples if t >= min(120, args.duration / 4)]
        base = warm[0] if warm else samples[0][1]
        tail = warm[-3:] if len(warm) >= 3 else warm or [samples[-1][1]]
        growth = (sum(tail) / len(tail) - base) / base * 100
        result = {"target_ops_per_s": target, "fraction_of_peak": args.fraction, "soak": run,
                  "rss_mib_samples": samples, "rss_after_warmup_mib": base,
                  "rss_end_mib": round(sum(tail) / len(tail), 1), "rss_growth_pct": round(growth, 1)}
        print(json.dumps(result), flush=True)
        ok = run["errors"] == 0 and growth < args.max_growth
        print(f"soak: {run['operations']} operations ({run['requests']} requests) in {run['seconds']} s at "
              f"{run['ops_per_s']} ops/s (target {target}, {args.fraction:.0%} of the measured peak "
              f"{peak['ops_per_s']} ops/s); errors {run['errors']}; p95 {run['p95_ms']} ms; memory "
              f"{base} -> {result['rss_end_mib']} MiB ({growth:+.1f}%): {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        server.stop()
        provider.stop()


# --- PostgreSQL restart -----------------------------------------------------------------------

FAULT_CLUSTER = ("15", "ehfault", 5434)


def fault_cluster() -> str:
    version, name, port = FAULT_CLUSTER
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    if not any(line.split()[:2] == [version, name] for line in listed.splitlines()):
        subprocess.run(["pg_createcluster", "--port", str(port), version, name, "--",
                        "--auth-local=trust", "--auth-host=trust"], check=True, capture_output=True)
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"], check=False,
                   capture_output=True)
    for _ in range(60):
        if subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q"], check=False).returncode == 0:
            return f"postgres://postgres@127.0.0.1:{port}"
        time.sleep(0.5)
    raise SystemExit("the fault-test PostgreSQL cluster did not start")


def cmd_pg_restart(args) -> int:
    base = fault_cluster()
    version, name, port = FAULT_CLUSTER
    workdir = Path(tempfile.mkdtemp(prefix="eh-pgfault-"))
    data, provider, server, ca = setup("eh_pgfault", f"{base}/postgres", f"{base}/eh_pgfault", args.parents, workdir)
    stats = Stats()
    parents = make_parents(data, server, stats, ca, provider, args.parents)
    for p in parents:  # no sign-in through the provider here: the fault is the database
        p.op_signin = p.op_portal
    window: dict[str, float] = {}

    def restart():
        time.sleep(args.restart_at)
        window["start"] = time.time()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"],
                       check=True, capture_output=True)
        while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q"], check=False).returncode:
            time.sleep(0.1)
        window["end"] = time.time()

    restarter = threading.Thread(target=restart, daemon=True)
    restarter.start()
    try:
        elapsed = drive(parents, args.duration, args.rate)
        restarter.join(60)
        # Recovery: every parent does one of each write operation after the outage.
        after = Stats()
        for p in parents:
            p.stats = after
            for op in ("portal", "save", "submit", "pay"):
                p.run_one(op)
        # Retried payments whose answer was lost reuse their key (as the page would): complete them.
        for p in parents:
            if p.pending_payment:
                p.run_one("pay")
                stats.paid_keys |= after.paid_keys
        stats.confirmed |= after.confirmed
        stats.paid_keys |= after.paid_keys
    finally:
        server.stop()
        provider.stop()
    import psycopg  # a fresh connection: the ones this process opened before the restart are gone

    with psycopg.connect(f"{base}/eh_pgfault") as db:
        rows = db.execute(
            "SELECT student_id, form_id, count(*) FROM forms_catalog_submission WHERE status = 'submitted' "
            "AND form_id = ANY(%s) GROUP BY student_id, form_id", (sorted(data["forms"]),)).fetchall()
        refs = db.execute("SELECT reference, count(*) FROM forms_catalog_ledgerentry WHERE kind = 'payment' "
                          "GROUP BY reference").fetchall()
    submitted = Counter({(s_id, f_id): n for s_id, f_id, n in rows})
    lost = sorted(pair for pair in stats.confirmed if submitted.get(pair) != 1)
    duplicated = sorted(pair for pair, n in submitted.items() if n > 1)
    payments = Counter(dict(refs))
    paid_twice = sorted(ref for ref, n in payments.items() if n > 1)
    paid_missing = sorted(k for k in stats.paid_keys if payments.get(f"pay-{k}") != 1)
    grace = args.grace
    outside = [t for t in stats.error_times if not (window["start"] - 1 <= t <= window["end"] + grace)]
    run = summary(stats, elapsed)
    result = {
        "run": run, "outage_s": round(window["end"] - window["start"], 2),
        "errors_during_outage": len(stats.error_times) - len(outside), "errors_outside_outage": len(outside),
        "last_error_after_restart_s": round(max(stats.error_times) - window["end"], 2) if stats.error_times else None,
        "recovery_operations": sum(after.ops.values()), "recovery_errors": sum(after.errors.values()),
        "recovery_first_errors": after.first_errors,
        "confirmed_submissions": len(stats.confirmed), "submitted_in_database": sum(submitted.values()),
        "lost": lost, "duplicated": duplicated, "payments_confirmed": len(stats.paid_keys),
        "payments_recorded_twice": paid_twice, "payments_missing": paid_missing,
    }
    print(json.dumps(result, default=str), flush=True)
    ok = (not outside and not after.errors and not lost and not duplicated and not paid_twice and not paid_missing)
    print(f"pg-restart: outage {result['outage_s']} s; errors {result['errors_during_outage']} during it "
          f"(last {result['last_error_after_restart_s']} s after PostgreSQL answered again), "
          f"{len(outside)} outside; recovery {result['recovery_operations']} operations, "
          f"{result['recovery_errors']} errors; {len(stats.confirmed)} confirmed submissions, {len(lost)} lost, "
          f"{len(duplicated)} duplicated; {len(stats.paid_keys)} payments, {len(paid_twice)} recorded twice: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    soak = sub.add_parser("soak")
    soak.add_argument("--duration", type=float, default=600)
    soak.add_argument("--fraction", type=float, default=0.7)
    soak.add_argument("--peak-seconds", type=float, default=30)
    soak.add_argument("--parents", type=int, default=24)
    soak.add_argument("--max-growth", type=float, default=10.0, help="allowed RSS growth after warm-up, %%")
    pg = sub.add_parser("pg-restart")
    pg.add_argument("--duration", type=float, default=40)
    pg.add_argument("--restart-at", type=float, default=12)
    pg.add_argument("--rate", type=float, default=12)
    pg.add_argument("--parents", type=int, default=8)
    pg.add_argument("--grace", type=float, default=5.0, help="seconds after the restart that may still fail")
    args = parser.parse_args()
    return cmd_soak(args) if args.cmd == "soak" else cmd_pg_restart(args)


if __name__ == "__main__":
    sys.exit(main())
