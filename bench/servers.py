"""Start the app the way production does: gunicorn with the repository's gunicorn.conf.py, and, for
two app servers, a local nginx spreading requests over them (round robin). Used by bench/bench.py
and tests/perf/test_two_servers.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

NGINX_CONF = """\
worker_processes 1;
daemon off;
error_log {tmp}/error.log warn;
pid {tmp}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream app {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
      # Which app server answered: lets the two-server test see that requests alternate.
      add_header X-Upstream $upstream_addr always;
    }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before {url} answered")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/healthz", timeout=2) as resp:  # noqa: S310
            if resp.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer /healthz within {timeout:.0f}s")


def stop(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """Stop one process group we started (gunicorn master and its workers, or nginx)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass
class Stack:
    url: str  # where clients connect: the single app server, or nginx
    app_urls: list[str] = field(default_factory=list)  # each app server, for addressing one directly
    processes: list[subprocess.Popen] = field(default_factory=list)


def start_gunicorn(env: dict, port: int, log: Path) -> subprocess.Popen:
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603
            [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "enrollment_hub.wsgi:application"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def start_nginx(upstreams: list[int], port: int, tmp: Path) -> subprocess.Popen:
    if NGINX is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx; scripts/install-perf-deps)")
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in upstreams)
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, servers=servers, port=port))
    with open(tmp / "nginx.out", "ab") as out:
        return subprocess.Popen(  # noqa: S603
            [NGINX, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


@contextlib.contextmanager
def app_stack(env: dict, *, servers: int = 1, log_dir: Path | None = None):
    """Start `servers` gunicorn app servers (behind nginx when more than one); yields a Stack."""
    tmp = Path(tempfile.mkdtemp(prefix="eh-stack-"))
    tmp.chmod(0o755)
    log_dir = log_dir or tmp
    stack = Stack(url="")
    try:
        ports = [free_port() for _ in range(servers)]
        for i, port in enumerate(ports):
            proc = start_gunicorn(env, port, log_dir / f"gunicorn-{i + 1}.log")
            stack.processes.append(proc)
            stack.app_urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(stack.processes, stack.app_urls, strict=True):
            wait_healthy(url, proc=proc)
        if servers > 1:
            port = free_port()
            proc = start_nginx(ports, port, tmp)
            stack.processes.append(proc)
            stack.url = f"http://127.0.0.1:{port}"
            wait_healthy(stack.url, proc=proc)
        else:
            stack.url = stack.app_urls[0]
        yield stack
    finally:
        for proc in reversed(stack.processes):
            stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def production_env(*, database_url: str, cache_url: str, **extra: str) -> dict:
    """The environment of a production deployment, for plain-HTTP loopback (no TLS redirect, cookies
    not marked Secure). One SECRET_KEY per run: set-up steps that create sessions use the same env."""
    import secrets

    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "DB_POOL_", "DJANGO_"))}
    env.update(
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="False",
        SESSION_COOKIE_SECURE="False",
        CSRF_COOKIE_SECURE="False",
        SECURE_HSTS_SECONDS="0",
        DATABASE_URL=database_url,
        CACHE_URL=cache_url,
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env
