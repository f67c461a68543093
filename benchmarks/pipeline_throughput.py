"""SimCLR training throughput: sslviz's pipeline vs the same pipeline built from lightly.

    python benchmarks/pipeline_throughput.py

Both train the same backbone (SmallCNN, width 16) and projection head (64-128-64, batch norm)
with AdamW at the same batch size on the same 3,000 shapes images (32×32 RGB) for the same
number of steps, measuring source images per second *including augmentation*:

- sslviz: images stay a tensor on the device; `augment.two_views` draws a whole batch of views
  with one affine warp and batched colour ops; `losses.info_nce`.
- lightly, as its tutorials do: a Dataset of PIL images, `lightly.transforms.SimCLRTransform`
  (crop, flip, colour jitter, grey; blur off as in its CIFAR-10 tutorial) applied per image in a
  DataLoader, `lightly.models.modules.SimCLRProjectionHead`, `lightly.loss.NTXentLoss`.
  Measured with num_workers 0 and 2; the faster one is the reference.

Also checks that `info_nce` and lightly's `NTXentLoss` give the same value on the same inputs.
"""

from __future__ import annotations

import argparse
import time

import torch
from _results import write_section
from PIL import Image

from sslviz import data, losses, methods
from sslviz.train import TrainConfig, Trainer, configure_threads


def sslviz_images_per_second(images: torch.Tensor, batch: int, steps: int, warmup: int) -> float:
    torch.manual_seed(0)
    method = methods.create("simclr", "shapes", width=16, hidden_dim=128, proj_dim=64)
    times: list[float] = []
    last = {"t": time.perf_counter()}

    def clock(trainer, metrics):
        now = time.perf_counter()
        times.append(now - last["t"])
        last["t"] = now

    Trainer(method, images, TrainConfig(batch_size=batch, lr=2e-3, max_steps=warmup + steps, max_seconds=None), [clock]).fit()
    return batch * steps / sum(times[warmup:])


class PILShapes(torch.utils.data.Dataset):
    def __init__(self, images: torch.Tensor, transform) -> None:
        arr = (images.permute(0, 2, 3, 1).numpy() * 255).round().astype("uint8")
        self.pil = [Image.fromarray(a) for a in arr]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.pil)

    def __getitem__(self, i: int):
        return self.transform(self.pil[i])


def lightly_images_per_second(images: torch.Tensor, batch: int, steps: int, warmup: int, workers: int) -> float:
    from lightly.loss import NTXentLoss
    from lightly.models.modules import SimCLRProjectionHead
    from lightly.transforms import SimCLRTransform

    from sslviz.nets import SmallCNN

    torch.manual_seed(0)
    backbone = SmallCNN(3, 16)
    head = SimCLRProjectionHead(64, 128, 64)
    criterion = NTXentLoss(temperature=0.2)
    params = list(backbone.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-6)
    transform = SimCLRTransform(input_size=32, gaussian_blur=0.0)
    loader = torch.utils.data.DataLoader(PILShapes(images, transform), batch_size=batch, shuffle=True, drop_last=True,
                                         num_workers=workers, persistent_workers=workers > 0)
    done, t0 = 0, None
    while done < warmup + steps:
        for views in loader:
            if done == warmup:
                t0 = time.perf_counter()
            x0, x1 = views[0], views[1]
            z = head(backbone(torch.cat([x0, x1])))
            z0, z1 = z.chunk(2)
            loss = criterion(z0, z1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if done == warmup + steps:
                break
    return batch * steps / (time.perf_counter() - t0)


def loss_agreement() -> float:
    from lightly.loss import NTXentLoss

    g = torch.Generator().manual_seed(0)
    worst = 0.0
    for n, d, tau in [(8, 16, 0.1), (64, 64, 0.2), (256, 64, 0.5)]:
        z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
        worst = max(worst, abs(losses.info_nce(z1, z2, tau).item() - NTXentLoss(temperature=tau)(z1, z2).item()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    threads = configure_threads()
    images = data.load("shapes", "train", 0).images
    ours = sslviz_images_per_second(images, args.batch, args.steps, args.warmup)
    print(f"sslviz: {ours:.0f} images/s", flush=True)
    theirs = {w: lightly_images_per_second(images, args.batch, args.steps, args.warmup, w) for w in (0, 2)}
    print(f"lightly: {theirs}", flush=True)
    best_w = max(theirs, key=theirs.get)
    diff = loss_agreement()
    print(f"max |info_nce - NTXentLoss| = {diff:.2e}")
    write_section("pipeline-throughput", "## SimCLR pipeline throughput vs lightly (pipeline-throughput)\n\n"
                  f"Same backbone (SmallCNN width 16), head (64-128-64), AdamW, batch {args.batch}, shapes 32×32 RGB, {args.steps} timed steps after {args.warmup} warm-up, {threads} torch threads.\n\n"
                  "| pipeline | source images / s |\n|---|---|\n"
                  f"| sslviz (tensor augmentations on the device) | {ours:.0f} |\n"
                  + "".join(f"| lightly SimCLRTransform + DataLoader, num_workers={w} | {v:.0f} |\n" for w, v in theirs.items())
                  + f"\nRatio sslviz / best lightly (num_workers={best_w}): **{ours / theirs[best_w]:.2f}×**. "
                  f"Loss agreement: max |info_nce − lightly NTXentLoss| over three shapes/temperatures = {diff:.1e}.")


if __name__ == "__main__":
    main()
