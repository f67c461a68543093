"""``photos``: 32×32 RGB crops (random position and scale) of the two sample photographs that ship with scikit-learn.

The label is the photograph (a temple and a flower). Train crops come from the left 75% of each photo,
test crops from the right 25%, so no test pixel was seen in training. For colorization and
inpainting: natural colours and textures. Deterministic per seed.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sslviz.data.base import SPLITS, Dataset, DatasetInfo, register
from sslviz.data.cache import memoized

PHOTOS_SIZE = 32
PHOTOS_COUNTS = {"train": 2000, "test": 500}
PHOTOS_NAMES = ("temple", "flower")  # scikit-learn's china.jpg and flower.jpg
PHOTOS_TRAIN_FRACTION = 0.75  # of each photo's width

@memoized
def _photos(split: str, seed: int) -> Dataset:
    from sklearn.datasets import (
        load_sample_images,  # two JPEGs bundled with scikit-learn: no download
    )

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
        for t, x0, s in zip(top, left, side):  # a few thousand crops, once per process (cached)
            crops.append(F.interpolate(region[None, :, t : t + s, x0 : x0 + s], size=PHOTOS_SIZE, mode="bilinear", antialias=True, align_corners=False)[0])
    order = np.argsort(labels, kind="stable")  # crops were made photo by photo
    images = torch.empty(n, 3, PHOTOS_SIZE, PHOTOS_SIZE)
    images[torch.from_numpy(order)] = torch.stack(crops)
    labels_t = torch.from_numpy(labels).long()
    return Dataset(
        name="photos", split=split, images=images.clamp(0, 1).contiguous(), labels=labels_t, class_names=PHOTOS_NAMES,
        attributes={"photo": np.array(PHOTOS_NAMES)[labels]}, captions=tuple(f"a crop of the {PHOTOS_NAMES[i]} photo" for i in labels.tolist()),
    )


INFO = register(DatasetInfo(
    "photos", channels=3, size=PHOTOS_SIZE, classes=PHOTOS_NAMES, augment="crop, flip, colour", load=_photos,
    summary="crops of two colour photographs (for colorization and inpainting; the label is which photo).",
))
