#!/usr/bin/env python3
"""Peer for `mlbench csv`: pandas.read_csv (C engine) on the same file mlbench parses.

Prints one JSON line in mlbench's result shape. The result is checked before timing: the
row and column counts and the sum of the first feature column are reported so mlbench can
compare them with its own parse of the same file.
"""
import argparse
import json
import os
import statistics
import sys
import time


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM). ru_maxrss would report mlbench's peak: Linux keeps
    the parent's high-water mark across fork and exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--file", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--workload", default="read")
    args = p.parse_args()

    import numpy as np
    import pandas as pd

    def read():
        # header=None: SageMaker CSV has no header. The C engine is pandas' fast path and is
        # single-threaded whatever --threads says; float64 is what users get by default.
        return pd.read_csv(args.file, header=None, engine="c")

    frame = read()
    rows, cols = frame.shape
    check = float(np.nansum(frame.iloc[:, 1].to_numpy(dtype=np.float64)))
    del frame
    for _ in range(max(0, args.warmup - 1)):
        read()
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        frame = read()
        times.append(time.perf_counter() - t0)
        del frame
    size_mb = os.path.getsize(args.file) / 1e6
    median = statistics.median(times)
    print(json.dumps({
        "suite": "csv",
        "workload": args.workload,
        "impl": "pandas",
        "version": pd.__version__,
        "threads": 1,
        "median_s": median,
        "min_s": min(times),
        "max_s": max(times),
        "runs": len(times),
        "peak_rss_mb": peak_rss_mb(),
        "metrics": {"mb_per_s": size_mb / median, "rows": rows, "columns": cols, "check_sum_col1": check},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
