#!/usr/bin/env python3
"""Launcher for the `mlbench serve` peer: trains scikit-learn's LogisticRegression(lbfgs) on the
same .npy data mlbench trains its linear learner on, starts gunicorn (gunicorn.conf.py: 2 sync
workers) with the Flask app in sklearn_app.py on 127.0.0.1:--port, waits until GET /ping answers
200, and prints one JSON line

    {"ready": true, "port": 8080, "version": "scikit-learn 1.x, flask 3.x, gunicorn 23.x", "train_s": 0.2}

then stays in the foreground until gunicorn exits or this process gets SIGTERM/SIGINT (which it
passes on to gunicorn, whose workers finish and exit). mlbench starts it in its own process
group and signals the whole group, so nothing outlives a run.

Example:
    .venv/bin/python Benchmarks/peers/serve/serve_peer.py --train-x x.npy --train-y y.npy --port 8080
"""
import argparse
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-x", required=True)
    parser.add_argument("--train-y", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ready-timeout", type=float, default=60)
    args = parser.parse_args()

    from importlib import metadata

    import gunicorn
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression

    x = np.load(args.train_x)
    y = np.load(args.train_y)
    t0 = time.monotonic()
    model = LogisticRegression(solver="lbfgs", C=1.0, max_iter=1000).fit(x, y)
    train_s = time.monotonic() - t0

    here = os.path.dirname(os.path.abspath(__file__))
    scratch = tempfile.mkdtemp(prefix="mlbench-serve-peer-")
    model_path = os.path.join(scratch, "model.pkl")
    with open(model_path, "wb") as f:
        pickle.dump(model, f)

    env = dict(os.environ)
    env.update({
        "MLBENCH_SERVE_MODEL": model_path,
        "MLBENCH_SERVE_BIND": f"127.0.0.1:{args.port}",
        "MLBENCH_SERVE_WORKERS": str(args.workers),
        # One request per worker at a time and one worker per core: BLAS threads would only contend.
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    })
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", os.path.join(here, "gunicorn.conf.py"), "sklearn_app:app"],
        cwd=here, env=env)

    def stop(signum, frame):
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    deadline = time.monotonic() + args.ready_timeout
    while True:
        if server.poll() is not None:
            print(f"gunicorn exited with status {server.returncode} before it was ready", file=sys.stderr)
            return 1
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/ping", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            print(f"gunicorn not ready after {args.ready_timeout} s", file=sys.stderr)
            stop(None, None)
            server.wait()
            return 1
        time.sleep(0.1)

    version = f"scikit-learn {sklearn.__version__}, flask {metadata.version('flask')}, gunicorn {gunicorn.__version__}"
    print(json.dumps({"ready": True, "port": args.port, "version": version, "train_s": train_s}), flush=True)
    status = server.wait()
    os.remove(model_path)
    os.rmdir(scratch)
    return 0 if status in (0, -signal.SIGTERM) else status


if __name__ == "__main__":
    sys.exit(main())
