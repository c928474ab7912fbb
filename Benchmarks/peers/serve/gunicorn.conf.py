# gunicorn settings for the `mlbench serve` peer, as SageMaker's scikit-learn container runs its
# Flask app: sync workers (one request at a time each; they do not keep connections alive, so
# every request is a new connection), two of them on this 2-core machine. The bind address comes
# from MLBENCH_SERVE_BIND (set by serve_peer.py).
import os

bind = os.environ.get("MLBENCH_SERVE_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("MLBENCH_SERVE_WORKERS", "2"))
worker_class = "sync"
timeout = 60
backlog = 2048
accesslog = None
loglevel = "warning"
