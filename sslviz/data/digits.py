"""``digits``: scikit-learn's 1,797 8×8 handwritten digits, upscaled to 28×28.

The train/test split is fixed (it never depends on the seed), so accuracies are comparable across runs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sslviz.data.base import Dataset, DatasetInfo, register
from sslviz.data.cache import memoized

DIGITS_SIZE = 28
DIGITS_TEST_FRACTION = 0.3
DIGIT_NAMES = tuple(str(d) for d in range(10))

@memoized
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
        class_names=DIGIT_NAMES,
        attributes={"digit": labels.numpy()},
        captions=tuple(f"a handwritten {d}" for d in labels.tolist()),
    )


INFO = register(DatasetInfo(
    "digits", channels=1, size=DIGITS_SIZE, classes=DIGIT_NAMES, augment="digits", load=lambda split, seed: _digits(split),
    summary="8×8 handwritten digits, upscaled.",
))
