#!/usr/bin/env python3
"""Writes the image fixtures the MLCore image tests read, into Fixtures/images/.

Run from the repository root (Pillow and NumPy come from the setup script's virtual environment):

    .venv/bin/python Tests/MLCoreTests/Fixtures/images/make_image_fixtures.py

Seeds are fixed; rerunning rewrites the same bytes for the same Pillow/zlib/libjpeg-turbo versions.
The script also checks the decoding rules it documents against Pillow and prints what it found
(the JPEG comparison of libjpeg-turbo versions is done by the Swift tests against the .npy files).

Expected pixels: for an image NAME.png / NAME.jpg, NAME.rgb.npy is what the Swift decoder must
return for 3 channels (uint8, shape [H, W, 3]) and NAME.l.npy for 1 channel (uint8, [H, W]).
For 8-bit images they are Pillow's `Image.open(f).convert("RGB")` / `.convert("L")`. For 16-bit
PNGs they are computed with NumPy from the stored 16-bit samples by MLCore's rule,
round(v * 255 / 65535) (then Pillow's "L" formula for gray output from color), because Pillow's
own 16-bit rules differ (high byte for RGB/RGBA, clipping for gray): see docs/data-formats.md.

Files (all tiny):
  PNG, 8-bit, written by Pillow
    gray8.png          L, 7x5
    gray_alpha8.png    LA, 7x5 (alpha 0..255, dropped on decode)
    rgb8.png           RGB, 7x5
    rgba8.png          RGBA, 7x5 (some pixels fully transparent: their color is kept)
    palette4.png       P, 4-bit palette of 16 colors, 9x6
    palette_trns.png   P with a tRNS chunk (transparency dropped), 6x4
    gray1.png          1-bit (Pillow mode "1"), 9x3
  PNG written by this script's own chunk writer (Pillow cannot write 16-bit color)
    gray16_ramp.png    16-bit gray, 256x256, sample (y*256 + x): every 16-bit value once
                       (Sub filter, so it compresses to almost nothing); no .npy (the test
                       computes the rule per value)
    rgb16.png          16-bit RGB, 5x4, random
    rgba16.png         16-bit RGBA, 5x4, random (alpha dropped)
    gray_alpha16.png   16-bit gray+alpha, 5x4, random
    rgb8_gamma1.png    8-bit RGB (rgb8.png's pixels) with a gAMA chunk of 1.0: samples come back
                       as stored (libpng alone would gamma-correct them)
  JPEG, written by Pillow (its bundled libjpeg-turbo)
    gray.jpg           L, 16x12, quality 90
    rgb420.jpg         RGB, 17x13, 4:2:0, quality 90 (odd size: partial MCUs)
    rgb444.jpg         RGB, 17x13, 4:4:4, quality 90
    progressive.jpg    RGB, 17x13, 4:2:0, progressive
    cmyk.jpg           CMYK, 8x8 (refused: TurboJPEG cannot convert CMYK to RGB)
  Broken input (no .npy)
    truncated.png      rgb8.png cut in the middle of its IDAT chunk
    truncated.jpg      rgb420.jpg cut halfway through its entropy-coded data (after SOS)
    corrupt.png        rgb8.png with one IDAT byte flipped (CRC mismatch)
    corrupt.jpg        rgb420.jpg with its SOF0 precision byte set to 7
    lying_size.png     IHDR says 16x16, IDAT holds 16x8 rows
    zero_width.png     IHDR width 0
    huge_header.png    IHDR says 100000x100000 (one tiny IDAT): refused before allocating
    huge_header.jpg    SOF0 says 65000x65000 (gray.jpg otherwise): refused before allocating
    random.bin         64 random bytes
    empty.bin          0 bytes
  Resize references (the same formula as PixelImage.resized, in NumPy float32)
    resize_src_rgb.npy [9, 13, 3] random uint8; resize_src_gray.npy [11, 6] random uint8
    resize_rgb_WxH.npy, resize_gray_WxH.npy for the sizes in RESIZES
  MXNet image RecordIO
    images.rec         4 records packed as MXNet's recordio.pack does (struct '<IfQQ' header,
                       label vector when flag > 0) and framed as dmlc's RecordIOWriter does:
                       1. id 0, label 3 (flag 0), rgb444.jpg
                       2. id 1, labels [1, 0, 1] (flag 3), rgb8.png
                       3. id 7, id2 42, label 2, a PNG (rgb8.png's pixels) with a private chunk
                          that puts the RecordIO magic at two 4-aligned payload offsets, so the
                          record is written in three parts (cflag 1, 2, 3)
                       4. id 9, label vector [5] (flag 1), gray8.png
    images.json        what each record holds (labels, ids, flag, image fixture, parts)
  Encoder samples (written by MLCore itself, checked with Pillow by check_encoder_samples.py)
    encoded/           see that script
"""
import json
import os
import struct
import zlib

import numpy as np
from PIL import Image

out = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)


def path(name):
    return os.path.join(out, name)


def save_expected(name, image):
    """NAME.rgb.npy and NAME.l.npy from Pillow's conversions of an opened image."""
    stem = os.path.splitext(name)[0]
    np.save(path(stem + ".rgb.npy"), np.asarray(image.convert("RGB"), dtype=np.uint8))
    np.save(path(stem + ".l.npy"), np.asarray(image.convert("L"), dtype=np.uint8))


def pillow_fixture(name, image, **options):
    image.save(path(name), **options)
    with Image.open(path(name)) as reopened:
        reopened.load()
        save_expected(name, reopened)


# --- PNG by hand -------------------------------------------------------------------------------

def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bytes(samples, color_type, bit_depth, extra=b"", width=None, height=None, sub_filter=False):
    """A PNG of `samples` ([H, W, C] uint8 or uint16), one IDAT; every row filtered with filter
    0 (None) or, with sub_filter, 1 (Sub: each byte minus the byte one pixel to the left)."""
    h, w = samples.shape[:2]
    dtype = ">u2" if bit_depth == 16 else "u1"
    rows = samples.astype(dtype).reshape(h, -1)
    if sub_filter:
        bpp = samples.shape[2] * (2 if bit_depth == 16 else 1)
        raw = b""
        for row in rows:
            b = np.frombuffer(row.tobytes(), dtype=np.uint8).astype(np.int64)
            left = np.concatenate([np.zeros(bpp, dtype=np.int64), b[:-bpp]])
            raw += b"\x01" + ((b - left) % 256).astype(np.uint8).tobytes()
    else:
        raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    ihdr = struct.pack(">IIBBBBB", width if width is not None else w, height if height is not None else h,
                       bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def scale16(v):
    """MLCore's 16-bit rule: round(v * 255 / 65535), exact in integers (no ties occur)."""
    return ((v.astype(np.int64) * 255 + 32767) // 65535).astype(np.uint8)


def luma(rgb):
    """Pillow's convert("L"): (R*19595 + G*38470 + B*7471 + 0x8000) >> 16."""
    r, g, b = (rgb[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def save_16bit(name, samples, color_type):
    with open(path(name), "wb") as f:
        f.write(png_bytes(samples, color_type, 16))
    eight = scale16(samples)
    if color_type in (0, 4):     # gray, gray+alpha
        gray = eight[..., 0]
        rgb = np.repeat(gray[..., None], 3, axis=2)
    else:                        # RGB, RGBA
        rgb = eight[..., :3]
        gray = luma(rgb)
    stem = os.path.splitext(name)[0]
    np.save(path(stem + ".rgb.npy"), rgb)
    np.save(path(stem + ".l.npy"), gray)
    # How far Pillow's own rule is (it keeps the high byte for RGB/RGBA).
    if color_type in (2, 6):
        with Image.open(path(name)) as im:
            theirs = np.asarray(im.convert("RGB")).astype(int)
        assert np.array_equal(theirs, (samples[..., :3] >> 8)), name
        diff = np.abs(theirs - rgb.astype(int))
        print(f"{name}: Pillow keeps the high byte; differs from round(v*255/65535) by <= {diff.max()} "
              f"in {np.count_nonzero(diff)} of {diff.size} samples")


# Pillow's convert("L") is exactly luma() above (checked on 65,536 random colors).
colors = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
assert np.array_equal(np.asarray(Image.fromarray(colors, "RGB").convert("L")), luma(colors))

# 8-bit PNGs through Pillow.
gray = rng.integers(0, 256, (5, 7), dtype=np.uint8)
rgb = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
alpha = rng.integers(0, 256, (5, 7), dtype=np.uint8)
alpha[0, :3] = 0
pillow_fixture("gray8.png", Image.fromarray(gray, "L"))
pillow_fixture("gray_alpha8.png", Image.fromarray(np.dstack([gray, alpha]), "LA"))
pillow_fixture("rgb8.png", Image.fromarray(rgb, "RGB"))
pillow_fixture("rgba8.png", Image.fromarray(np.dstack([rgb, alpha]), "RGBA"))

palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
indices = rng.integers(0, 16, (6, 9), dtype=np.uint8)
p = Image.fromarray(indices, "P")
p.putpalette(palette.flatten().tolist())
pillow_fixture("palette4.png", p, bits=4)

indices_t = rng.integers(0, 4, (4, 6), dtype=np.uint8)
pt = Image.fromarray(indices_t, "P")
pt.putpalette([200, 10, 10, 10, 200, 10, 10, 10, 200, 250, 250, 0])
pillow_fixture("palette_trns.png", pt, transparency=1)

bits = (rng.integers(0, 2, (3, 9)) * 255).astype(np.uint8)
pillow_fixture("gray1.png", Image.fromarray(bits, "L").convert("1"))

# 16-bit PNGs by hand.
ramp = np.arange(65536, dtype=np.uint16).reshape(256, 256, 1)
with open(path("gray16_ramp.png"), "wb") as f:
    f.write(png_bytes(ramp, 0, 16, sub_filter=True))
save_16bit("rgb16.png", rng.integers(0, 65536, (4, 5, 3)).astype(np.uint16), 2)
save_16bit("rgba16.png", rng.integers(0, 65536, (4, 5, 4)).astype(np.uint16), 6)
save_16bit("gray_alpha16.png", rng.integers(0, 65536, (4, 5, 2)).astype(np.uint16), 4)

# gAMA 1.0 (100000 in PNG units): samples must come back as stored, as Pillow returns them.
with open(path("rgb8_gamma1.png"), "wb") as f:
    f.write(png_bytes(rgb, 2, 8, extra=chunk(b"gAMA", struct.pack(">I", 100000))))
with Image.open(path("rgb8_gamma1.png")) as im:
    assert np.array_equal(np.asarray(im.convert("RGB")), rgb)
    save_expected("rgb8_gamma1.png", im)

# --- JPEG through Pillow -----------------------------------------------------------------------

# Smooth content (JPEG's kind of image) with some noise, so every coefficient path is exercised.
yy, xx = np.mgrid[0:13, 0:17]
smooth = np.dstack([(xx * 15) % 256, (yy * 19) % 256, ((xx + yy) * 7) % 256]).astype(np.int64)
photo = np.clip(smooth + rng.integers(-20, 21, smooth.shape), 0, 255).astype(np.uint8)
gray_photo = np.clip(np.mgrid[0:12, 0:16][1] * 16 + rng.integers(-10, 11, (12, 16)), 0, 255).astype(np.uint8)
pillow_fixture("gray.jpg", Image.fromarray(gray_photo, "L"), quality=90)
pillow_fixture("rgb420.jpg", Image.fromarray(photo, "RGB"), quality=90, subsampling=2)
pillow_fixture("rgb444.jpg", Image.fromarray(photo, "RGB"), quality=90, subsampling=0)
pillow_fixture("progressive.jpg", Image.fromarray(photo, "RGB"), quality=90, subsampling=2, progressive=True)
Image.fromarray(rng.integers(0, 256, (8, 8, 4), dtype=np.uint8), "CMYK").save(path("cmyk.jpg"), quality=90)

# --- Broken input ------------------------------------------------------------------------------

def read(name):
    with open(path(name), "rb") as f:
        return f.read()


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def chunk_offset(png, kind):
    offset = 8
    while offset < len(png):
        length, = struct.unpack(">I", png[offset:offset + 4])
        if png[offset + 4:offset + 8] == kind:
            return offset, length
        offset += 12 + length
    raise ValueError(kind)


rgb_png = read("rgb8.png")
idat, idat_length = chunk_offset(rgb_png, b"IDAT")
write("truncated.png", rgb_png[:idat + 8 + idat_length // 2])
flipped = bytearray(rgb_png)
flipped[idat + 8 + idat_length // 2] ^= 0xFF
write("corrupt.png", bytes(flipped))

jpeg = read("rgb420.jpg")
sos = jpeg.index(b"\xff\xda")
write("truncated.jpg", jpeg[:sos + (len(jpeg) - sos) // 2])
sof = jpeg.index(b"\xff\xc0")
bad = bytearray(jpeg)
bad[sof + 4] = 7            # SOF0: length (2 bytes), then precision
write("corrupt.jpg", bytes(bad))

half = rng.integers(0, 256, (8, 16, 3), dtype=np.uint8)
full_header = png_bytes(half, 2, 8, height=16)
write("lying_size.png", full_header)
write("zero_width.png", png_bytes(half, 2, 8, width=0))
write("huge_header.png", png_bytes(half[:1, :1], 2, 8, width=100000, height=100000))

gray_jpeg = bytearray(read("gray.jpg"))
sof = gray_jpeg.index(b"\xff\xc0")
gray_jpeg[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)   # height, width
write("huge_header.jpg", bytes(gray_jpeg))

write("random.bin", rng.integers(0, 256, 64, dtype=np.uint8).tobytes())
write("empty.bin", b"")

# Pillow refuses all of these but one: it returns lying_size.png with its missing rows black
# (MLCore refuses it: libpng's "Not enough image data").
for name in ["truncated.png", "corrupt.png", "truncated.jpg", "corrupt.jpg", "lying_size.png",
             "zero_width.png", "random.bin", "empty.bin"]:
    try:
        with Image.open(path(name)) as im:
            im.load()
        assert name == "lying_size.png", f"Pillow decoded {name}"
        print(f"{name}: Pillow decodes it silently ({im.size[0]}x{im.size[1]}, missing rows zero)")
    except (OSError, SyntaxError, ValueError, Image.UnidentifiedImageError):
        assert name != "lying_size.png"

# --- Resize references -------------------------------------------------------------------------

RESIZES = [(5, 4), (29, 17), (13, 20), (1, 1), (26, 9), (3, 11)]


def resize(src, width, height):
    """PixelImage.resized: OpenCV INTER_LINEAR mapping, Float math in MLCore's order."""
    def taps(n_in, n_out):
        scale = n_in / n_out
        f = (np.arange(n_out) + 0.5) * scale - 0.5
        i = np.floor(f)
        a = f - i
        i = i.astype(np.int64)
        low = i < 0
        i[low], a[low] = 0, 0.0
        high = i >= n_in - 1
        i[high], a[high] = n_in - 1, 0.0
        w1 = a.astype(np.float32)
        w0 = np.float32(1) - w1
        return i, np.minimum(i + 1, n_in - 1), w0, w1

    if src.ndim == 2:
        src = src[..., None]
    h_in, w_in, c = src.shape
    x0, x1, wx0, wx1 = taps(w_in, width)
    y0, y1, wy0, wy1 = taps(h_in, height)
    s = src.astype(np.float32)
    horizontal = wx0[None, :, None] * s[:, x0, :] + wx1[None, :, None] * s[:, x1, :]     # [H_in, W, C]
    v = wy0[:, None, None] * horizontal[y0] + wy1[:, None, None] * horizontal[y1]         # [H, W, C]
    out = np.minimum(v + np.float32(0.5), np.float32(255)).astype(np.uint8)              # truncates
    assert v.dtype == np.float32
    return out


src_rgb = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
src_gray = rng.integers(0, 256, (11, 6), dtype=np.uint8)
np.save(path("resize_src_rgb.npy"), src_rgb)
np.save(path("resize_src_gray.npy"), src_gray)
for w, h in RESIZES:
    np.save(path(f"resize_rgb_{w}x{h}.npy"), resize(src_rgb, w, h))
    np.save(path(f"resize_gray_{w}x{h}.npy"), resize(src_gray, w, h)[..., 0])

# --- MXNet image RecordIO ----------------------------------------------------------------------

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)


def mxnet_pack(flag_label, ident, ident2, image):
    """mxnet.recordio.pack(IRHeader(flag, label, id, id2), s): a number label goes into the
    header (flag 0); an array label sets flag to its size, label to 0, and precedes s."""
    if isinstance(flag_label, (int, float)):
        return struct.pack("<IfQQ", 0, float(flag_label), ident, ident2) + image
    labels = np.asarray(flag_label, dtype=np.float32)
    return struct.pack("<IfQQ", labels.size, 0.0, ident, ident2) + labels.tobytes() + image


def dmlc_write_record(buf):
    """dmlc::RecordIOWriter::WriteRecord: split at every 4-aligned magic, dropping it."""
    out = b""
    lower_align = (len(buf) >> 2) << 2
    upper_align = ((len(buf) + 3) >> 2) << 2
    dptr = 0
    parts = 1
    for i in range(0, lower_align, 4):
        if buf[i:i + 4] == MAGIC_BYTES:
            cflag = 1 if dptr == 0 else 2
            out += struct.pack("<II", MAGIC, (cflag << 29) | (i - dptr)) + buf[dptr:i]
            dptr = i + 4
            parts += 1
    cflag = 3 if dptr != 0 else 0
    out += struct.pack("<II", MAGIC, (cflag << 29) | (len(buf) - dptr)) + buf[dptr:]
    out += b"\x00" * (upper_align - len(buf))
    return out, parts


def png_with_magic(pixels, header_length):
    """rgb8's pixels as a PNG whose private ancillary chunk 'prIv' holds the magic number at two
    offsets that are 4-aligned within the record payload (header_length bytes precede the PNG)."""
    plain = png_bytes(pixels, 2, 8)
    ihdr_end = 8 + 25
    data_start = header_length + ihdr_end + 8          # payload offset of the chunk's data
    pad = (-data_start) % 4
    data = b"\x00" * pad + MAGIC_BYTES + b"ML" * 4 + MAGIC_BYTES + b"core"
    return plain[:ihdr_end] + chunk(b"prIv", data) + plain[ihdr_end:]


records = [
    (3, 0, 0, read("rgb444.jpg"), "rgb444.jpg"),
    ([1, 0, 1], 1, 0, read("rgb8.png"), "rgb8.png"),
    (2, 7, 42, png_with_magic(rgb, 24), "rgb8.png"),
    ([5], 9, 0, read("gray8.png"), "gray8.png"),
]
stream = b""
described = []
for label, ident, ident2, image, source in records:
    payload = mxnet_pack(label, ident, ident2, image)
    framed, parts = dmlc_write_record(payload)
    stream += framed
    described.append({
        "labels": [float(x) for x in (label if isinstance(label, list) else [label])],
        "flag": len(label) if isinstance(label, list) else 0,
        "id": ident, "id2": ident2, "pixels": source, "parts": parts,
        "image_bytes": len(image),
    })
assert described[2]["parts"] == 3, described[2]
write("images.rec", stream)
with Image.open(path("rgb8.png")) as a, Image.open(__import__("io").BytesIO(records[2][3])) as b:
    assert np.array_equal(np.asarray(a), np.asarray(b)), "the prIv chunk must not change the pixels"
with open(path("images.json"), "w") as f:
    json.dump(described, f, indent=1)
    f.write("\n")

total = sum(os.path.getsize(path(n)) for n in os.listdir(out) if os.path.isfile(path(n)))
print(f"wrote {len(os.listdir(out))} files, {total} bytes")
