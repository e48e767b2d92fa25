"""gunicorn configuration for production. Every value can be overridden from the environment.

How the defaults were chosen (docs/performance.md, "Worker model"): on 2 cores, threaded workers
(gthread) beat sync workers for the portal pages in interleaved runs — a sync worker holds a whole
process per connection, and keep-alive clients then queue behind it — and 3 workers x 4 threads
(cores + 1 processes, so one can run while another waits on PostgreSQL or Redis) measured best or
level with 2x4, ahead of 4x2, sync x3 and sync x5. Each worker process has its own psycopg pool
(DB_POOL_MAX_SIZE, default 8 >= threads), so a server opens at most workers x pool connections.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", str(multiprocessing.cpu_count() + 1)))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
# The workers' heartbeat files on tmpfs: a busy disk must not make the master think a worker hangs.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
