#!/usr/bin/env python3
"""Reads a RecordIO-protobuf file with the SageMaker Python SDK v2's own reader and prints its
records as JSON, for RecordIOProtobufTests to compare with what the Swift writer wrote.

    .venv/bin/python read_with_sdk.py FILE

Output: a list with one object per record:
    {"features": {KEY: TENSOR}, "label": {KEY: TENSOR}, "uid": str|null, "metadata": ..., "configuration": ...}
where TENSOR is {"type": "float32"|"float64"|"int32", "values": [...], "keys": [...], "shape": [...]}.
"""
import contextlib
import json
import os
import sys
import warnings

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
warnings.filterwarnings("ignore")

# Importing sagemaker logs "sagemaker.config INFO" lines to stdout; keep stdout for the JSON.
with contextlib.redirect_stdout(sys.stderr):
    from sagemaker.amazon.common import read_records


def tensor(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return {"type": None}
    t = getattr(value, kind)
    if kind == "bytes":
        return {"type": "bytes", "count": len(t.value)}
    return {
        "type": kind.replace("_tensor", ""),
        "values": [float(x) for x in t.values],
        "keys": [int(k) for k in t.keys],
        "shape": [int(s) for s in t.shape],
    }


with open(sys.argv[1], "rb") as f:
    records = read_records(f)

print(json.dumps([
    {
        "features": {k: tensor(v) for k, v in r.features.items()},
        "label": {k: tensor(v) for k, v in r.label.items()},
        "uid": r.uid if r.HasField("uid") else None,
        "metadata": r.metadata if r.HasField("metadata") else None,
        "configuration": r.configuration if r.HasField("configuration") else None,
    }
    for r in records
]))
