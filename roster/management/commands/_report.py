"""Printing an import report the same way for import_roster and sync_roster."""

from roster.services import COUNT_KEYS


def write_report(out, report, *, limit: int = 20) -> None:
    head = "Dry run: nothing written." if report.dry_run else "Applied."
    out.write(f"{head}{' (forced)' if report.forced else ''}")
    for key in COUNT_KEYS:
        out.write(f"  {key}: {report.counts[key]}")
        items = report.lists.get(key, [])[:limit] if limit else []
        for item in items:
            out.write(f"    {item}")
        if items and report.counts[key] > len(items):
            out.write(f"    … and {report.counts[key] - len(items)} more")
