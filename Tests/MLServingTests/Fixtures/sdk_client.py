"""Talks to a running `mlc serve` with the SageMaker Python SDK v2's own serializers and
deserializers, as `sagemaker.predictor.Predictor` would, and prints what each combination
decoded as one JSON object: {"<serializer>-><deserializer>": [[score, predicted_label], ...]}.

Usage: sdk_client.py URL ROWS_JSON   (ROWS_JSON: a JSON list of feature rows)

Run by MLServingTests (LinearLearnerServingTests); the Swift side compares every list with the
library's predictions. Plain urllib carries the bytes: Predictor needs AWS credentials and a
SageMaker endpoint, but the bytes it would send are exactly serializer.serialize(data).
"""
import io
import json
import sys
import urllib.request

import numpy as np
from sagemaker.amazon.common import RecordDeserializer, RecordSerializer
from sagemaker.deserializers import JSONDeserializer, JSONLinesDeserializer
from sagemaker.serializers import CSVSerializer, JSONLinesSerializer, JSONSerializer, NumpySerializer


def post(url, body, content_type, accept):
    if isinstance(body, io.BytesIO):
        body = body.getvalue()
    if isinstance(body, str):
        body = body.encode("utf-8")
    request = urllib.request.Request(url + "/invocations", data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), response.headers.get("Content-Type")


def rows_from(deserialized, kind):
    if kind == "json":
        return [[p["score"], p["predicted_label"]] for p in deserialized["predictions"]]
    if kind == "jsonlines":
        return [[p["score"], p["predicted_label"]] for p in deserialized]
    return [[r.label["score"].float32_tensor.values[0], r.label["predicted_label"].float32_tensor.values[0]]
            for r in deserialized]


def main():
    url, rows = sys.argv[1], json.loads(open(sys.argv[2]).read())
    x = np.array(rows, dtype="float32")
    payloads = {
        "csv": (CSVSerializer(), x),
        "json": (JSONSerializer(), {"instances": [{"features": r} for r in rows]}),
        "jsonlines": (JSONLinesSerializer(), [{"features": r} for r in rows]),
        "recordio": (RecordSerializer(), x),
        "npy": (NumpySerializer(), x),
    }
    readers = {"json": JSONDeserializer(), "jsonlines": JSONLinesDeserializer(), "recordio": RecordDeserializer()}
    out = {}
    for name, (serializer, data) in payloads.items():
        for kind, deserializer in readers.items():
            accept = deserializer.ACCEPT[0] if isinstance(deserializer.ACCEPT, tuple) else deserializer.ACCEPT
            body, content_type = post(url, serializer.serialize(data), serializer.CONTENT_TYPE, accept)
            decoded = deserializer.deserialize(io.BytesIO(body), content_type)
            out[f"{name}->{kind}"] = [[float(s), float(l)] for s, l in rows_from(decoded, kind)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
