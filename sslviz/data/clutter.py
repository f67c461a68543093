"""``clutter``: the hard one, built for label efficiency.

Six shapes (``shapes``' four, a ring and a diamond) on a smooth random colour texture, with two
small distractor shapes and pixel noise; 6,000 train images. With a handful of labels a network
trained from scratch latches on to the clutter; an encoder pre-trained on all the unlabelled
images does not. Deterministic per seed.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sslviz.data.base import SPLITS, Dataset, DatasetInfo, register
from sslviz.data.cache import memoized
from sslviz.data.render import (
    COLOURS,
    SHAPE_NAMES,
    SHAPES_SIZE,
    shape_alpha,
    shape_caption,
)

CLUTTER_NAMES = SHAPE_NAMES + ("ring", "diamond")
CLUTTER_COUNTS = {"train": 6000, "test": 1500}
CLUTTER_TEXTURE, CLUTTER_DISTRACTORS, CLUTTER_NOISE = 0.7, 2, 0.05  # background range, small shapes per image, pixel noise std

@memoized
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


INFO = register(DatasetInfo(
    # 30 s: SimCLR reaches 97% of its 30-s probe in 6 s on shapes and on clutter (benchmarks/RESULTS.md, time-to-accuracy-*; on clutter
    # its width-32 default reaches the old width-16 defaults' 60-s probe in 15 s: "faster-defaults")
    "clutter", channels=3, size=SHAPES_SIZE, classes=CLUTTER_NAMES, augment="SimCLR + rotation", load=_clutter,
    summary="six shapes on random colour textures with small distractor shapes and noise — hard; 6,000 training images.",
))
