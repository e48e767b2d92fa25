"""The demo identity provider exists only in demo mode and never with production settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]


def test_demo_mode_cannot_be_switched_on_with_debug_off():
    env = {**os.environ, "DEBUG": "False", "DEMO_MODE": "True", "SECRET_KEY": "x" * 50,
           "FIELD_ENCRYPTION_KEYS": "dGVzdC1rZXktZm9yLWVucm9sbG1lbnQtaHViLXRlc3Q=",
           "DJANGO_SETTINGS_MODULE": "enrollment_hub.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "DEMO_MODE=True is refused when DEBUG=False" in result.stderr


@pytest.mark.django_db
def test_demo_provider_command_refuses_outside_demo_mode(settings, tmp_path):
    settings.DEMO_MODE = False
    settings.DEBUG = True
    with pytest.raises(CommandError, match="only with DEMO_MODE=True and DEBUG=True"):
        call_command("sso_demo_provider", state_dir=str(tmp_path))
    settings.DEMO_MODE = True
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DEMO_MODE=True and DEBUG=True"):
        call_command("sso_demo_provider", state_dir=str(tmp_path))
    assert not (tmp_path / "ready").exists()
