"""Paired modalities for multi-modal SSL, regenerated from a dataset's shape attributes.

They are deterministic per seed and need nothing on disk: captions in varied phrasings (text),
short clips of the shape moving (video), a depth map (3-D), a synthetic sound (audio). A dataset
declares which of them it has in its registration (``DatasetInfo.modalities``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sslviz.data.base import REGISTRY, SPLITS, Dataset, info, load
from sslviz.data.cache import memoized
from sslviz.data.render import SHAPES_SIZE, shape_alpha
from sslviz.data.text import (
    CAPTION_LENGTH,
    CAPTION_VARIANTS,
    caption_variants,
    tokenize,
)

MODALITIES = ("text", "video", "depth", "audio")
PARTNER_NAMES = {"text": "caption", "video": "last frame of the clip", "depth": "depth map", "audio": "sound"}  # what one partner is called
# Colour–shape combinations that never appear in CLIP's training pairs: does it compose
# "purple" and "cross" into an image it has never seen?
HELD_OUT_COMBOS = (("purple", "cross"), ("green", "circle"), ("yellow", "triangle"), ("blue", "square"))
CLIP_FRAMES = 6
SOUND_RATE, SOUND_SAMPLES = 4000, 1024  # Hz and samples: a quarter-second chirp
SPECTROGRAM_FFT, SPECTROGRAM_HOP = 128, 32
TIMBRES = ("pure tone (sine)", "hollow (square wave)", "soft (triangle wave)", "buzzy (sawtooth)")  # circle, square, triangle, cross


def check_pairable(dataset: Dataset, modality: str | None = None) -> None:
    """ValueError unless ``dataset`` has paired modalities (``modality``, or any)."""
    have = info(dataset.name).modalities
    if (modality is None and not have) or (modality is not None and modality not in have):
        with_pairs = [d.name for d in REGISTRY.values() if (modality in d.modalities if modality else d.modalities)]
        raise ValueError(f"Paired modalities ({modality or 'captions, clips, depth, sound'}) are generated for the {', '.join(with_pairs)} dataset only, "
                         f"not {dataset.name!r}. Choose {' or '.join(with_pairs)}.")


def held_out_mask(dataset: Dataset) -> np.ndarray:
    """True for images whose colour–shape combination is in HELD_OUT_COMBOS."""
    check_pairable(dataset)
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
    check_pairable(dataset, modality)
    return {"images": dataset.images, **_paired(dataset.name, dataset.split, dataset.seed, modality)}


@memoized
def _paired(name: str, split: str, seed: int, modality: str) -> dict[str, torch.Tensor]:
    ds = load(name, split, seed)
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


def partner_pictures(dataset: Dataset, modality: str, index: torch.Tensor) -> torch.Tensor:
    """The partners of items ``index`` drawn as images in [0, 1]: depth maps, spectrograms (low pitch at the bottom) or clips' last frames."""
    if modality == "text":
        raise ValueError("Captions are text, not pictures: show them as text.")
    partners = pairs(dataset, modality)
    if modality == "depth":
        return partners["depth"][index]
    if modality == "audio":
        spec = partners["spectrogram"][index].flip(-2)
        return spec / spec.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)
    return partners["clips"][index, -1].float() / 255
