"""The one validation path for every image a user gives the app (uploads).

``decode_image(data, name)`` returns an H×W×3 uint8 array or raises :class:`ImageError` with a
specific, user-facing message. It refuses oversized files and decompression bombs *before*
decoding pixels, applies EXIF orientation, flattens transparency onto white, takes the first
frame of animations and of MPO files (the multi-picture JPEGs many phones write) and normalises every
mode (CMYK, P, LA, RGBA, I;16, I, F, 1) to RGB. HEIC/HEIF photos (the iPhone's default) are read when
pillow-heif is installed; otherwise they get a message that says how to convert them.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # ~ a 7,700×5,200 photo; bigger declared sizes are refused unread
ALLOWED_FORMATS = ("PNG", "JPEG", "MPO", "GIF", "BMP", "WEBP", "TIFF")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "mpo", "gif", "bmp", "webp", "tif", "tiff", "heic", "heif"]  # what the uploaders accept by name
# ISO base-media "ftyp" brands of HEIC/HEIF stills (bytes 8-12 of the file)
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")

try:  # optional: pillow-heif teaches Pillow to open HEIC/HEIF
    from pillow_heif import register_heif_opener

    register_heif_opener()
    ALLOWED_FORMATS = (*ALLOWED_FORMATS, "HEIF")
    HEIF_READABLE = True
except ImportError:
    HEIF_READABLE = False

HEIF_MESSAGE = ("is a HEIC/HEIF photo (the iPhone's default format), which this server cannot read (pip install pillow-heif adds it). "
                "Convert it to JPEG first: on the iPhone choose Settings → Camera → Formats → Most Compatible, or open it in Preview "
                "(Mac) or Photos (Windows) and export as JPEG.")


class ImageError(ValueError):
    """An uploaded file that cannot be used; the message says why, for the user."""


def is_heif(data: bytes) -> bool:
    """Whether ``data`` starts like a HEIC/HEIF still image (an ISO box "ftyp" with a HEIF brand)."""
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


def decode_image(data: bytes, name: str = "upload", max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
                 draft: int | None = None) -> np.ndarray:
    """Decode untrusted bytes into an RGB uint8 array (H×W×3), or raise ImageError.

    ``draft``: the side the caller will shrink to; a JPEG is then decoded at the smallest of 1/2, 1/4 or
    1/8 scale that keeps both sides >= 2×draft (libjpeg's DCT scaling: thousands of phone photos decode in
    seconds instead of minutes).
    """
    if not data:
        raise ImageError(f"{name}: the file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise ImageError(f"{name}: the file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
    if is_heif(data) and not HEIF_READABLE:
        raise ImageError(f"{name} {HEIF_MESSAGE}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
            if img.format not in ALLOWED_FORMATS:
                raise ImageError(f"{name}: {img.format} images are not supported; use one of {', '.join(ALLOWED_FORMATS)}.")
            width, height = img.size
            if width * height > max_pixels:
                raise ImageError(f"{name}: the image declares {width}×{height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels.")
            if width < 1 or height < 1:
                raise ImageError(f"{name}: the image has no pixels ({width}×{height}).")
            if getattr(img, "is_animated", False):
                img.seek(0)  # animations and MPO: the first frame (an MPO's first picture is the photo itself)
            if draft and img.format in ("JPEG", "MPO"):
                img.draft("RGB", (2 * draft, 2 * draft))
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: the image is too large to decode safely (possible decompression bomb).") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: this is not an image file we can read (PNG, JPEG, MPO, GIF, BMP, WEBP or TIFF).") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"{name}: the image file is damaged or truncated ({err}).") from None


def _to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
        return np.repeat(arr.astype(np.uint8)[..., None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA")
    elif mode in ("LA", "PA", "La"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def to_tensor(rgb: np.ndarray, size: int, channels: int = 3) -> torch.Tensor:
    """Centre-crop to a square, resize to size×size, return 1×C×size×size floats in [0, 1]."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 array, got shape {rgb.shape}.")
    h, w = rgb.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    x = torch.from_numpy(rgb[top : top + s, left : left + s]).permute(2, 0, 1).float().div(255).unsqueeze(0)
    x = F.interpolate(x, size=(size, size), mode="area" if s > size else "bilinear", **({} if s > size else {"align_corners": False}))
    if channels == 1:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    return x.clamp(0, 1)
