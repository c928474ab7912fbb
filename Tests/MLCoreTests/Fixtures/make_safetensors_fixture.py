#!/usr/bin/env python3
"""A safetensors file written by the reference implementation, for SafetensorsTests.

Run: .venv/bin/python Tests/MLCoreTests/Fixtures/make_safetensors_fixture.py
Writes: Tests/MLCoreTests/Fixtures/safetensors/reference.safetensors
"""
import os

import numpy as np
from safetensors.numpy import save_file

here = os.path.dirname(os.path.abspath(__file__))
tensors = {
    "weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,  # [[0, .25, .5], [.75, 1, 1.25]]
    "bias": np.array([-1.5, 2.0], dtype=np.float64),
    "counts": np.array([1, 2, 3], dtype=np.int64),
    "empty": np.zeros((0, 4), dtype=np.float32),
}
save_file(tensors, os.path.join(here, "safetensors", "reference.safetensors"), metadata={"format": "mlcore-test"})
