"""pip-audit for CI: fail on any advisory not accepted in .pip-audit-ignore; say clearly when the
advisory database cannot be reached (then nothing could be audited and nothing is claimed).

Exit 0: no unaccepted advisory among the dependencies that could be audited.
Exit 1: an advisory not in .pip-audit-ignore (listed), or PIP_AUDIT_REQUIRED=1 and nothing audited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / ".pip-audit-ignore"


def accepted() -> dict[str, str]:
    out = {}
    for line in IGNORE_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            vuln_id, _, reason = line.partition(" ")
            out[vuln_id] = reason.strip()
    return out


def run_audit(service: str) -> dict | None:
    cmd = [str(ROOT / ".venv/bin/pip-audit"), "--local", "-f", "json", "--progress-spinner", "off",
           "-s", service, "--timeout", "15"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        print(f"pip-audit ({service}) did not answer: {tail[0]}")
        return None


def main() -> int:
    ok_ids = accepted()
    for service in ("pypi", "osv"):
        report = run_audit(service)
        if report is None:
            continue
        deps = report.get("dependencies", [])
        audited = [d for d in deps if "skip_reason" not in d]
        if not audited:
            reasons = {d["skip_reason"].split(":")[0] for d in deps if "skip_reason" in d}
            print(f"pip-audit ({service}): 0 of {len(deps)} dependencies could be audited ({'; '.join(reasons)}).")
            continue
        findings = [(d["name"], d["version"], v) for d in audited for v in d.get("vulns", [])]
        new = [(n, ver, v) for n, ver, v in findings
               if v["id"] not in ok_ids and not any(a in ok_ids for a in v.get("aliases", []))]
        for name, version, vuln in findings:
            mark = "NEW" if (name, version, vuln) in new else "accepted"
            fixed = ", ".join(vuln.get("fix_versions", [])) or "-"
            print(f"  [{mark}] {name} {version}: {vuln['id']} fixed in {fixed}")
        print(f"pip-audit ({service}): {len(audited)} dependencies audited, {len(findings)} advisories, "
              f"{len(new)} not accepted in .pip-audit-ignore.")
        return 1 if new else 0
    message = ("ADVISORY DATABASE UNREACHABLE: pip-audit could not audit any dependency from this machine "
               "(PyPI's JSON API and OSV are not reachable). No vulnerability finding is claimed; run "
               "scripts/security-audit where pypi.org or osv.dev is reachable.")
    print(message)
    return 1 if os.environ.get("PIP_AUDIT_REQUIRED") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
