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
import re
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
    seed: int = 0  # what generated it (0 for bundled data): paired modalities are regenerated from it

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
        seed=seed,
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
        "rgb": colour.numpy(),  # N×3: the exact (tinted) colour, so other modalities can re-render the scene
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


def position_words(x: float, y: float) -> str:
    row = "top" if y < 1 / 3 else ("bottom" if y > 2 / 3 else "middle")
    col = "left" if x < 1 / 3 else ("right" if x > 2 / 3 else "centre")
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"


def shape_caption(attributes: dict, i: int) -> str:
    """A caption such as "a small red triangle at the top left" for image ``i``."""
    where = position_words(float(attributes["x"][i]), float(attributes["y"][i]))
    prep = "in the" if where == "centre" else "at the"
    return f"a {attributes['size'][i]} {attributes['colour'][i]} {attributes['shape'][i]} {prep} {where}"


# ---------------------------------------------------------------------------------------------
# Paired modalities for multi-modal SSL, all regenerated from a shapes dataset's attributes, so
# they are deterministic per seed and need nothing on disk: captions in varied phrasings (text),
# short clips of the shape moving (video), a depth map (3-D), a synthetic sound (audio).
# ---------------------------------------------------------------------------------------------

MODALITIES = ("text", "video", "depth", "audio")
# Colour–shape combinations that never appear in CLIP's training pairs: does it compose
# "purple" and "cross" into an image it has never seen?
HELD_OUT_COMBOS = (("purple", "cross"), ("green", "circle"), ("yellow", "triangle"), ("blue", "square"))
CAPTION_TEMPLATES = (
    "a {size} {colour} {shape} {where}",
    "{colour} {shape}, {size}",
    "a {shape} that is {colour} and {size}",
    "{where}: a {size} {colour} {shape}",
    "a {colour} {shape} {where}",
    "something {colour} {where}",
    "a {size} {shape} {where}",
    "a {shape}",
    "something {colour}",
)
SYNONYMS = {"small": ("small", "little"), "large": ("large", "big"), "centre": ("centre", "center", "middle")}
POSITION_WORDS = ("top", "bottom", "middle", "left", "right", "centre", "center")
# A tiny closed vocabulary: every word some caption uses. Prompts may use only these.
SPECIAL_TOKENS = ("<pad>", "<bos>", "<eos>")
VOCAB = SPECIAL_TOKENS + tuple(dict.fromkeys(
    "a at in the that is and something".split() + ["small", "little", "large", "big"] + list(COLOURS) + list(SHAPE_NAMES) + list(POSITION_WORDS)))
WORD_INDEX = {w: i for i, w in enumerate(VOCAB)}
PAD, BOS, EOS = 0, 1, 2
CAPTION_LENGTH = 12  # tokens, with <bos>/<eos>; the longest caption has 9 words
CAPTION_VARIANTS = 4  # phrasings per image; each training step picks one
CLIP_FRAMES = 6
SOUND_RATE, SOUND_SAMPLES = 4000, 1024  # Hz and samples: a quarter-second chirp
SPECTROGRAM_FFT, SPECTROGRAM_HOP = 128, 32
TIMBRES = ("pure tone (sine)", "hollow (square wave)", "soft (triangle wave)", "buzzy (sawtooth)")  # circle, square, triangle, cross


def words(text: str) -> list[str]:
    """Lower-case words of ``text``; punctuation is dropped."""
    return re.findall(r"[a-z]+", text.lower())


def unknown_words(text: str) -> list[str]:
    """The words of ``text`` the caption vocabulary lacks, in order, each once."""
    return list(dict.fromkeys(w for w in words(text) if w not in WORD_INDEX))


def text_problem(text: str, length: int = CAPTION_LENGTH, bos_eos: bool = False) -> str | None:
    """Why ``text`` cannot be tokenized (unknown words, no words, too long), or None when it can."""
    missing = unknown_words(text)
    if missing:
        return f"the tiny vocabulary lacks {', '.join(repr(w) for w in missing[:10])}{' …' if len(missing) > 10 else ''}"
    if not words(text):
        return "no words"
    if len(words(text)) + 2 * bos_eos > length:
        return f"too long (at most {length - 2 * bos_eos} words)"
    return None


def tokenize(texts: list[str] | tuple[str, ...], length: int = CAPTION_LENGTH, bos_eos: bool = False) -> torch.Tensor:
    """len(texts)×length word ids, padded with <pad>; ValueError says why a text cannot be used (see :func:`text_problem`)."""
    rows = []
    for text in texts:
        problem = text_problem(text, length, bos_eos)
        if problem:
            shown = text if len(text) <= 60 else text[:60] + "…"
            raise ValueError(f"{shown!r}: {problem}. Known words: {', '.join(VOCAB[len(SPECIAL_TOKENS):])}.")
        ids = [WORD_INDEX[w] for w in words(text)]
        if bos_eos:
            ids = [BOS, *ids, EOS]
        rows.append(ids + [PAD] * (length - len(ids)))
    return torch.tensor(rows, dtype=torch.long).view(len(rows), length)


def detokenize(ids: torch.Tensor) -> str:
    """The words of one id sequence, up to <eos>, without special tokens."""
    out = []
    for i in ids.tolist():
        if i == EOS:
            break
        if i >= len(SPECIAL_TOKENS):
            out.append(VOCAB[i])
    return " ".join(out)


def _where(x: float, y: float, rng: np.random.Generator) -> str:
    where = position_words(x, y)
    if where == "centre":
        return "in the " + str(rng.choice(SYNONYMS["centre"]))
    return "at the " + where


def caption_variants(attributes: dict, i: int, rng: np.random.Generator, k: int = CAPTION_VARIANTS) -> list[str]:
    """``k`` phrasings of image ``i``'s caption, e.g. "red triangle, small", "something red at the top left"."""
    out = []
    for t in rng.choice(len(CAPTION_TEMPLATES), k, replace=k > len(CAPTION_TEMPLATES)):
        out.append(CAPTION_TEMPLATES[t].format(size=rng.choice(SYNONYMS[str(attributes["size"][i])]), colour=attributes["colour"][i],
                                               shape=attributes["shape"][i], where=_where(float(attributes["x"][i]), float(attributes["y"][i]), rng)))
    return out


def _check_pairable(dataset: Dataset) -> None:
    if dataset.name != "shapes":
        raise ValueError(f"Paired modalities (captions, clips, depth, sound) are generated for the shapes dataset only, not {dataset.name!r}. "
                         "Choose shapes.")


def held_out_mask(dataset: Dataset) -> np.ndarray:
    """True for images whose colour–shape combination is in HELD_OUT_COMBOS."""
    _check_pairable(dataset)
    combo = np.char.add(np.char.add(dataset.attributes["colour"].astype(str), " "), dataset.attributes["shape"].astype(str))
    return np.isin(combo, [f"{c} {s}" for c, s in HELD_OUT_COMBOS])


def pairs(dataset: Dataset, modality: str) -> dict[str, torch.Tensor]:
    """The images of a shapes ``dataset`` with a second modality, aligned by index (cached per dataset and seed).

    - "text": ``captions`` N×CAPTION_VARIANTS×CAPTION_LENGTH word ids (varied phrasings) and
      ``caption`` N×CAPTION_LENGTH, the canonical caption with <bos>/<eos> (for generation);
    - "video": ``clips`` N×CLIP_FRAMES×C×H×W uint8 frames, the shape drifting and turning (frame 0 is the image);
    - "depth": ``depth`` N×1×H×W, nearness in [0, 1] (background 0, each shape at its own depth, domed);
    - "audio": ``sound`` N×SOUND_SAMPLES waveform (the shape sets the timbre, the size the pitch) and
      ``spectrogram`` N×1×F×T, its log-magnitude STFT.
    """
    if modality not in MODALITIES:
        raise ValueError(f"Unknown modality {modality!r}. Choose one of: {', '.join(MODALITIES)}.")
    _check_pairable(dataset)
    return {"images": dataset.images, **_paired(dataset.split, dataset.seed, modality)}


@functools.lru_cache(maxsize=8)
def _paired(split: str, seed: int, modality: str) -> dict[str, torch.Tensor]:
    ds = _shapes(split, seed)
    rng = np.random.default_rng([seed, SPLITS.index(split), MODALITIES.index(modality), 29])
    attrs, n = ds.attributes, len(ds)
    if modality == "text":
        variants = [caption_variants(attrs, i, rng) for i in range(n)]
        return {"captions": tokenize([v for vs in variants for v in vs]).view(n, CAPTION_VARIANTS, CAPTION_LENGTH),
                "caption": tokenize(ds.captions, bos_eos=True)}
    if modality == "video":
        return {"clips": _render_clips(attrs, rng)}
    if modality == "depth":
        return {"depth": _render_depth(attrs, rng)}
    sound = _synthesise_sounds(attrs, rng)
    return {"sound": sound, "spectrogram": spectrogram(sound)}


def _scene(attrs: dict, size: int = SHAPES_SIZE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixel radius and centre of each shape, as render_shapes placed it."""
    radius = attrs["radius"] * size
    return radius, radius + attrs["x"] * (size - 2 * radius), radius + attrs["y"] * (size - 2 * radius)


def _render_clips(attrs: dict, rng: np.random.Generator, frames: int = CLIP_FRAMES, size: int = SHAPES_SIZE) -> torch.Tensor:
    n = len(attrs["shape_id"])
    radius, px, py = _scene(attrs, size)
    # Each shape drifts in a straight line (bouncing off the frame edges) and turns steadily; frame 0 is the dataset image.
    velocity = rng.normal(0, 1.5, (n, 2))  # pixels per frame
    spin = rng.uniform(-20, 20, n)  # degrees per frame
    t = np.arange(frames)
    low, high = radius[:, None], size - radius[:, None]
    fx = _bounce(px[:, None] + velocity[:, :1] * t, low, high)
    fy = _bounce(py[:, None] + velocity[:, 1:] * t, low, high)
    rotation = attrs["rotation"][:, None] + spin[:, None] * t
    rep = lambda a: np.repeat(a, frames)  # noqa: E731
    alpha = shape_alpha(rep(attrs["shape_id"]), rep(radius), fx.ravel(), fy.ravel(), rotation.ravel(), size).view(n, frames, 1, size, size)
    colour = torch.from_numpy(attrs["rgb"]).float().view(n, 1, 3, 1, 1)
    background = 0.08
    clips = background + alpha * (colour - background)
    return (clips * 255).round().to(torch.uint8)


def _bounce(position: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Reflect positions into [low, high], like a ball bouncing off the walls."""
    span = high - low
    q = np.mod(position - low, 2 * span)
    return low + np.where(q > span, 2 * span - q, q)


def _render_depth(attrs: dict, rng: np.random.Generator, size: int = SHAPES_SIZE) -> torch.Tensor:
    n = len(attrs["shape_id"])
    radius, px, py = _scene(attrs, size)
    alpha = shape_alpha(attrs["shape_id"], radius, px, py, attrs["rotation"], size)
    nearness = torch.from_numpy(rng.uniform(0.4, 1.0, n)).float().view(n, 1, 1)  # each shape at its own depth
    grid = torch.arange(size, dtype=torch.float32) + 0.5
    r2 = ((grid.view(1, 1, size) - torch.from_numpy(px).float().view(n, 1, 1)) ** 2 + (grid.view(1, size, 1) - torch.from_numpy(py).float().view(n, 1, 1)) ** 2)
    dome = 1 - 0.3 * (r2 / torch.from_numpy(radius).float().view(n, 1, 1) ** 2).clamp(max=1)  # surfaces bulge towards the camera
    return (alpha * nearness * dome).unsqueeze(1).contiguous()


def _synthesise_sounds(attrs: dict, rng: np.random.Generator) -> torch.Tensor:
    n = len(attrs["shape_id"])
    t = torch.arange(SOUND_SAMPLES, dtype=torch.float64) / SOUND_RATE
    f0 = torch.from_numpy(220.0 * 0.14 / attrs["radius"] * 2.5).view(n, 1)  # bigger shape, lower pitch: ~330–770 Hz
    phase = torch.from_numpy(rng.uniform(0, 2 * math.pi, (n, 1)))
    wave = torch.zeros(n, SOUND_SAMPLES, dtype=torch.float64)
    shape = torch.from_numpy(attrs["shape_id"]).view(n, 1)
    for k in range(1, 12):  # additive synthesis: the harmonic recipe is the timbre
        odd = k % 2 == 1
        amplitude = torch.stack([
            torch.full((n,), 1.0 if k == 1 else 0.0),  # circle: a pure sine
            torch.full((n,), 1 / k if odd else 0.0),  # square: odd harmonics, 1/k
            torch.full((n,), (-1) ** ((k - 1) // 2) / k**2 if odd else 0.0),  # triangle: odd harmonics, 1/k², alternating
            torch.full((n,), 1 / k),  # cross: every harmonic, 1/k (sawtooth)
        ]).T.gather(1, shape).double()
        audible = (k * f0 < SOUND_RATE / 2).double()  # nothing above the Nyquist frequency
        wave += amplitude * audible * torch.sin(2 * math.pi * k * f0 * t + k * phase)
    envelope = (1 - torch.exp(-t / 0.01)) * torch.exp(-t / 0.15)  # quick attack, slow decay
    noise = torch.from_numpy(rng.normal(0, 0.03, (n, SOUND_SAMPLES)))
    wave = wave / wave.abs().amax(1, keepdim=True) * envelope + noise
    return wave.float()


def spectrogram(sound: torch.Tensor, n_fft: int = SPECTROGRAM_FFT, hop: int = SPECTROGRAM_HOP) -> torch.Tensor:
    """N×1×F×T log-magnitude spectrogram of N waveforms (F = n_fft/2 + 1 frequency bins)."""
    spec = torch.stft(sound, n_fft, hop, window=torch.hann_window(n_fft), return_complex=True).abs()
    return torch.log1p(spec * 4).unsqueeze(1).float()
