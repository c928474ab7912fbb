#!/usr/bin/env python3
"""Checks with Pillow the images MLCore's encoder wrote, and records what Pillow reads.

MLCore writes the samples (PixelImage.pngData / jpegData) when a test run names a directory:

    MLCORE_WRITE_IMAGE_SAMPLES=$PWD/Tests/MLCoreTests/Fixtures/images/encoded \\
        swift test -c release --filter "Image encoding"
    .venv/bin/python Tests/MLCoreTests/Fixtures/images/check_encoder_samples.py

Files in encoded/:
  rgb.png             the 23x17 RGB pattern below, written by PixelImage.pngData()
  gray.png            its gray conversion (Pillow's "L" formula), written by pngData()
  rgb_q90.jpg         the pattern, PixelImage.jpegData(quality: 90, subsampling: .yuv420)
  rgb_q90.pillow.npy  what Pillow decodes rgb_q90.jpg to (uint8 [17, 23, 3]); the Swift test
                      expects MLCore's decoder to read the same pixels

Checks: Pillow reads both PNGs as exactly the pattern (mode RGB and L); the JPEG is a 4:2:0
baseline JPEG of the right size within JPEG's loss of the pattern.
"""
import os

import numpy as np
from PIL import Image

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "encoded")

# ImageEncodingTests.samplePatterns, in NumPy.
width, height = 23, 17
y, x, c = np.mgrid[0:height, 0:width, 0:3]
pattern = (x * 4 + y * (4 + c) + c * 30).astype(np.uint8)     # <= 244: smooth
r, g, b = (pattern[..., i].astype(np.int64) for i in range(3))
gray = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)

with Image.open(os.path.join(here, "rgb.png")) as im:
    assert im.mode == "RGB", im.mode
    assert np.array_equal(np.asarray(im), pattern), "rgb.png differs from the pattern"
with Image.open(os.path.join(here, "gray.png")) as im:
    assert im.mode == "L", im.mode
    assert np.array_equal(np.asarray(im), gray), "gray.png differs from the pattern's gray"
with Image.open(os.path.join(here, "rgb_q90.jpg")) as im:
    assert im.mode == "RGB" and im.size == (width, height), (im.mode, im.size)
    assert im.layer[1][1:3] == (1, 1) and im.layer[0][1:3] == (2, 2), im.layer   # 4:2:0
    assert "progressive" not in im.info
    decoded = np.asarray(im)
error = np.abs(decoded.astype(int) - pattern.astype(int))
print(f"rgb_q90.jpg: mean |error| {error.mean():.2f}, max {error.max()} against the pattern")
assert error.mean() < 3 and error.max() < 16
np.save(os.path.join(here, "rgb_q90.pillow.npy"), decoded)
print("encoder samples check out with Pillow", Image.__version__)
