"""The `mlbench serve` peer: a scikit-learn model served the way SageMaker's scikit-learn
container serves one — a Flask app under gunicorn sync workers — with the container's default
CSV decoding (numpy.genfromtxt, as sagemaker-containers' `_csv_to_numpy` does) and
`predict_proba` for the scores.

    GET  /ping         200, empty body
    POST /invocations  Content-Type text/csv, one or many rows of features (no label column)
                       -> application/json {"predictions": [{"score": p, "predicted_label": l}, ...]}

The model is the pickle named by MLBENCH_SERVE_MODEL (written by serve_peer.py), loaded once per
worker at import, as the container's model_fn is called once per worker.

MLBENCH_SERVE_PEER_CSV=loadtxt decodes with numpy.loadtxt instead (about 20x faster than genfromtxt
on one row here): a stronger peer than the container, for seeing how much of its time is decoding.
"""
import io
import json
import os
import pickle

import numpy as np
from flask import Flask, Response, request

with open(os.environ["MLBENCH_SERVE_MODEL"], "rb") as f:
    MODEL = pickle.load(f)

CSV_PARSER = os.environ.get("MLBENCH_SERVE_PEER_CSV", "genfromtxt")


def decode_csv(text: str) -> np.ndarray:
    if CSV_PARSER == "loadtxt":
        return np.loadtxt(io.StringIO(text), dtype=np.float32, delimiter=",", ndmin=2)
    return np.atleast_2d(np.genfromtxt(io.StringIO(text), dtype=np.float32, delimiter=","))


app = Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping():
    return Response(status=200)


@app.route("/invocations", methods=["POST"])
def invocations():
    if request.content_type is None or not request.content_type.startswith("text/csv"):
        return Response("expected text/csv\n", status=415, mimetype="text/plain")
    try:
        x = decode_csv(request.get_data(as_text=True))
        proba = MODEL.predict_proba(x)[:, 1]
    except Exception as e:  # a bad request is the client's problem, as in the container
        return Response(f"could not predict: {e}\n", status=400, mimetype="text/plain")
    labels = (proba > 0.5).astype(int)
    body = {"predictions": [{"score": float(p), "predicted_label": int(l)} for p, l in zip(proba, labels)]}
    return Response(json.dumps(body), status=200, mimetype="application/json")
