"""The documented benchmark command runs end to end (at a tiny size): generator, production-shaped
gunicorn, real sessions, every page loaded by wrk with no error, the half-peak runs, the report.
The figures themselves belong in docs/performance.md, not in a test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PAGES = {"health", "overview", "forms_todo", "forms_complete", "forms_todo_search", "forms_complete_search",
         "form_tab"}

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (scripts/install-perf-deps)")


def test_bench_run_measures_every_page_without_errors(tmp_path):
    database = f"eh_bench_smoke_{os.getpid()}"
    try:
        run = subprocess.run(  # noqa: S603
            [str(ROOT / "bench" / "run"), "--students", "200", "--forms", "80", "--database", database,
             "--sessions", "20", "--duration", "1", "--warmup", "0", "--connections", "4",
             "--json", str(tmp_path / "report.json")],
            cwd=ROOT, capture_output=True, text=True, timeout=900,
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        report = json.loads((tmp_path / "report.json").read_text())
        assert set(report["peak"]) == PAGES
        for page, result in report["peak"].items():
            assert result["requests"] > 0 and result["errors"] == 0, (page, result)
            assert result["app_cpu_ms"] > 0, (page, result)
        assert set(report["half_peak"]) == {"overview", "forms_todo"}
        assert all(r["requests"] > 0 and r["errors"] == 0 for r in report["half_peak"].values())
        assert report["visible_forms"]["max"] == 60  # the well-known guardian's student is among the sessions
        assert "vs /healthz" in run.stdout
    finally:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",  # noqa: S603, S607
                        f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True, check=False)
