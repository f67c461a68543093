"""Batched, seedable image augmentations on tensors: the "views" of self-supervised learning.

Every operation draws its random parameters for the whole batch at once and works on a
B×C×H×W float tensor in [0, 1] on any device — no per-image Python loop, no PIL. Geometry
(random resized crop, flip, rotation) is folded into one affine warp per image, sampled with
a single ``grid_sample`` call.

    views = augment(images, preset("crop, flip, colour"), generator)
    x1, x2 = two_views(images, config, generator)   # a positive pair per image
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn.functional as F

Range = tuple[float, float]
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 weights of R, G, B
TO_YIQ = (LUMA, (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))
FROM_YIQ = tuple(map(tuple, torch.linalg.inv(torch.tensor(TO_YIQ, dtype=torch.float64)).tolist()))


@functools.lru_cache(maxsize=64)
def device_constant(values: tuple, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``torch.tensor(values)`` on ``device``, made once per device and dtype: on a GPU, making it is a host-to-device copy,
    which waits for the queued work (a synchronisation per training step if made each time)."""
    return torch.tensor(values, device=device, dtype=dtype)


@dataclass(frozen=True)
class AugmentConfig:
    """Strengths and probabilities of each augmentation; zero turns one off."""

    crop_scale: Range = (0.2, 1.0)  # area fraction kept by the random resized crop
    crop_ratio: Range = (3 / 4, 4 / 3)  # aspect ratio range of the crop
    flip_p: float = 0.5  # horizontal flip probability
    rotation: float = 0.0  # max rotation in degrees (uniform in ±rotation)
    jitter_p: float = 0.8  # probability of colour jitter
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1  # fraction of a full turn of the colour wheel
    greyscale_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma: Range = (0.1, 1.5)  # in pixels
    solarize_p: float = 0.0
    erase_p: float = 0.0  # random erasing / cutout probability
    erase_scale: Range = (0.02, 0.2)  # area fraction erased

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            values = value if isinstance(value, tuple) else (value,)
            if any(not math.isfinite(v) or v < 0 for v in values):
                raise ValueError(f"{f.name} must be finite and >= 0, got {value!r}.")
            if isinstance(value, tuple) and (len(value) != 2 or value[0] > value[1]):
                raise ValueError(f"{f.name} must be a (low, high) pair with low <= high, got {value!r}.")
            if f.name.endswith("_p") and value > 1:
                raise ValueError(f"{f.name} is a probability and must be in [0, 1], got {value}.")
        if not 0 < self.crop_scale[0] <= 1 or self.crop_scale[1] > 1:
            raise ValueError(f"crop_scale must lie in (0, 1], got {self.crop_scale}.")
        if self.crop_ratio[0] <= 0:
            raise ValueError(f"crop_ratio must be positive, got {self.crop_ratio}.")
        if self.erase_scale[1] > 1:
            raise ValueError(f"erase_scale must lie in [0, 1], got {self.erase_scale}.")
        if self.hue > 0.5:
            raise ValueError(f"hue must be in [0, 0.5], got {self.hue}.")
        if self.brightness > 1 or self.saturation > 1 or self.contrast > 1:
            raise ValueError("brightness, contrast and saturation must be in [0, 1].")


NO_AUGMENTATION = AugmentConfig(
    crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_p=0.0, jitter_p=0.0, greyscale_p=0.0
)

PRESETS: dict[str, AugmentConfig] = {
    # Colour at SimCLR's CIFAR strength (Chen et al. 2020, appendix B.9: s = 0.5, p 0.8, grey 0.2) with
    # MoCo v2's crop range (0.2, 1) — not SimCLR's (0.08, 1): at 28–64 px a crop of 8% keeps a few pixels
    # of the object. The jitters run in a fixed order (torchvision's ColorJitter draws a random one).
    "crop, flip, colour": AugmentConfig(),
    # Shapes: the class is the shape, so colour, position and rotation are nuisances to ignore.
    "SimCLR + rotation": AugmentConfig(crop_scale=(0.3, 1.0), rotation=180.0, brightness=0.5, contrast=0.5, saturation=0.8, hue=0.5, jitter_p=0.9, greyscale_p=0.3),
    # The same without colour jitter or grey: the encoder has no reason to drop colour (Downstream page).
    "SimCLR + rotation, no colour": AugmentConfig(crop_scale=(0.3, 1.0), rotation=180.0, jitter_p=0.0, greyscale_p=0.0),
    # Colour changes only, no geometry: for positives whose geometry already differs (two frames of a clip).
    "colour only": AugmentConfig(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_p=0.0, brightness=0.5, contrast=0.5, saturation=0.8, hue=0.5,
                                 jitter_p=0.9, greyscale_p=0.3),
    # Digits: flips and big rotations change the class (a mirrored 2, a 6 turned into a 9).
    "digits": AugmentConfig(crop_scale=(0.4, 1.0), flip_p=0.0, rotation=15.0, jitter_p=0.8, saturation=0.0, hue=0.0, greyscale_p=0.0, erase_p=0.3),
    "weak": AugmentConfig(crop_scale=(0.8, 1.0), jitter_p=0.0, greyscale_p=0.0),
    "strong": AugmentConfig(crop_scale=(0.08, 1.0), rotation=30.0, blur_p=0.5, solarize_p=0.2, erase_p=0.5),
    "none": NO_AUGMENTATION,
}


def preset(name: str) -> AugmentConfig:
    """Return the named preset; ValueError lists the valid names."""
    if name not in PRESETS:
        raise ValueError(f"Unknown augmentation preset {name!r}. Choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


def config_code(config: AugmentConfig) -> str:
    """The config as Python code a learner can copy: every field, with the default beside those that differ from it."""
    if config == NO_AUGMENTATION:
        return "config = NO_AUGMENTATION"
    defaults = asdict(AugmentConfig())
    args = "".join(f"\n    {k}={v!r}," + (f"  # default {defaults[k]!r}" if v != defaults[k] else "") for k, v in asdict(config).items())
    return f"config = AugmentConfig({args}\n)"


def with_changes(config: AugmentConfig, **changes: object) -> AugmentConfig:
    """A copy of ``config`` with some fields changed (validated)."""
    return replace(config, **changes)


def _uniform(n: int, low: float, high: float, g: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=g, device=device)


def _chance(n: int, p: float, g: torch.Generator | None, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=g, device=device) < p


def geometric(x: torch.Tensor, config: AugmentConfig, g: torch.Generator | None = None) -> torch.Tensor:
    """Random resized crop, horizontal flip and rotation as one affine warp per image.

    For output coordinates u in [-1, 1]² the sampled input point is t + S·R·F·u, where S holds
    the crop's width and height fractions, R the rotation and F the flip.
    """
    n, dev = x.shape[0], x.device
    scale = _uniform(n, *config.crop_scale, g, dev)
    log_ratio = _uniform(n, math.log(config.crop_ratio[0]), math.log(config.crop_ratio[1]), g, dev)
    ratio = torch.exp(log_ratio)
    w = torch.sqrt(scale * ratio).clamp(max=1.0)
    h = torch.sqrt(scale / ratio).clamp(max=1.0)
    tx = (1 - w) * _uniform(n, -1, 1, g, dev)
    ty = (1 - h) * _uniform(n, -1, 1, g, dev)
    flip = torch.where(_chance(n, config.flip_p, g, dev), -1.0, 1.0)
    angle = torch.deg2rad(_uniform(n, -config.rotation, config.rotation, g, dev))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [
            torch.stack([w * cos * flip, -w * sin, tx], dim=1),
            torch.stack([h * sin * flip, h * cos, ty], dim=1),
        ],
        dim=1,
    )  # n×2×3
    return F.grid_sample(x, affine_grid(theta.to(x.dtype), x.shape[2], x.shape[3]), mode="bilinear", padding_mode="zeros", align_corners=False)


def affine_grid(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``F.affine_grid(theta, (n, c, height, width), align_corners=False)`` as broadcast multiply-adds: n×height×width×2.

    torch computes it as a batched matmul with an inner dimension of 3, which took 1.6 ms for 256 views of 32×32 on two
    cores (a tenth of the augmentation); this takes 0.15 ms. The values agree to float rounding (tests/test_augment.py).
    """
    n = theta.shape[0]
    xs = (torch.arange(width, device=theta.device, dtype=theta.dtype) * 2 + 1) / width - 1  # pixel centres in [-1, 1]
    ys = (torch.arange(height, device=theta.device, dtype=theta.dtype) * 2 + 1) / height - 1
    t = theta.view(n, 2, 3, 1, 1)
    grid = t[:, :, 0] * xs.view(1, 1, 1, width) + (t[:, :, 1] * ys.view(1, 1, height, 1) + t[:, :, 2])  # n×2×h×w
    return grid.permute(0, 2, 3, 1)


def grey(x: torch.Tensor) -> torch.Tensor:
    """Luma (ITU-R 601) as B×1×H×W; a one-channel image is its own grey."""
    if x.shape[1] == 1:
        return x
    weights = device_constant(LUMA, x.device, x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def colour_jitter(x: torch.Tensor, config: AugmentConfig, g: torch.Generator | None = None) -> torch.Tensor:
    """Brightness, contrast, saturation and hue jitter, applied to each image with jitter_p.

    The four run in this fixed order; torchvision's ColorJitter (SimCLR's) shuffles the order per call.
    """
    n, dev = x.shape[0], x.device
    apply = _chance(n, config.jitter_p, g, dev).view(n, 1, 1, 1)
    b = _uniform(n, 1 - config.brightness, 1 + config.brightness, g, dev).view(n, 1, 1, 1)
    c = _uniform(n, 1 - config.contrast, 1 + config.contrast, g, dev).view(n, 1, 1, 1)
    s = _uniform(n, 1 - config.saturation, 1 + config.saturation, g, dev).view(n, 1, 1, 1)
    h = _uniform(n, -config.hue, config.hue, g, dev)
    # Each step is y·k + m·(1 − k) (m: black, the mean grey, the pixel's grey), written as one multiply-add and an in-place
    # clamp: fewer passes over the images than (y − m)·k + m and a clamp that allocates.
    y = (x * b).clamp_(0, 1)
    mean = grey(y.mean(dim=(2, 3), keepdim=True))  # B×1×1×1: grey is linear, so the grey of the channel means
    y = torch.addcmul(mean * (1 - c), y, c).clamp_(0, 1)
    if x.shape[1] == 3:
        y = torch.addcmul(grey(y) * (1 - s), y, s).clamp_(0, 1)
        y = _rotate_hue(y, h).clamp_(0, 1)
    return torch.where(apply, y, x)


def _rotate_hue(x: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Rotate the chroma of each image by ``turns`` of a full circle in YIQ space."""
    to_yiq, from_yiq = device_constant(TO_YIQ, x.device, x.dtype), device_constant(FROM_YIQ, x.device, x.dtype)
    angle = 2 * math.pi * turns
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(cos), torch.zeros_like(cos)
    rot = torch.stack([torch.stack([one, zero, zero], 1), torch.stack([zero, cos, -sin], 1), torch.stack([zero, sin, cos], 1)], 1)
    m = from_yiq @ rot @ to_yiq  # n×3×3
    return torch.einsum("nij,njhw->nihw", m, x)


def random_greyscale(x: torch.Tensor, p: float, g: torch.Generator | None = None) -> torch.Tensor:
    """Replace each image by its grey version with probability p."""
    apply = _chance(x.shape[0], p, g, x.device).view(-1, 1, 1, 1)
    return torch.where(apply, grey(x).expand_as(x), x)


def gaussian_blur(x: torch.Tensor, config: AugmentConfig, g: torch.Generator | None = None) -> torch.Tensor:
    """Separable Gaussian blur with a per-image sigma, applied with blur_p (grouped conv)."""
    n, c, height, width = x.shape
    dev = x.device
    apply = _chance(n, config.blur_p, g, dev).view(n, 1, 1, 1)
    sigma = _uniform(n, *config.blur_sigma, g, dev).clamp(min=1e-3)
    radius = max(1, min(int(math.ceil(2 * config.blur_sigma[1])), (min(height, width) - 1) // 2))
    offsets = torch.arange(-radius, radius + 1, device=dev, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets.view(1, -1) / sigma.view(-1, 1)) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n·c)×k
    flat = x.reshape(1, n * c, height, width)
    flat = F.pad(flat, (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(flat, kernel.view(n * c, 1, 1, -1), groups=n * c)
    flat = F.conv2d(flat, kernel.view(n * c, 1, -1, 1), groups=n * c)
    return torch.where(apply, flat.view(n, c, height, width), x)


def random_solarize(x: torch.Tensor, p: float, g: torch.Generator | None = None, threshold: float = 0.5) -> torch.Tensor:
    """Invert pixels above ``threshold`` in each image with probability p."""
    apply = _chance(x.shape[0], p, g, x.device).view(-1, 1, 1, 1)
    return torch.where(apply & (x >= threshold), 1 - x, x)


def random_erasing(x: torch.Tensor, config: AugmentConfig, g: torch.Generator | None = None) -> torch.Tensor:
    """Cutout: zero a random rectangle (area fraction in erase_scale) with probability erase_p."""
    n, _, height, width = x.shape
    dev = x.device
    apply = _chance(n, config.erase_p, g, dev)
    area = _uniform(n, *config.erase_scale, g, dev)
    ratio = torch.exp(_uniform(n, math.log(0.3), math.log(3.3), g, dev))
    h = (torch.sqrt(area * ratio) * height).clamp(max=height)
    w = (torch.sqrt(area / ratio) * width).clamp(max=width)
    top = _uniform(n, 0, 1, g, dev) * (height - h)
    left = _uniform(n, 0, 1, g, dev) * (width - w)
    rows = torch.arange(height, device=dev).view(1, -1, 1)
    cols = torch.arange(width, device=dev).view(1, 1, -1)
    inside = (
        (rows >= top.view(-1, 1, 1)) & (rows < (top + h).view(-1, 1, 1))
        & (cols >= left.view(-1, 1, 1)) & (cols < (left + w).view(-1, 1, 1))
    )
    mask = (inside & apply.view(-1, 1, 1)).unsqueeze(1)
    return x.masked_fill(mask, 0.0)


def augment(x: torch.Tensor, config: AugmentConfig, generator: torch.Generator | None = None) -> torch.Tensor:
    """One random view of every image in the batch ``x`` (B×C×H×W, values in [0, 1])."""
    if x.ndim != 4:
        raise ValueError(f"expected a batch shaped B×C×H×W, got shape {tuple(x.shape)}.")
    if x.shape[0] == 0 or config == NO_AUGMENTATION:
        return x
    x = geometric(x, config, generator)
    if config.jitter_p > 0:
        x = colour_jitter(x, config, generator)
    if config.greyscale_p > 0:
        x = random_greyscale(x, config.greyscale_p, generator)
    if config.blur_p > 0:
        x = gaussian_blur(x, config, generator)
    if config.solarize_p > 0:
        x = random_solarize(x, config.solarize_p, generator)
    if config.erase_p > 0:
        x = random_erasing(x, config, generator)
    return x.clamp_(0, 1)  # x is a new tensor here: geometric() always makes one


def two_views(
    x: torch.Tensor, config: AugmentConfig, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Two independent random views of each image: the positive pairs of contrastive learning."""
    both = augment(torch.cat([x, x]), config, generator)
    return both[: x.shape[0]], both[x.shape[0]:]
