"""The district-scale benchmark (docs/performance.md). Run it as `bench/run`; `bench/run --help`."""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import ROOT, VENV_BIN, app_stack, production_env  # noqa: E402

PY = str(VENV_BIN / "python")
PAGES = ("health", "overview", "forms_todo", "forms_complete", "forms_todo_search", "forms_complete_search",
         "form_tab")
HALF_RATE_PAGES = ("overview", "forms_todo")


def sh(args, env, **kw):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, **kw)  # noqa: S603


def psql(db: str, sql: str) -> str:
    return subprocess.run(  # noqa: S603
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-tAqc", sql],  # noqa: S607
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def ensure_district(args, env) -> None:
    """Create the database and the generated district at the asked size (skipped when already there)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.database):
        sys.exit("--database: lowercase letters, digits and underscores")
    if not psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{args.database}'"):  # noqa: S608
        psql("postgres", f'CREATE DATABASE "{args.database}"')
    sh([PY, "manage.py", "migrate", "--noinput", "-v0"], env)
    count = psql(args.database, "SELECT count(*) FROM forms_catalog_student s JOIN forms_catalog_district d "
                                "ON d.id = s.district_id WHERE d.slug = 'perf'")
    if count != str(args.students) or args.regenerate:
        print(f"generating the district ({args.students} students) ...", flush=True)
        sh([PY, "manage.py", "generate_district", "--replace", "--slug", "perf",
            "--students", str(args.students), "--guardians", str(round(args.students * 1.8)),
            "--forms", str(args.forms), "--submissions", str(args.students * 10)], env)


def page_targets(prepared: dict, page: str) -> list[tuple[str, str]]:
    q = prepared["search"]
    suffix = {
        "forms_todo": "?tab=todo", "forms_complete": "?tab=complete",
        "forms_todo_search": f"?tab=todo&q={q}", "forms_complete_search": f"?tab=complete&q={q}",
    }
    rows = []
    for s in prepared["sessions"]:
        if page == "health":
            rows.append(("/healthz", s["cookie"]))  # the same session cookie: the middleware loads it
        elif page == "overview":
            rows.append((s["overview"], s["cookie"]))
        elif page == "form_tab":
            rows.append((s["form_tab"], s["cookie"]))
        else:
            rows.append((s["forms"] + suffix[page], s["cookie"]))
    return rows


def run_wrk(url: str, targets_file: Path, *, duration: float, connections: int, threads: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(  # noqa: S603
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "10s",  # noqa: S607
         "-s", str(ROOT / "bench" / "targets.lua"), url],
        env={"BENCH_TARGETS": str(targets_file), "PATH": "/usr/bin:/bin"}, check=True, capture_output=True,
        text=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))[11:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["loadgen_cpu"] = cpu / (result["duration_us"] / 1e6)
    return result


def run_paced(url: str, targets_file: Path, *, rate: float, duration: float) -> dict:
    out = subprocess.run(  # noqa: S603
        [PY, str(ROOT / "bench" / "paced.py"), "--url", url, "--targets", str(targets_file), "--rate", str(rate),
         "--duration", str(duration)],
        check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("BENCH_JSON "))[11:])


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(process group, CPU seconds of the process and its reaped children)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1, 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return int(fields[2]), ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by the app servers (their process groups) and by the database's backends.

    CPU time per request does not depend on what else runs on the machine, unlike requests/s."""

    def __init__(self, groups: list[int], database: str):
        self.groups = set(groups)
        self.database = database

    def sample(self) -> dict[str, dict[int, float]]:
        app = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                group, seconds = _proc_cpu(int(entry.name))
                if group in self.groups:
                    app[int(entry.name)] = seconds
        db_pids = psql(self.database, f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.database}'")  # noqa: S608
        db = {int(p): _proc_cpu(int(p))[1] for p in db_pids.split()}
        return {"app": app, "db": db}

    @staticmethod
    def delta(before: dict, after: dict) -> dict[str, float]:
        out = {}
        for kind in ("app", "db"):
            out[kind] = sum(after[kind].values()) - sum(before[kind][p] for p in after[kind] if p in before[kind])
        return out


def summarize(result: dict) -> dict:
    seconds = result["duration_us"] / 1e6
    return {
        "rps": round(result["requests"] / seconds, 1),
        "p50_ms": round(result["p50_us"] / 1000, 1),
        "p95_ms": round(result["p95_us"] / 1000, 1),
        "p99_ms": round(result["p99_us"] / 1000, 1),
        "errors": result["non200"] + result["socket_errors"],
        "requests": result["requests"],
        **({"loadgen_cpu": round(result["loadgen_cpu"], 2)} if "loadgen_cpu" in result else {}),
        **({"app_cpu_ms": round(result["cpu"]["app"] * 1000 / max(1, result["requests"]), 2),
            "db_cpu_ms": round(result["cpu"]["db"] * 1000 / max(1, result["requests"]), 2)}
           if "cpu" in result else {}),
    }


def parse_config(text: str) -> dict:
    """`sync:3`, `gthread:3x4`, `gthread:2x4:pool4` -> gunicorn / pool environment."""
    parts = text.split(":")
    workers, _, threads = parts[1].partition("x")
    env = {"GUNICORN_WORKER_CLASS": parts[0], "GUNICORN_WORKERS": workers, "GUNICORN_THREADS": threads or "1"}
    for extra in parts[2:]:
        if extra.startswith("pool"):
            env["DB_POOL_MAX_SIZE"] = extra[4:]
            env["DB_POOL_MIN_SIZE"] = str(min(2, int(extra[4:])))
    return env


def measure_pages(stack, pages, files, args, database) -> dict[str, dict]:
    meter = CpuMeter([p.pid for p in stack.processes], database)
    out = {}
    for page in pages:
        if args.warmup:
            run_wrk(stack.url, files[page], duration=args.warmup, connections=args.connections,
                    threads=args.wrk_threads)
        before = meter.sample()
        raw = run_wrk(stack.url, files[page], duration=args.duration, connections=args.connections,
                      threads=args.wrk_threads)
        raw["cpu"] = meter.delta(before, meter.sample())
        out[page] = summarize(raw)
    return out


def compare(args, env, pages, files, prepared, work, load_at_start):
    """Several server configurations in interleaved rounds (A B C A B C ...), medians per configuration:
    the machine's other load then weighs on every configuration alike."""
    import statistics

    configs = [c for c in args.compare.split(",") if c]
    rounds: dict[str, list[dict]] = {c: [] for c in configs}
    for r in range(args.rounds):
        for config in configs:
            with app_stack({**env, **parse_config(config)}, servers=args.servers, log_dir=work) as stack:
                result = measure_pages(stack, pages, files, args, args.database)
            rounds[config].append(result)
            print(f"round {r + 1} {config:20s} " + "  ".join(
                f"{p} {v['rps']:.0f}/s p95 {v['p95_ms']:.0f}ms cpu {v['app_cpu_ms']:.1f}+{v['db_cpu_ms']:.1f}"
                for p, v in result.items()), flush=True)
    summary = {}
    for config, runs in rounds.items():
        summary[config] = {
            page: {key: round(statistics.median(run[page][key] for run in runs), 2)
                   for key in ("rps", "p50_ms", "p95_ms", "p99_ms", "app_cpu_ms", "db_cpu_ms")}
            | {"errors": sum(run[page]["errors"] for run in runs)}
            for page in pages
        }
    print()
    print(f"Medians of {args.rounds} interleaved rounds, {args.duration:g} s per page; load average "
          f"{load_at_start[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (2 cores)")
    print("| configuration | " + " | ".join(f"{p} req/s | {p} p95 ms | {p} CPU ms" for p in pages) + " | errors |")
    print("|---|" + "---:|" * (3 * len(pages) + 1))
    for config, by_page in summary.items():
        cells = " | ".join(f"{v['rps']:.1f} | {v['p95_ms']:.0f} | {v['app_cpu_ms'] + v['db_cpu_ms']:.1f}"
                           for v in by_page.values())
        print(f"| {config} | {cells} | {sum(v['errors'] for v in by_page.values())} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"label": args.label, "args": vars(args), "rounds": rounds,
                                               "median": summary, "loadavg_at_start": load_at_start,
                                               "loadavg_at_end": os.getloadavg()}, indent=1))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--students", type=int, default=100_000, help="District size (guardians 1.8x, "
                        "submissions 10x); generated once into --database.")
    parser.add_argument("--forms", type=int, default=500)
    parser.add_argument("--database", default="eh_perf")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--servers", type=int, default=1, choices=(1, 2), help="2: two app servers behind nginx.")
    parser.add_argument("--workers", type=int, help="gunicorn workers per server (default: gunicorn.conf.py)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int)
    parser.add_argument("--pool-max", type=int, help="DB_POOL_MAX_SIZE per worker process")
    parser.add_argument("--pool-min", type=int, help="DB_POOL_MIN_SIZE per worker process")
    parser.add_argument("--sessions", type=int, default=500, help="Guardians with a real session.")
    parser.add_argument("--only-bench-student", action="store_true",
                        help="Every request is for the well-known student with 60 forms.")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--duration", type=float, default=15, help="Seconds per page.")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--no-half-rate", action="store_true", help="Skip the runs at half of peak rate.")
    parser.add_argument("--compare", help="Compare server configurations in interleaved rounds, e.g. "
                        "'sync:3,gthread:3x4,gthread:3x4:pool4' (class:workers[xthreads][:poolN]).")
    parser.add_argument("--rounds", type=int, default=3, help="Rounds for --compare.")
    parser.add_argument("--json", help="Write the results here too.")
    parser.add_argument("--label", default="")
    args = parser.parse_args(argv)
    pages = [p for p in args.pages.split(",") if p]
    unknown = set(pages) - set(PAGES)
    if unknown:
        parser.error(f"unknown pages {sorted(unknown)}; choose from {', '.join(PAGES)}")

    extra = {}
    if args.workers:
        extra["GUNICORN_WORKERS"] = args.workers
    if args.worker_class:
        extra["GUNICORN_WORKER_CLASS"] = args.worker_class
    if args.threads:
        extra["GUNICORN_THREADS"] = args.threads
    if args.pool_max:
        extra["DB_POOL_MAX_SIZE"] = args.pool_max
    if args.pool_min:
        extra["DB_POOL_MIN_SIZE"] = args.pool_min
    work = Path(tempfile.mkdtemp(prefix="eh-bench-"))
    # A cache key prefix of its own: every run starts with a cold cache, and runs never share keys.
    env = production_env(database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
                         cache_url=args.cache_url, CACHE_KEY_PREFIX=f"eh-bench-{work.name}",
                         STATIC_ROOT=str(work / "static"), **extra)
    started = time.time()
    load_at_start = os.getloadavg()
    ensure_district(args, env)
    sh([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    sh([PY, "bench/prepare.py", "--out", str(work / "targets.json"), "--sessions", str(args.sessions),
        *(["--only-bench-student"] if args.only_bench_student else [])], env)
    prepared = json.loads((work / "targets.json").read_text())
    files = {}
    for page in PAGES:
        files[page] = work / f"{page}.txt"
        files[page].write_text("".join(f"{p}\t{c}\n" for p, c in page_targets(prepared, page)))

    if args.compare:
        return compare(args, env, pages, files, prepared, work, load_at_start)

    results: dict[str, dict] = {}
    half: dict[str, dict] = {}
    with app_stack(env, servers=args.servers, log_dir=work) as stack:
        # Every page answers 200 for a real session before anything is measured.
        import urllib.request

        for page in pages:
            path, cookie = page_targets(prepared, page)[0]
            req = urllib.request.Request(stack.url + path, headers={"Cookie": cookie})  # noqa: S310
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
                body = resp.read()
                if resp.status != 200 or resp.url != stack.url + path:
                    sys.exit(f"{page}: {resp.status} at {resp.url}, expected 200 at {path}")
            print(f"{page:22s} {path} -> 200 ({len(body)} bytes)", flush=True)
        results = measure_pages(stack, pages, files, args, args.database)
        for page, r in results.items():
            print(f"{page:22s} {r}", flush=True)
        if not args.no_half_rate:
            for page in HALF_RATE_PAGES:
                if page in results:
                    rate = max(1.0, results[page]["rps"] / 2)
                    half[page] = summarize(run_paced(stack.url, files[page], rate=rate, duration=args.duration))
                    half[page]["target_rps"] = round(rate, 1)
                    print(f"{page:22s} half rate {half[page]}", flush=True)

    base = results.get("health", {}).get("rps")
    print()
    print(f"Enrollment Hub benchmark {args.label} — {args.students} students, {args.servers} app server(s), "
          f"{len(prepared['sessions'])} sessions; visible forms per student {prepared['visible_forms']}; "
          f"load average {load_at_start[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end (2 cores)")
    def cpu(r):
        return r.get("app_cpu_ms", 0) + r.get("db_cpu_ms", 0)

    base_cpu = cpu(results["health"]) if "health" in results else None
    print(f"{'page':24s}{'req/s':>9s}{'p50 ms':>9s}{'p95 ms':>9s}{'p99 ms':>9s}{'errors':>8s}{'vs /healthz':>13s}"
          f"{'app CPU ms':>12s}{'db CPU ms':>11s}{'CPU ratio':>11s}")
    for page, r in results.items():
        ratio = f"{r['rps'] / base:.0%}" if base else "-"
        cpu_ratio = f"{base_cpu / cpu(r):.0%}" if base_cpu and cpu(r) else "-"
        print(f"{page:24s}{r['rps']:9.1f}{r['p50_ms']:9.1f}{r['p95_ms']:9.1f}{r['p99_ms']:9.1f}{r['errors']:8d}"
              f"{ratio:>13s}{r['app_cpu_ms']:12.2f}{r['db_cpu_ms']:11.2f}{cpu_ratio:>11s}")
    for page, r in half.items():
        print(f"{page + ' @ half peak':24s}{r['rps']:9.1f}{r['p50_ms']:9.1f}{r['p95_ms']:9.1f}{r['p99_ms']:9.1f}"
              f"{r['errors']:8d}{'':>13s}")
    if "health" in results:
        print(f"load generator CPU while loading /healthz: {results['health'].get('loadgen_cpu', 0):.0%} of one core")
    report = {
        "loadavg_at_end": os.getloadavg(),
        "loadavg_at_start": load_at_start,
        "label": args.label, "started": started, "args": vars(args), "visible_forms": prepared["visible_forms"],
        "peak": results, "half_peak": half,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"logs: {work}")
    return report


if __name__ == "__main__":
    main()
