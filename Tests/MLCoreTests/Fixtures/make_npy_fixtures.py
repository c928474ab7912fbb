#!/usr/bin/env python3
"""Writes the small .npy fixtures NPYReaderTests reads, into Fixtures/npy/.

Run from the repository root:  .venv/bin/python Tests/MLCoreTests/Fixtures/make_npy_fixtures.py

Every array is integer-valued or a dyadic fraction (k/4), so its float32 and float64 values are
exact and the tests state them with plain loops. The files are committed; rerun this script only
to change them (numpy writes the same bytes for the same arrays and version).
"""
import os

import numpy as np
from numpy.lib import format as npy_format

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")
os.makedirs(out, exist_ok=True)


def save(name, array, version=None):
    path = os.path.join(out, name)
    if version is None:
        np.save(path, array)
    else:
        with open(path, "wb") as f:
            npy_format.write_array(f, array, version=version)


# value(i) = i * 0.25 - 2 in row-major order; exact in float32 and float64.
def ramp(shape, dtype):
    n = int(np.prod(shape))
    return (np.arange(n) * 0.25 - 2).reshape(shape).astype(dtype)


save("f4_3x4.npy", ramp((3, 4), "<f4"))                      # v1.0, float32, 2-D
save("f8_5.npy", ramp((5,), "<f8"))                          # v1.0, float64, 1-D
save("i4_2x2x3.npy", np.arange(12, dtype="<i4").reshape(2, 2, 3) - 6)   # int32, 3-D
save("i8_4x2.npy", (np.arange(8, dtype="<i8") - 4).reshape(4, 2) * 1_000_000_007)  # int64
save("u1_2x1x2x3.npy", np.arange(12, dtype="u1").reshape(2, 1, 2, 3) * 20)  # uint8, [N,C,H,W]
save("f4_scalar.npy", np.array(3.5, dtype="<f4"))           # shape ()
save("f8_0x3.npy", np.zeros((0, 3), dtype="<f8"))           # no rows
save("be_f4_3x4.npy", ramp((3, 4), ">f4"))                   # big-endian float32
save("be_i8_3.npy", np.array([-1, 2, 1 << 40], dtype=">i8"))  # big-endian int64
save("f4_3x4_v2.npy", ramp((3, 4), "<f4"), version=(2, 0))   # v2.0 header
save("f4_3x4_v3.npy", ramp((3, 4), "<f4"), version=(3, 0))   # v3.0 (utf-8) header
save("f8_fortran_3x2.npy", np.asfortranarray(ramp((3, 2), "<f8")))  # rejected: Fortran order
save("f2_2.npy", np.array([1, 2], dtype="<f2"))             # rejected: float16

total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
print(f"wrote {len(os.listdir(out))} files, {total} bytes, numpy {np.__version__}")
