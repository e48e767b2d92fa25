"""Open-loop load at a fixed rate (for the "p95 at half of peak" target).

    python bench/paced.py --url http://127.0.0.1:8100 --targets FILE --rate 80 --duration 15

Requests are scheduled every 1/rate seconds whatever the server does, and each latency is measured
from the request's scheduled time, so a slow server is not hidden by a load generator that waits
for it (no coordinated omission). Worker threads hold keep-alive connections (http.client).
Prints one JSON line like bench/targets.lua.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import threading
import time
from urllib.parse import urlsplit


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def run(url: str, targets: list[tuple[str, str]], rate: float, duration: float, threads: int) -> dict:
    parts = urlsplit(url)
    jobs: queue.Queue = queue.Queue()
    latencies: list[float] = []
    errors = {"non200": 0, "socket_errors": 0}
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while True:
            job = jobs.get()
            if job is None:
                conn.close()
                return
            scheduled, (path, cookie) = job
            headers = {"Cookie": cookie} if cookie else {}
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                status = None
            done = time.perf_counter()
            with lock:
                latencies.append(done - scheduled)
                if status is None:
                    errors["socket_errors"] += 1
                elif status != 200:
                    errors["non200"] += 1

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    total = int(rate * duration)
    start = time.perf_counter()
    for k in range(total):
        scheduled = start + k / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        jobs.put((scheduled, targets[k % len(targets)]))
    for _ in pool:
        jobs.put(None)
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    values = sorted(latencies)
    us = 1_000_000
    return {
        "requests": len(values),
        "duration_us": int(elapsed * us),
        "target_rate": rate,
        **errors,
        "p50_us": int(percentile(values, 50) * us),
        "p95_us": int(percentile(values, 95) * us),
        "p99_us": int(percentile(values, 99) * us),
        "mean_us": sum(values) / len(values) * us if values else 0,
        "max_us": int(values[-1] * us) if values else 0,
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--targets", required=True, help="Lines of path<TAB>Cookie header.")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args(argv)
    with open(args.targets) as f:
        targets = [tuple((line.rstrip("\n").split("\t") + [""])[:2]) for line in f if line.strip()]
    print("BENCH_JSON " + json.dumps(run(args.url, targets, args.rate, args.duration, args.threads)))


if __name__ == "__main__":
    main()
