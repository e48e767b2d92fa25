"""Demo only: run a development OpenID provider for the demo district and configure its sign-in.

Started by `scripts/run-demo` (the README's `make run`). It starts the npm `oidc-provider`
(tools/oidc/provider.mjs) on https://127.0.0.1:<port> with a certificate from a throw-away CA,
with one account per guardian of the demo file (the login is the guardian's global id, any
password), saves the district's SSO configuration through the R11 service (real discovery check),
writes `<state-dir>/ready` and runs until stopped.

Refused unless DEMO_MODE and DEBUG are both on: it never runs with production settings.
"""

from __future__ import annotations

import json
import secrets
import signal
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from forms_catalog.models import District
from sso.services import sso_configuration_save

CLIENT_ID = "enrollment-hub-demo"


class Command(BaseCommand):
    help = "Demo mode only: run a development OpenID provider with the demo parents and configure the district."

    def add_arguments(self, parser):
        parser.add_argument("--app-url", default="http://127.0.0.1:8000", help="Where the portal is served.")
        parser.add_argument("--port", type=int, default=8443, help="The provider's https port on 127.0.0.1.")
        parser.add_argument("--state-dir", required=True, help="Certificates, provider config and the ready file.")
        parser.add_argument("--district", default="riverside")
        parser.add_argument("--demo-file", default=str(Path(settings.BASE_DIR) / "demo" / "district.json"))

    def handle(self, *args, app_url, port, state_dir, district, demo_file, **options):
        if not (getattr(settings, "DEMO_MODE", False) and settings.DEBUG):
            raise CommandError("The demo identity provider runs only with DEMO_MODE=True and DEBUG=True.")
        if not settings.OUTBOUND_ALLOW_PRIVATE_ADDRESSES:
            raise CommandError("The demo provider listens on loopback: set OUTBOUND_ALLOW_PRIVATE_ADDRESSES=True.")
        from tools.oidc.nodeprovider import NodeProvider, node_binary, private_jwk
        from tools.oidc.tls import make_ca_and_cert

        if node_binary() is None:
            raise CommandError("node is not installed: the demo identity provider needs Node.js 20.")
        if not (Path(settings.BASE_DIR) / "node_modules" / "oidc-provider").exists():
            raise CommandError("npm package oidc-provider is missing: run `npm ci`.")
        district_obj = District.objects.filter(slug=district).first()
        if district_obj is None:
            raise CommandError(f"District {district!r} is not loaded (load_scenario {demo_file}).")

        state = Path(state_dir)
        tls = make_ca_and_cert(state)
        import os

        os.environ["REQUESTS_CA_BUNDLE"] = str(tls.ca)
        (state / "ready").unlink(missing_ok=True)

        accounts = {}
        for d in json.loads(Path(demo_file).read_text())["districts"]:
            if d["slug"] != district:
                continue
            for g in d.get("guardians", []):
                name = f"{g.get('first_name', '')} {g.get('last_name', '')}".strip()
                accounts[g["global_id"]] = {"email": g.get("email") or g["global_id"], "name": name,
                                            "given_name": g.get("first_name", ""),
                                            "family_name": g.get("last_name", "")}
        app_urls = {app_url.rstrip("/"), app_url.rstrip("/").replace("127.0.0.1", "localhost")}
        secret = secrets.token_urlsafe(32)
        client = {
            "client_id": CLIENT_ID, "client_secret": secret,
            "redirect_uris": sorted(f"{u}/sso/callback/" for u in app_urls),
            "post_logout_redirect_uris": sorted(f"{u}/sso/{district}/signed-out/" for u in app_urls),
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"], "response_types": ["code"],
        }
        provider = NodeProvider(tls, state, clients=[client], accounts=accounts, keys=[private_jwk("demo-1")],
                                port=port).start()
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        try:
            result = sso_configuration_save(district=district_obj, values={
                "enabled": True, "issuer": provider.issuer, "client_id": CLIENT_ID, "client_secret": secret,
                "global_identifier_claim": "email", "scopes": "openid email profile",
            })
            if result.errors:
                raise CommandError(f"Configuring {district} failed: {result.errors}")
            (state / "ready").write_text(provider.issuer)
            self.stdout.write(f"Demo identity provider: {provider.issuer} (district {district})")
            self.stdout.write("  Sign in as any of: " + ", ".join(sorted(accounts)) + " (any password)")
            self.stdout.write("  Its certificate comes from a throw-away CA: your browser will ask you to accept it.")
            while not stop.wait(1.0):
                if provider.process is None or provider.process.poll() is not None:
                    raise CommandError(f"The demo identity provider stopped; see {provider.log}")
        finally:
            provider.stop()
