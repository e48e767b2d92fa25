"""Start and stop the real npm `oidc-provider` (tools/oidc/provider.mjs) as a child process.

    provider = NodeProvider(tls_files, workdir, clients=[...], accounts={...}).start()
    provider.issuer                      # https://127.0.0.1:<port>
    provider.restart(keys=[new, *old])   # signing-key rotation: the first key signs
    provider.stop()
"""

from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .tls import TLSFiles

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("provider.mjs")


def private_jwk(kid: str | None = None) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops", None)  # PyJWT writes ["sign"]; the provider also verifies its own id_token_hint
    jwk.update({"kid": kid or f"k-{secrets.token_hex(4)}", "alg": "RS256", "use": "sig"})
    return jwk


def node_binary() -> str | None:
    return shutil.which("node")


class NodeProvider:
    def __init__(self, tls: TLSFiles, workdir: Path, *, clients: list[dict], accounts: dict[str, dict] | None = None,
                 keys: list[dict] | None = None, host: str = "127.0.0.1", port: int = 0):
        self.tls = tls
        self.workdir = Path(workdir)
        self.clients = clients
        self.accounts = accounts or {}
        self.keys = keys or [private_jwk()]
        self.host = host
        self.port = port
        self.issuer = ""
        self.process: subprocess.Popen | None = None

    def _write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / f"provider-{self.port or 'any'}.json"
        path.write_text(json.dumps({
            "host": self.host, "port": self.port, "cert": str(self.tls.cert), "key": str(self.tls.key),
            "jwks": {"keys": self.keys}, "clients": self.clients, "accounts": self.accounts,
        }))
        path.chmod(0o600)
        return path

    def start(self, timeout: float = 20.0) -> NodeProvider:
        node = node_binary()
        if node is None:
            raise RuntimeError("node is not installed")
        config = self._write_config()
        self.log = self.workdir / "provider.log"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own script, arguments built here
                [node, str(SCRIPT), str(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log,
                env={**os.environ, "NODE_ENV": "development"}, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"oidc-provider exited: {self.log.read_text()[-2000:]}")
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                break
        if not line:
            self.stop()
            raise RuntimeError("oidc-provider did not start in time")
        self.issuer = json.loads(line)["issuer"]
        self.port = int(self.issuer.rsplit(":", 1)[1])
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        self.process = None

    def restart(self, *, keys: list[dict] | None = None) -> NodeProvider:
        """Stop and start again on the same port (e.g. with rotated signing keys)."""
        self.stop()
        if keys is not None:
            self.keys = keys
        return self.start()

    def __enter__(self) -> NodeProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
