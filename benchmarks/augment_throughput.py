"""Augmentation throughput: sslviz's batched tensor ops vs torchvision.transforms.v2 per image.

    python benchmarks/augment_throughput.py

The same pipeline (random resized crop, flip, rotation, colour jitter, greyscale) on shapes
images, 32×32 RGB, float tensors in memory. torchvision applies it image by image, as a
Dataset/DataLoader would; sslviz draws every image's parameters at once for the whole batch.
"""

from __future__ import annotations

import statistics
import time

import torch
from _results import write_section
from torchvision.transforms import v2

from sslviz import augment, data
from sslviz.train import configure_threads


def main() -> None:
    threads = configure_threads()
    images = data.load("shapes", "train", 0).images[:1024]
    cfg = augment.preset("SimCLR + rotation")
    tv = v2.Compose([
        v2.RandomResizedCrop(32, scale=cfg.crop_scale, ratio=cfg.crop_ratio, antialias=True),
        v2.RandomHorizontalFlip(cfg.flip_p),
        v2.RandomRotation(cfg.rotation),
        v2.RandomApply([v2.ColorJitter(cfg.brightness, cfg.contrast, cfg.saturation, cfg.hue)], p=cfg.jitter_p),
        v2.RandomGrayscale(cfg.greyscale_p),
    ])
    g = torch.Generator().manual_seed(0)
    ours, theirs = [], []
    for _ in range(5):
        t = time.perf_counter()
        augment.augment(images, cfg, g)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        torch.stack([tv(img) for img in images[:256]])
        theirs.append((time.perf_counter() - t) * len(images) / 256)
    a, b = len(images) / statistics.median(ours), len(images) / statistics.median(theirs)
    print(f"sslviz {a:.0f} img/s, torchvision v2 per image {b:.0f} img/s, ratio {a / b:.1f}")
    write_section("augment-throughput", "## Augmentation throughput (augment-throughput)\n\n"
                  f"Preset 'SimCLR + rotation' on shapes 32×32 RGB, {threads} torch threads, median of 5.\n\n"
                  "| implementation | images / s |\n|---|---|\n"
                  f"| sslviz.augment.augment (one batch of {len(images)}) | {a:.0f} |\n| torchvision.transforms.v2, one image at a time | {b:.0f} |\n\n"
                  f"Ratio: **{a / b:.1f}×**.")


if __name__ == "__main__":
    main()
