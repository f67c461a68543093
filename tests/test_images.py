"""The upload path: every bad file gets a specific message, every odd-but-valid one an image."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from sslviz.data.uploads import ImageError, decode_image, to_tensor


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels (a decompression bomb's header)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


GOOD = {
    "rgb png": lambda: encode(Image.new("RGB", (20, 10), (255, 0, 0)), "PNG"),
    "cmyk jpeg": lambda: encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"),
    "16-bit png": lambda: encode(Image.fromarray(np.arange(256, dtype=np.uint16).reshape(16, 16) * 200), "PNG"),
    "palette gif with transparency": lambda: encode(Image.new("P", (8, 8), 0), "GIF", transparency=0),
    "rgba png": lambda: encode(Image.new("RGBA", (8, 8), (0, 0, 255, 128)), "PNG"),
    "la png": lambda: encode(Image.new("LA", (8, 8), (100, 50)), "PNG"),
    "1-bit png": lambda: encode(Image.new("1", (8, 8), 1), "PNG"),
    "1x1 png": lambda: encode(Image.new("RGB", (1, 1), (1, 2, 3)), "PNG"),
    "animated gif": lambda: encode(Image.new("P", (8, 8), 1), "GIF", save_all=True, append_images=[Image.new("P", (8, 8), 2)]),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_odd_but_valid_images_become_rgb(name):
    arr = decode_image(GOOD[name](), name)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3


def test_transparency_is_flattened_on_white():
    arr = decode_image(encode(Image.new("RGBA", (4, 4), (0, 0, 0, 0)), "PNG"))
    assert (arr == 255).all()


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (30, 10), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display
    arr = decode_image(encode(img, "JPEG", exif=exif.tobytes()))
    assert arr.shape[:2] == (30, 10)


def truncated_png() -> bytes:
    data = encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)), "PNG")
    return data[: len(data) // 2]


BAD = {
    "empty": (lambda: b"", "empty"),
    "text renamed .png": (lambda: b"hello, I am not an image", "not an image"),
    "svg": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not an image"),
    "truncated png": (truncated_png, "damaged or truncated"),
    "truncated jpeg": (lambda: encode(Image.new("RGB", (64, 64), (9, 9, 9)), "JPEG")[:200], "damaged or truncated"),
    "30000x30000 png header": (lambda: png_declaring(30000, 30000), "megapixels|too large"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_bad_files_get_specific_messages(name):
    make, match = BAD[name]
    with pytest.raises(ImageError, match=match):
        decode_image(make(), name)


def test_byte_limit():
    with pytest.raises(ImageError, match="limit is"):
        decode_image(b"x" * 2048, "big", max_bytes=1024)


def test_photo_sized_image_is_fine_and_resized():
    arr = decode_image(encode(Image.new("RGB", (4000, 3000), (10, 200, 30)), "JPEG"))
    x = to_tensor(arr, 96)
    assert x.shape == (1, 3, 96, 96) and 0 <= x.min() and x.max() <= 1
    assert to_tensor(arr, 28, channels=1).shape == (1, 1, 28, 28)
