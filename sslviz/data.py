"""Datasets as tensors, generated or bundled, so the app runs offline on a fresh machine.

Every dataset is returned as a :class:`Dataset`: float images in [0, 1] shaped N×C×H×W,
integer class labels, per-image attributes and captions. Nothing is downloaded.

- ``digits``: scikit-learn's 1,797 8×8 handwritten digits, upscaled to 28×28. The train/test
  split is fixed (it never depends on the seed), so accuracies are comparable across runs.
- ``shapes``: procedural coloured shapes (circle, square, triangle, cross) with random colour,
  size, position and rotation on 32×32 RGB. The class is the shape, which raw pixels do not
  reveal well, so self-supervised features visibly beat pixels. Deterministic per seed.
- ``photos``: 32×32 RGB crops (random position and scale) of the two sample photographs that
  ship with scikit-learn (a temple and a flower); the label is the photograph. Train crops come
  from the left 75% of each photo, test crops from the right 25%, so no test pixel was seen in
  training. For colorization and inpainting: natural colours and textures. Deterministic per seed.
- ``clutter``: the hard one, built for label efficiency. Six shapes (``shapes``' four, a ring and
  a diamond) on a smooth random colour texture, with two small distractor shapes and pixel
  noise; 6,000 train images. With a handful of labels a network trained from scratch latches on
  to the clutter; an encoder pre-trained on all the unlabelled images does not. Deterministic per seed.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

DATASETS = ("digits", "shapes", "photos", "clutter")
SPLITS = ("train", "test")

SHAPE_NAMES = ("circle", "square", "triangle", "cross")
# Named colours (RGB in [0, 1]) so captions can say them; all pairs are distinguishable
# by colour-blind viewers by lightness as well as hue.
COLOURS = {
    "red": (0.86, 0.15, 0.15),
    "green": (0.20, 0.70, 0.25),
    "blue": (0.20, 0.35, 0.90),
    "yellow": (0.95, 0.85, 0.15),
    "purple": (0.60, 0.25, 0.75),
    "white": (0.95, 0.95, 0.95),
}
SHAPES_SIZE = 32
SHAPES_COUNTS = {"train": 3000, "test": 1000}
CLUTTER_NAMES = SHAPE_NAMES + ("ring", "diamond")
CLUTTER_COUNTS = {"train": 6000, "test": 1500}
CLUTTER_TEXTURE, CLUTTER_DISTRACTORS, CLUTTER_NOISE = 0.7, 2, 0.05  # background range, small shapes per image, pixel noise std
DIGITS_SIZE = 28
DIGITS_TEST_FRACTION = 0.3
PHOTOS_SIZE = 32
PHOTOS_COUNTS = {"train": 2000, "test": 500}
PHOTOS_NAMES = ("temple", "flower")  # scikit-learn's china.jpg and flower.jpg
PHOTOS_TRAIN_FRACTION = 0.75  # of each photo's width


@dataclass(frozen=True)
class Dataset:
    """Images with labels, attributes and captions.

    images: float32 tensor N×C×H×W in [0, 1]; labels: int64 tensor N;
    attributes: name -> array of N values; captions: N strings; class_names: label -> name.
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    captions: tuple[str, ...] = ()

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def image_size(self) -> int:
        return self.images.shape[-1]


def load(name: str = "digits", split: str = "train", seed: int = 0) -> Dataset:
    """Return the ``split`` of dataset ``name``; ``seed`` only affects generated datasets.

    Raises ValueError naming the valid choices for an unknown dataset or split.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Available datasets: {', '.join(DATASETS)}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}. Use one of: {', '.join(SPLITS)}.")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    if name == "digits":
        return _digits(split)
    if name == "photos":
        return _photos(split, seed)
    if name == "clutter":
        return _clutter(split, seed)
    return _shapes(split, seed)


@functools.lru_cache(maxsize=4)
def _digits(split: str) -> Dataset:
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=DIGITS_SIZE, mode="bilinear", align_corners=False)
    images = images.clamp(0, 1).contiguous()
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    # Fixed split, independent of the user's seed, so all reported numbers share a test set.
    order = np.random.RandomState(0).permutation(len(labels))
    n_test = int(round(DIGITS_TEST_FRACTION * len(labels)))
    idx = torch.from_numpy(order[:n_test] if split == "test" else order[n_test:])
    labels = labels[idx]
    return Dataset(
        name="digits",
        split=split,
        images=images[idx],
        labels=labels,
        class_names=tuple(str(d) for d in range(10)),
        attributes={"digit": labels.numpy()},
        captions=tuple(f"a handwritten {d}" for d in labels.tolist()),
    )


@functools.lru_cache(maxsize=4)
def _photos(split: str, seed: int) -> Dataset:
    from sklearn.datasets import load_sample_images  # two JPEGs bundled with scikit-learn: no download

    rng = np.random.default_rng([seed, SPLITS.index(split), 7])
    n = PHOTOS_COUNTS[split]
    crops, labels = [], rng.integers(0, len(PHOTOS_NAMES), n)
    for photo_id, photo in enumerate(load_sample_images().images):
        full = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float() / 255.0  # 3×H×W
        cut = int(full.shape[2] * PHOTOS_TRAIN_FRACTION)
        region = full[:, :, :cut] if split == "train" else full[:, :, cut:]
        count = int((labels == photo_id).sum())
        side = rng.integers(40, min(region.shape[1], region.shape[2], 128) + 1, count)
        top = (rng.random(count) * (region.shape[1] - side + 1)).astype(int)
        left = (rng.random(count) * (region.shape[2] - side + 1)).astype(int)
        for t, l, s in zip(top, left, side):  # a few thousand crops, once per process (cached)
            crops.append(F.interpolate(region[None, :, t : t + s, l : l + s], size=PHOTOS_SIZE, mode="bilinear", antialias=True, align_corners=False)[0])
    order = np.argsort(labels, kind="stable")  # crops were made photo by photo
    images = torch.empty(n, 3, PHOTOS_SIZE, PHOTOS_SIZE)
    images[torch.from_numpy(order)] = torch.stack(crops)
    labels_t = torch.from_numpy(labels).long()
    return Dataset(
        name="photos", split=split, images=images.clamp(0, 1).contiguous(), labels=labels_t, class_names=PHOTOS_NAMES,
        attributes={"photo": np.array(PHOTOS_NAMES)[labels]}, captions=tuple(f"a crop of the {PHOTOS_NAMES[i]} photo" for i in labels.tolist()),
    )


@functools.lru_cache(maxsize=8)
def _shapes(split: str, seed: int) -> Dataset:
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    images, attributes = render_shapes(SHAPES_COUNTS[split], rng)
    labels = torch.from_numpy(attributes["shape_id"]).long()
    captions = tuple(shape_caption(attributes, i) for i in range(len(labels)))
    return Dataset(
        name="shapes",
        split=split,
        images=images,
        labels=labels,
        class_names=SHAPE_NAMES,
        attributes=attributes,
        captions=captions,
    )


@functools.lru_cache(maxsize=4)
def _clutter(split: str, seed: int) -> Dataset:
    rng = np.random.default_rng([seed, SPLITS.index(split), 11])
    n, size = CLUTTER_COUNTS[split], SHAPES_SIZE
    # A smooth random colour field: a 4×4 grid of colours, upsampled.
    images = F.interpolate(torch.from_numpy(rng.uniform(0.0, CLUTTER_TEXTURE, (n, 3, 4, 4))).float(), size=size, mode="bicubic", align_corners=False)
    palette = torch.tensor(list(COLOURS.values()), dtype=torch.float32)
    layers = [(0.07, 0.11)] * CLUTTER_DISTRACTORS + [(0.20, 0.32)]  # small distractors, then the object that gives the label
    for low, high in layers:
        shape_id = rng.integers(0, len(CLUTTER_NAMES), n)
        colour_id = rng.integers(0, len(COLOURS), n)
        radius = rng.uniform(low, high, n) * size
        cx, cy, rotation = rng.uniform(0, 1, n), rng.uniform(0, 1, n), rng.uniform(0, 360, n)
        alpha = shape_alpha(shape_id, radius, radius + cx * (size - 2 * radius), radius + cy * (size - 2 * radius), rotation, size).unsqueeze(1)
        colour = palette[torch.from_numpy(colour_id)].view(n, 3, 1, 1)
        images = images * (1 - alpha) + alpha * colour
    noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(int(rng.integers(2**31))))
    images = (images + CLUTTER_NOISE * noise).clamp(0, 1)
    attributes = {"shape_id": shape_id, "shape": np.array(CLUTTER_NAMES)[shape_id], "colour": np.array(list(COLOURS))[colour_id],
                  "size": np.where(radius < 0.26 * size, "small", "large"), "radius": radius / size, "x": cx, "y": cy, "rotation": rotation}
    return Dataset(name="clutter", split=split, images=images.contiguous(), labels=torch.from_numpy(shape_id).long(), class_names=CLUTTER_NAMES,
                   attributes=attributes, captions=tuple(shape_caption(attributes, i) + " among clutter" for i in range(n)))


def render_shapes(n: int, rng: np.random.Generator, size: int = SHAPES_SIZE) -> tuple[torch.Tensor, dict]:
    """Render ``n`` random shapes at once (vectorised: ~3,000 images in well under a second)."""
    shape_id = rng.integers(0, len(SHAPE_NAMES), n)
    colour_id = rng.integers(0, len(COLOURS), n)
    radius = rng.uniform(0.14, 0.32, n) * size  # pixels
    cx = rng.uniform(0.0, 1.0, n)
    cy = rng.uniform(0.0, 1.0, n)
    rotation = rng.uniform(0.0, 360.0, n)
    # Keep the whole shape inside the frame: map the unit position into the free range.
    px = radius + cx * (size - 2 * radius)
    py = radius + cy * (size - 2 * radius)

    alpha = shape_alpha(shape_id, radius, px, py, rotation, size)

    palette = torch.tensor(list(COLOURS.values()), dtype=torch.float32)
    colour = palette[torch.from_numpy(colour_id)]
    # A little per-image tint so "red" is a range of reds, not one RGB value.
    colour = (colour + torch.from_numpy(rng.normal(0, 0.04, (n, 3))).float()).clamp(0, 1)
    background = 0.08
    images = background + alpha.unsqueeze(1) * (colour.view(n, 3, 1, 1) - background)

    size_name = np.where(radius < 0.23 * size, "small", "large")
    attributes = {
        "shape_id": shape_id,
        "shape": np.array(SHAPE_NAMES)[shape_id],
        "colour": np.array(list(COLOURS))[colour_id],
        "size": size_name,
        "radius": radius / size,
        "x": cx,
        "y": cy,
        "rotation": rotation,
    }
    return images.contiguous(), attributes


def shape_alpha(shape_id: np.ndarray, radius: np.ndarray, px: np.ndarray, py: np.ndarray, rotation: np.ndarray, size: int) -> torch.Tensor:
    """N×size×size coverage (0..1) of each shape ``shape_id`` (index into SHAPE_FUNCTIONS) at (px, py) pixels.

    Each shape is the unit level set of a norm-like function f(x, y) of rotated, scaled
    coordinates; alpha = clamp((1 - f)·radius_px + 0.5) gives anti-aliased edges.
    """
    n = len(shape_id)
    t = lambda a: torch.tensor(np.asarray(a), dtype=torch.float32).view(n, 1, 1)  # noqa: E731
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    gy, gx = grid.view(1, size, 1), grid.view(1, 1, size)
    dx, dy = (gx - t(px)) / t(radius), (gy - t(py)) / t(radius)
    theta = t(np.deg2rad(rotation))
    x = dx * torch.cos(theta) + dy * torch.sin(theta)
    y = -dx * torch.sin(theta) + dy * torch.cos(theta)
    level = torch.empty(n, size, size)
    sid = torch.from_numpy(np.asarray(shape_id))
    for k, fn in enumerate(SHAPE_FUNCTIONS):
        sel = sid == k
        if sel.any():
            level[sel] = fn(x[sel], y[sel])
    return ((1 - level) * t(radius) + 0.5).clamp(0, 1)


def _circle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(x * x + y * y)


def _square(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.maximum(x.abs(), y.abs()) / 0.78  # similar area to the circle


def _triangle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    # Equilateral triangle: inside when the projection on each edge normal is <= 0.5.
    normals = [(math.cos(a), math.sin(a)) for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3)]
    return torch.stack([(x * nx + y * ny) for nx, ny in normals]).amax(0) / 0.55


def _cross(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    ax, ay = x.abs(), y.abs()
    horizontal = torch.maximum(ax, ay / 0.33)
    vertical = torch.maximum(ax / 0.33, ay)
    return torch.minimum(horizontal, vertical)


def _ring(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return 0.5 + (torch.sqrt(x * x + y * y) - 0.72).abs() / 0.56  # a band from radius 0.44 to 1


def _diamond(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x.abs() + y.abs() / 0.6


SHAPE_FUNCTIONS = (_circle, _square, _triangle, _cross, _ring, _diamond)  # clutter uses all six, shapes the first four


def _position_words(x: float, y: float) -> str:
    row = "top" if y < 1 / 3 else ("bottom" if y > 2 / 3 else "middle")
    col = "left" if x < 1 / 3 else ("right" if x > 2 / 3 else "centre")
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"


def shape_caption(attributes: dict, i: int) -> str:
    """A caption such as "a small red triangle at the top left" for image ``i``."""
    where = _position_words(float(attributes["x"][i]), float(attributes["y"][i]))
    prep = "in the" if where == "centre" else "at the"
    return f"a {attributes['size'][i]} {attributes['colour'][i]} {attributes['shape'][i]} {prep} {where}"
