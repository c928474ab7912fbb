#!/usr/bin/env python3
"""Writes the bundled image-classification data sets (data/digits-images, data/shapes).

Both are deterministic (numpy default_rng with fixed seeds, Pillow's PNG/JPEG writers with fixed
settings); rerun to regenerate, from the repository root:

    .venv/bin/python scripts/make_image_datasets.py

data/digits-images/{train,validation}.rec
    scikit-learn's handwritten digits (load_digits: 8x8 gray, values 0-16) as MXNet image
    RecordIO, the format SageMaker's image classifier trains on by default: one record per
    image, IRHeader (struct '<IfQQ': flag 0, label, id = row index, id2 0) followed by the image
    as a PNG (gray, 8x8, value round(v * 255 / 16)), framed with dmlc RecordIO exactly as
    MXNet's im2rec writes it (magic 0xCED7230A, lrec = cflag << 29 | length, payload padded to 4
    bytes, a payload that contains the magic at a 4-aligned offset split into parts -- written
    here by an independent implementation of dmlc's writer). The split is the one
    scripts/export_datasets.py uses for data/digits (train_test_split(test_size=0.2,
    random_state=0, stratify=y)): 1,437 train and 360 validation images, in the same order as
    data/digits/{train,validation}.csv.

data/shapes/{train,validation}/<class>/<nnnn>.png and data/shapes/{train,validation}.lst
    A synthetic 6-class task of 32x32 RGB images: a filled shape (circle, square, triangle,
    plus, ring, star) of random size (radius 8-13 px), position (centre within 4 px of the
    middle), rotation (any for triangle/square/star; none needed for circle/ring/plus) and
    bright colour (each channel 140-255) on a random dark background (each channel 0-89), drawn
    at 4x and downsampled (Lanczos), then Gaussian noise (sigma 8 on the 0-255 scale) and
    clipping. A few images of every class get a random
    distractor line. The .lst files are MXNet's: "index<TAB>label<TAB>relative/path" with paths
    relative to the split's directory, labels 0-5 in the class order above. 1,200 train and 600
    validation images; seed 20261207 (train) and 20261208 (validation). Every 10th image is
    written as JPEG (quality 92) instead of PNG, so the set exercises both decoders.
"""
import io
import math
import os
import struct

import numpy as np
from PIL import Image, ImageDraw
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MAGIC = 0xCED7230A
CLASSES = ["circle", "square", "triangle", "plus", "ring", "star"]
SIDE = 32


def dmlc_record(payload: bytes) -> bytes:
    """dmlc::RecordIOWriter::WriteRecord's bytes for one payload."""
    out = bytearray()
    magic = struct.pack("<I", MAGIC)
    lower_align = len(payload) & ~3
    start = 0
    split = False
    for offset in range(0, lower_align, 4):
        if payload[offset:offset + 4] == magic:
            flag = 2 if split else 1
            out += magic + struct.pack("<I", (flag << 29) | (offset - start)) + payload[start:offset]
            start = offset + 4
            split = True
    flag = 3 if split else 0
    out += magic + struct.pack("<I", (flag << 29) | (len(payload) - start)) + payload[start:]
    out += b"\x00" * (((len(payload) + 3) & ~3) - len(payload))
    return bytes(out)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def write_digits() -> None:
    digits = load_digits()
    x, y = digits.data, digits.target
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    out_dir = os.path.join(ROOT, "data", "digits-images")
    os.makedirs(out_dir, exist_ok=True)
    for name, xs, ys in [("train", x_train, y_train), ("validation", x_val, y_val)]:
        with open(os.path.join(out_dir, f"{name}.rec"), "wb") as f:
            for i, (row, label) in enumerate(zip(xs, ys)):
                pixels = np.round(row.reshape(8, 8) * 255.0 / 16.0).astype(np.uint8)
                header = struct.pack("<IfQQ", 0, float(label), i, 0)
                f.write(dmlc_record(header + png_bytes(Image.fromarray(pixels, mode="L"))))
        print(f"data/digits-images/{name}.rec: {len(ys)} images")


def polygon(cx, cy, radius, sides, angle, inner=None):
    points = []
    count = sides * (2 if inner else 1)
    for k in range(count):
        r = radius if inner is None or k % 2 == 0 else radius * inner
        a = angle + 2 * math.pi * k / count
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return points


def shape_image(rng: np.random.Generator, label: int) -> Image.Image:
    scale = 4
    big = SIDE * scale
    # A dark background and a bright shape of any hue, so the shape is always visible.
    background = tuple(int(v) for v in rng.integers(0, 90, size=3))
    colour = tuple(int(v) for v in rng.integers(140, 256, size=3))
    image = Image.new("RGB", (big, big), background)
    draw = ImageDraw.Draw(image)
    radius = rng.uniform(8, 13) * scale
    cx = (SIDE / 2 + rng.uniform(-4, 4)) * scale
    cy = (SIDE / 2 + rng.uniform(-4, 4)) * scale
    angle = rng.uniform(0, 2 * math.pi)
    name = CLASSES[label]
    if name == "circle":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
    elif name == "square":
        draw.polygon(polygon(cx, cy, radius * 1.1, 4, angle), fill=colour)
    elif name == "triangle":
        draw.polygon(polygon(cx, cy, radius * 1.15, 3, angle), fill=colour)
    elif name == "plus":
        w = radius * 0.35
        draw.rectangle([cx - radius, cy - w, cx + radius, cy + w], fill=colour)
        draw.rectangle([cx - w, cy - radius, cx + w, cy + radius], fill=colour)
    elif name == "ring":
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=colour)
        r = radius * 0.55
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=background)
    else:  # star
        draw.polygon(polygon(cx, cy, radius * 1.15, 5, angle, inner=0.45), fill=colour)
    if rng.random() < 0.15:
        line = tuple(int(v) for v in rng.integers(0, 256, size=3))
        x0, y0, x1, y1 = (float(v) * scale for v in rng.uniform(0, SIDE, size=4))
        draw.line([x0, y0, x1, y1], fill=line, width=scale)
    small = image.resize((SIDE, SIDE), Image.LANCZOS)
    pixels = np.asarray(small).astype(np.float64) + rng.normal(0, 8, size=(SIDE, SIDE, 3))
    return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8), mode="RGB")


def write_shapes() -> None:
    out_dir = os.path.join(ROOT, "data", "shapes")
    for name, count, seed in [("train", 1200, 20261207), ("validation", 600, 20261208)]:
        rng = np.random.default_rng(seed)
        lines = []
        for i in range(count):
            label = int(rng.integers(0, len(CLASSES)))
            image = shape_image(rng, label)
            ext = "jpg" if i % 10 == 9 else "png"
            relative = f"{CLASSES[label]}/{i:04d}.{ext}"
            path = os.path.join(out_dir, name, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if ext == "png":
                with open(path, "wb") as f:
                    f.write(png_bytes(image))
            else:
                image.save(path, format="JPEG", quality=92)
            lines.append(f"{i}\t{label}\t{relative}\n")
        with open(os.path.join(out_dir, f"{name}.lst"), "w") as f:
            f.writelines(lines)
        print(f"data/shapes/{name}: {count} images, {name}.lst")


if __name__ == "__main__":
    write_digits()
    write_shapes()
