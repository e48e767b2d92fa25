"""Markdown tables of benchmark results (the JSON files `bench/run --json` writes), for docs/performance.md.

    .venv/bin/python bench/report.py results/*.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def cpu(r: dict) -> float:
    return r.get("app_cpu_ms", 0) + r.get("db_cpu_ms", 0)


def table(report: dict) -> str:
    peak, half = report["peak"], report.get("half_peak", {})
    base = peak.get("health")
    lines = [
        "| page | req/s | p50 ms | p95 ms | p99 ms | errors | req/s vs /healthz | app CPU ms/req | db CPU ms/req "
        "| CPU ratio vs /healthz |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for page, r in peak.items():
        ratio = f"{r['rps'] / base['rps']:.0%}" if base else "-"
        cpu_ratio = f"{cpu(base) / cpu(r):.0%}" if base and cpu(r) else "-"
        lines.append(f"| {page} | {r['rps']:.1f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['errors']} | {ratio} | {r.get('app_cpu_ms', 0):.2f} | {r.get('db_cpu_ms', 0):.2f} | "
                     f"{cpu_ratio} |")
    for page, r in half.items():
        lines.append(f"| {page} at half peak ({r['target_rps']:.1f} req/s offered) | {r['rps']:.1f} | "
                     f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | | | | |")
    return "\n".join(lines)


def main(paths: list[str]) -> None:
    for path in paths:
        report = json.loads(Path(path).read_text())
        args = report["args"]
        load = (f"{report['loadavg_at_start'][0]:.1f} at start, {report['loadavg_at_end'][0]:.1f} at end"
                if "loadavg_at_start" in report else "not recorded")
        print(f"**{report['label'] or Path(path).stem}** — `bench/run` {args['students']} students, "
              f"{args['servers']} server(s), workers={args['workers'] or 'conf'} class={args['worker_class'] or 'conf'}"
              f" threads={args['threads'] or 'conf'} pool_max={args['pool_max'] or 'conf'}, "
              f"{args['duration']:g} s/page, {args['connections']} connections; visible forms per student "
              f"{report['visible_forms']}; machine load average {load}\n")
        print(table(report))
        print()


if __name__ == "__main__":
    main(sys.argv[1:])
